"""The respondent form. ``survey:qr`` is the QR code of a form's public link (for the admin)."""

from django.urls import path

from survey import views

app_name = "survey"
urlpatterns = [
    path("<slug:slug>/", views.questionnaire_form, name="form"),
    path("<slug:slug>/thanks/", views.questionnaire_thanks, name="thanks"),
    path("<slug:slug>/qr.svg", views.questionnaire_qr, name="qr"),
    path("<slug:slug>/share-image", views.questionnaire_share_image, name="share-image"),
    path("<slug:slug>/brand/<str:name>", views.questionnaire_brand_image, name="brand-image"),
]
