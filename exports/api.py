"""The exports API under /api/v1/questionnaires/<slug>/exports/ (routes: exports/urls.py).

    POST exports/                    request an export job (202 with the Export to poll)
    GET  exports/                    your exports of the questionnaire (admins: everyone's)
    GET  exports/<id>/               one export: status, progress, rows, error
    GET  exports/<id>/download/      the finished file
    GET  exports/responses.csv?...   a CSV streamed right away (constant memory, any size)

Access as in ``wenji.api.permissions``: admins, and analysts granted the questionnaire; one
not granted is "not found" (404), other roles are refused (403), anonymous users asked to log
in (401). An export is visible to the person who requested it and to admins. Errors have the
API's one shape (``wenji.api.errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from exports.exporters import EXPORTERS
from exports.exporters.base import ExportError
from exports.exporters.filters import FILTER_FIELDS, OPTION_FIELDS, STATUSES
from exports.exporters.tables import NoResults
from exports.models import Export
from exports.services import (
    ExportForbidden,
    export_file_path,
    export_request,
    export_stream_csv,
)
from survey.models import Questionnaire, Response
from wenji.access import is_admin
from wenji.api.errors import error_body
from wenji.api.pagination import JobPagination
from wenji.api.parsers import JSONBodyParser
from wenji.api.permissions import IsAnalyst, granted_questionnaire
from wenji.api.schema import MAX_ID, SLUG_PARAMETER, errors
from wenji.api.serializers import JobErrorOut

CONTENT_TYPES = {
    Export.Format.CSV: "text/csv; charset=utf-8",
    Export.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Export.Format.SAV: "application/x-spss-sav",
}
EXPORT_ID_PARAMETER = OpenApiParameter(
    "export_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The export's id."
)

# --- serializers -----------------------------------------------------------------------------


class _Strict(serializers.Serializer):
    """Refuses keys it does not know (a typo in a filter must not widen an export silently)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in set(data) - set(self.fields))
            if unknown:
                message = _("Unknown field; use: %s.") % ", ".join(self.fields)
                raise serializers.ValidationError({key: [message] for key in unknown})
        return super().to_internal_value(data)


class ExportFiltersIn(_Strict):
    status = serializers.ChoiceField(
        choices=STATUSES,
        required=False,
        help_text=gettext_lazy(
            "valid (default: valid or flagged), clean (valid, not flagged), flagged, invalid, "
            "or all."
        ),
    )
    submitted_from = serializers.CharField(
        required=False,
        help_text=gettext_lazy("A date (from its start) or date-time, inclusive; site time zone."),
    )
    submitted_to = serializers.CharField(
        required=False,
        help_text=gettext_lazy("A date (through its end) or date-time, inclusive."),
    )
    segment = serializers.CharField(
        required=False, help_text=gettext_lazy("Only responses in this segment (its code).")
    )
    channel = serializers.ChoiceField(
        choices=Response.Channel.choices,
        required=False,
        help_text=gettext_lazy("Only responses that came this way."),
    )
    answer = serializers.CharField(
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "Only responses with this answer: Q3=1 (chose option 1 of Q3), Q5.a=1 (point 1 on "
            "item a of matrix Q5)."
        ),
    )


class ExportOptionsIn(_Strict):
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        required=False,
        help_text=gettext_lazy("Of labels."),
    )
    labels = serializers.BooleanField(
        required=False,
        help_text=gettext_lazy(
            "A second header row of labels (wide; default: yes in XLSX, no in CSV); a label "
            "column (long; default yes)."
        ),
    )
    values = serializers.ChoiceField(
        choices=["labels", "codes"],
        required=False,
        help_text=gettext_lazy(
            "Answers as option labels (default, for reading) or codes (for analysis software); "
            "SPSS files always hold codes with value labels."
        ),
    )
    bom = serializers.BooleanField(
        required=False, help_text=gettext_lazy("CSV: UTF-8 with a BOM (default true, for Excel).")
    )
    identity = serializers.BooleanField(
        required=False,
        help_text=gettext_lazy("Hashed respondent identity and IP columns; needs a permission."),
    )
    weighted = serializers.BooleanField(
        required=False,
        help_text=gettext_lazy(
            "Analysis tables of a weighted questionnaire: the weighted tables (default true) or "
            "the unweighted ones."
        ),
    )


class ExportIn(_Strict):
    kind = serializers.ChoiceField(choices=list(EXPORTERS))
    format = serializers.ChoiceField(choices=Export.Format.choices)
    filters = ExportFiltersIn(required=False)
    options = ExportOptionsIn(required=False)


class ExportCsvIn(ExportFiltersIn, ExportOptionsIn):
    kind = serializers.ChoiceField(choices=list(EXPORTERS), required=False)


class ExportOut(serializers.Serializer):
    id = serializers.IntegerField()
    questionnaire = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=Export.Kind.choices)
    format = serializers.ChoiceField(choices=Export.Format.choices)
    filters = serializers.JSONField()
    options = serializers.JSONField()
    status = serializers.ChoiceField(choices=Export.Status.choices)
    progress = serializers.IntegerField(help_text=gettext_lazy("0–100."))
    responses = serializers.IntegerField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True)
    file_name = serializers.CharField()
    size = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Bytes."))
    requested_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    error = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def get_questionnaire(self, export: Export) -> str:
        return self.context["questionnaire"].slug

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_requested_by(self, export: Export) -> str | None:
        return export.requested_by.get_username() if export.requested_by else None

    @extend_schema_field(JobErrorOut(allow_null=True))
    def get_error(self, export: Export) -> dict[str, Any] | None:
        if export.status != Export.Status.FAILED:
            return None
        return error_body("export_failed", export.error)

    def _route(self, export: Export, name: str) -> str:
        slug = self.context["questionnaire"].slug
        return reverse(f"exports-api:{name}", kwargs={"slug": slug, "export_id": export.pk})

    def get_url(self, export: Export) -> str:
        return self._route(export, "detail")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, export: Export) -> str | None:
        return self._route(export, "download") if export.status == Export.Status.DONE else None


class ExportPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ExportOut(many=True)


# --- helpers ---------------------------------------------------------------------------------


class _JsonErrors:
    """Errors are JSON whatever the client accepts (a file route answers CSV or XLSX when it
    succeeds, but its errors keep the API's one shape)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return JSONRenderer(), JSONRenderer.media_type


def _refusal(error: ExportError, prefix: bool = False) -> ApiResponse:
    """An ExportError in the API's shape; ``prefix`` names body fields ``filters.status``."""
    fields = error.fields
    if prefix:
        fields = {_body_field(key): value for key, value in fields.items()}
    if isinstance(error, ExportForbidden):
        return ApiResponse(
            error_body("permission_denied", error.message, fields), status.HTTP_403_FORBIDDEN
        )
    if isinstance(error, NoResults):  # the state of things, not the request: run an analysis
        return ApiResponse(error_body(error.code, error.message, fields), status.HTTP_409_CONFLICT)
    return ApiResponse(error_body("invalid", error.message, fields), status.HTTP_400_BAD_REQUEST)


def _body_field(key: str) -> str:
    if key in FILTER_FIELDS:
        return f"filters.{key}"
    if key in OPTION_FIELDS:
        return f"options.{key}"
    return key


def _export_or_404(request: Request, questionnaire: Questionnaire, export_id: str) -> Export:
    number = int(export_id) if export_id.isascii() and export_id.isdigit() else 0
    export = None
    if 0 < number <= MAX_ID:
        exports = Export.objects.filter(questionnaire=questionnaire, pk=number)
        if not is_admin(request.user):
            exports = exports.filter(requested_by=request.user)
        export = exports.select_related("requested_by").first()
    if export is None:
        raise NotFound(
            _("Questionnaire %(slug)s has no export %(id)s of yours.")
            % {"slug": questionnaire.slug, "id": export_id}
        )
    return export


def _out(export: Export, questionnaire: Questionnaire) -> dict[str, Any]:
    return ExportOut(export, context={"questionnaire": questionnaire}).data


# --- views -----------------------------------------------------------------------------------


class ExportsView(APIView):
    permission_classes = [IsAnalyst]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        operation_id="export_create",
        parameters=[SLUG_PARAMETER],
        summary="Request an export file (CSV, XLSX or SPSS .sav)",
        description="Queues an export of the questionnaire's responses and answers 202 with "
        "it; poll its `url` until `status` is done, then fetch `download_url`. Audited. The "
        "`identity` option needs the survey.view_respondent_identity permission.",
        request=ExportIn,
        responses={202: ExportOut, **errors(400, 401, 403, 404, 409, 413, 415)},
        tags=["exports"],
    )
    def post(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        data = ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        try:
            export = export_request(
                questionnaire=questionnaire,
                kind=fields["kind"],
                fmt=fields["format"],
                filters=fields.get("filters"),
                options=fields.get("options"),
                user=request.user,
            )
        except ExportError as error:
            return _refusal(error, prefix=True)
        export.refresh_from_db()  # with Celery eager (a laptop) it already ran, on commit
        return ApiResponse(_out(export, questionnaire), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="export_list",
        parameters=[SLUG_PARAMETER],
        summary="Your exports of the questionnaire, newest first (admins: everyone's)",
        responses={200: ExportPageOut, **errors(401, 403, 404)},
        tags=["exports"],
    )
    def get(self, request: Request, slug: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        exports = Export.objects.filter(questionnaire=questionnaire).select_related("requested_by")
        if not is_admin(request.user):
            exports = exports.filter(requested_by=request.user)
        paginator = JobPagination()
        page = paginator.paginate_queryset(exports.order_by("-created_at", "-id"), request, self)
        body = ExportOut(page, many=True, context={"questionnaire": questionnaire}).data
        return paginator.get_paginated_response(body)


class ExportDetailView(APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="export_detail",
        parameters=[SLUG_PARAMETER, EXPORT_ID_PARAMETER],
        summary="One export: status, progress, rows, error",
        responses={200: ExportOut, **errors(401, 403, 404)},
        tags=["exports"],
    )
    def get(self, request: Request, slug: str, export_id: str) -> ApiResponse:
        questionnaire = granted_questionnaire(request, slug)
        return ApiResponse(_out(_export_or_404(request, questionnaire, export_id), questionnaire))


class ExportDownloadView(_JsonErrors, APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="export_download",
        parameters=[SLUG_PARAMETER, EXPORT_ID_PARAMETER],
        summary="The file of a finished export",
        description="404 also once the file has expired (see the export's `status`).",
        responses={
            **{
                (200, content_type.split(";")[0]): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The file, as an attachment."
                )
                for content_type in CONTENT_TYPES.values()
            },
            **errors(401, 403, 404),
        },
        tags=["exports"],
    )
    def get(self, request: Request, slug: str, export_id: str) -> Any:
        questionnaire = granted_questionnaire(request, slug)
        export = _export_or_404(request, questionnaire, export_id)
        path = export_file_path(export)
        if path is None:
            raise NotFound(
                _("Export %(id)s has no file to download (it is %(status)s).")
                % {"id": export.pk, "status": export.get_status_display()}
            )
        response = FileResponse(path.open("rb"), as_attachment=True, filename=export.file_name)
        response["Content-Type"] = CONTENT_TYPES[export.format]
        return response


class ResponsesCsvView(_JsonErrors, APIView):
    permission_classes = [IsAnalyst]

    @extend_schema(
        operation_id="export_responses_csv",
        parameters=[SLUG_PARAMETER, ExportCsvIn],
        summary="Stream the responses as CSV now (any number of responses)",
        description="The same export as a CSV job, streamed: constant memory and a fixed "
        "number of queries whatever the size. `kind` is responses_wide (default), "
        "responses_long, or tables / comparisons (the latest analysis run's results, "
        "without filters). Audited.",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV."),
            **errors(400, 401, 403, 404, 409),
        },
        tags=["exports"],
    )
    def get(self, request: Request, slug: str) -> Any:
        questionnaire = granted_questionnaire(request, slug)
        data = ExportCsvIn(data=request.query_params.dict())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        kind = fields.pop("kind", "responses_wide")
        try:
            stream = export_stream_csv(
                questionnaire=questionnaire,
                kind=kind,
                filters={k: v for k, v in fields.items() if k in FILTER_FIELDS},
                options={k: v for k, v in fields.items() if k in OPTION_FIELDS},
                user=request.user,
            )
        except ExportError as error:
            return _refusal(error)
        response = StreamingHttpResponse(stream.chunks, content_type=CONTENT_TYPES["csv"])
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=stream.filename
        )
        response["X-Export-Responses"] = str(stream.responses)
        response["Cache-Control"] = "no-store"
        return response
