"""The analyst pages, included from config/urls.py under results/ (see analysis/views.py)."""

from django.urls import path

from analysis import views

app_name = "analysis-pages"
urlpatterns = [
    path("<str:slug>/", views.results_page, name="results"),
    path("<str:slug>/run/", views.results_rerun, name="rerun"),
    path("<str:slug>/texts/", views.results_texts, name="texts"),
    path("<str:slug>/table.xlsx", views.results_table_xlsx, name="table-xlsx"),
    path("<str:slug>/responses/<str:response_id>/", views.results_response, name="response"),
]
