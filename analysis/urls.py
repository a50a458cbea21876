"""The analysis API, included from config/urls.py under api/v1/ (see analysis/api.py).

As in survey/api/urls.py, the slug and id parts match any text so that a malformed one reaches
the view and gets the API's JSON 404 rather than Django's HTML page.
"""

from django.urls import re_path

from analysis import api

SLUG = r"(?P<slug>(?s:.*))"
RUN_ID = r"(?P<run_id>(?s:.*))"

app_name = "analysis-api"
urlpatterns = [
    re_path(
        rf"^questionnaires/{SLUG}/analysis/\Z",
        api.AnalysisResultsView.as_view(),
        name="results",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/analysis/runs/\Z",
        api.AnalysisRunsView.as_view(),
        name="runs",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/analysis/runs/{RUN_ID}/\Z",
        api.AnalysisRunDetailView.as_view(),
        name="run-detail",
    ),
]
