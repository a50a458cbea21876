"""The analyst pages, included from config/urls.py under results/ (see analysis/views.py)."""

from django.urls import path

from analysis import views, views_report

app_name = "analysis-pages"
urlpatterns = [
    path("<str:slug>/", views.results_page, name="results"),
    path("<str:slug>/run/", views.results_rerun, name="rerun"),
    path("<str:slug>/texts/", views.results_texts, name="texts"),
    path("<str:slug>/table.xlsx", views.results_table_xlsx, name="table-xlsx"),
    path("<str:slug>/report/", views_report.report_page, name="report"),
    path("<str:slug>/report/edit/", views_report.report_edit, name="report-edit"),
    path("<str:slug>/report.docx", views_report.report_docx_download, name="report-docx"),
    path("<str:slug>/responses/<str:response_id>/", views.results_response, name="response"),
]
