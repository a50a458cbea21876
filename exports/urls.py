"""Routes of the exports API, included from config/urls.py under api/v1/ (see
exports/api.py). The slug and id parts match any text (``wenji.api.routes``);
the download route comes before the detail route, whose id part would otherwise swallow
``<id>/download``."""

from django.urls import re_path

from exports import api
from wenji.api.routes import SLUG, any_text

EXPORT_ID = any_text("export_id")

app_name = "exports-api"
urlpatterns = [
    re_path(
        rf"^questionnaires/{SLUG}/exports/\Z",
        api.ExportsView.as_view(),
        name="exports",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/exports/responses\.csv\Z",
        api.ResponsesCsvView.as_view(),
        name="responses-csv",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/exports/{EXPORT_ID}/download/\Z",
        api.ExportDownloadView.as_view(),
        name="download",
    ),
    re_path(
        rf"^questionnaires/{SLUG}/exports/{EXPORT_ID}/\Z",
        api.ExportDetailView.as_view(),
        name="detail",
    ),
]
