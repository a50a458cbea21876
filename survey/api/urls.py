"""Routes of the survey API. The slug and id parts match any text (even empty, even with a
slash) so that a malformed one reaches the view and gets the API's JSON 404, rather than
Django's HTML page for a URL that routes nowhere."""

from django.urls import re_path

from survey.api import views

SLUG = r"(?P<slug>(?s:.*))"
RESPONSE_ID = r"(?P<response_id>(?s:.*))"

app_name = "api"
urlpatterns = [
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
