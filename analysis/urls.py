"""The analysis API, included from config/urls.py under api/v1/ (see analysis/api.py).
The slug and id parts match any text (``wenji.api.routes``).
"""

from django.urls import re_path

from analysis import api
from wenji.api.routes import SLUG, any_text

RUN_ID = any_text("run_id")

app_name = "analysis-api"
urlpatterns = [
    re_path(
        rf"^questionnaires/{SLUG}/analysis/\Z",
        api.AnalysisResultsView.as_view(),
        name="results",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/analysis/texts/\Z",
        api.TextAnswersView.as_view(),
        name="texts",
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
