"""The studio's pages, included from config/urls.py under studio/ (see studio/views.py)."""

from django.urls import path

from studio import (
    views,
    views_brand,
    views_logic,
    views_preview,
    views_privacy,
    views_quotas,
    views_schedule,
    views_settings,
    views_share,
    views_team,
)

app_name = "studio"
urlpatterns = [
    path("", views.studio_list, name="list"),
    path("new/", views.studio_new, name="new"),
    path("<slug:slug>/", views.studio_builder, name="builder"),
    path("<slug:slug>/questions/add/", views.studio_question_add, name="question-add"),
    path("<slug:slug>/questions/arrange/", views.studio_questions_arrange, name="arrange"),
    path("<slug:slug>/undo/", views.studio_undo, name="undo"),
    path("<slug:slug>/questions/<str:code>/", views.studio_question_save, name="question"),
    path("<slug:slug>/questions/<str:code>/move/", views.studio_question_move, name="move"),
    path("<slug:slug>/questions/<str:code>/delete/", views.studio_question_delete, name="delete"),
    path("<slug:slug>/sections/add/", views.studio_section_add, name="section-add"),
    path("<slug:slug>/sections/<str:code>/", views.studio_section_save, name="section"),
    path("<slug:slug>/logic/check/", views_logic.studio_logic_check, name="logic-check"),
    path("<slug:slug>/share/", views_share.studio_share, name="share"),
    path("<slug:slug>/share/qr.svg", views_share.studio_share_qr_svg, name="share-qr-svg"),
    path("<slug:slug>/share/qr.png", views_share.studio_share_qr_png, name="share-qr-png"),
    path("<slug:slug>/share/poster.svg", views_share.studio_share_poster, name="share-poster"),
    path("<slug:slug>/preview/", views_preview.studio_preview, name="preview"),
    path("<slug:slug>/team/", views_team.studio_team, name="team"),
    path("<slug:slug>/settings/", views_settings.studio_settings, name="settings"),
    path("<slug:slug>/brand/", views_brand.studio_brand, name="brand"),
    path("<slug:slug>/quotas/", views_quotas.studio_quotas, name="quotas"),
    path("<slug:slug>/privacy/", views_privacy.studio_privacy, name="privacy"),
    path("<slug:slug>/schedule/", views_schedule.studio_schedule, name="schedule"),
    path("<slug:slug>/publish/", views.studio_publish, name="publish"),
    path("<slug:slug>/discard/", views.studio_discard, name="discard"),
    path("<slug:slug>/close/", views.studio_close, name="close"),
]
