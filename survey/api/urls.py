"""Routes of the survey API; the slug and id parts match any text (``wenji.api.routes``)."""

from django.urls import re_path

from survey.api import drafts, respondents, views
from wenji.api.routes import SLUG, any_text

RESPONSE_ID = any_text("response_id")

app_name = "api"
urlpatterns = [
    re_path(
        r"^questionnaires/\Z", drafts.QuestionnaireCreateView.as_view(), name="questionnaire-create"
    ),
    re_path(
        rf"^questionnaires/{SLUG}/definition/draft/\Z",
        drafts.DraftView.as_view(),
        name="definition-draft",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/definition/diff/\Z",
        drafts.DiffView.as_view(),
        name="definition-diff",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/definition/publish/\Z",
        drafts.PublishView.as_view(),
        name="definition-publish",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/definition/\Z",
        views.DefinitionView.as_view(),
        name="questionnaire-definition",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/submissions/\Z",
        views.SubmissionCreateView.as_view(),
        name="submission-create",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/responses/\Z",
        views.ResponseListView.as_view(),
        name="response-list",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/respondents/forget/\Z",
        respondents.ForgetView.as_view(),
        name="respondent-forget",
    ),
    # Before the detail route, whose id part would otherwise swallow "<id>/status".
    re_path(
        rf"^questionnaires/{SLUG}/responses/{RESPONSE_ID}/status/\Z",
        views.ResponseStatusView.as_view(),
        name="response-status",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/responses/{RESPONSE_ID}/\Z",
        views.ResponseDetailView.as_view(),
        name="response-detail",
    ),
]
