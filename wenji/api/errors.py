"""One error shape for every 4xx answer of the API, whatever raised it.

    {"error": "invalid_answers", "message": "Some answers need attention.",
     "fields": {"Q5.b": ["This question is required."]}}

``error`` is a stable code from ``ERROR_CODES`` (clients branch on it), ``message`` is for a
person (in the request's language), and ``fields`` maps a body field, query parameter, header
or question code (``Q5``, ``Q5.b``, ``D6.other``) to its problems; ``{}`` when the problem is
not about one place. A refused definition adds ``errors``: every problem with its own
``code``, ``path`` (``sections[1].questions[3].options[2].code``), ``message`` and ``value``.
Domain errors from the services (``wenji.errors.DomainError``) are mapped here, so the
services never know about HTTP. Anything this handler does not recognise is a
bug and stays a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from wenji.errors import DomainError


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is larger than this server accepts.")
    default_code = "too_large"


class PreconditionRequired(exceptions.APIException):
    """A write that must say which version it edits (``If-Match``) came without it."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _("Send If-Match with the ETag of the version you edited.")
    default_code = "precondition_required"


# DRF's exceptions, most specific first (NotAuthenticated before its relatives, etc.).
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, "invalid"),
    (exceptions.ParseError, "malformed_json"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
    (RequestTooLarge, "too_large"),
    (PreconditionRequired, "precondition_required"),
]

# The codes of the services' DomainError subclasses, listed here because the schema names
# every code a client can meet (a test checks that each subclass's code is listed).
DOMAIN_CODES = (
    "invalid_answers",
    "invalid_timing",
    "questionnaire_not_open",
    "submission_conflict",
    "invalid_submission",
    "invalid_status_change",
    "invalid_definition",
    "definition_conflict",
    "edit_conflict",
    "no_draft",
    "base_changed",
    "invalid_filters",
    "filtered_too_large",
    # The studio's refusals: its pages show them; an API built on its services would send them.
    "edit_refused",
    "invalid_schedule",
    "nothing_to_undo",
    "invalid_share_card",
    "team_change_refused",
    # The drafted report's rewrites (analysis.services.report_edits).
    "invalid_report_edit",
    # Exports of the analysis tables before any run has finished (exports.exporters.tables).
    "no_results",
    # Weights imported from a file (survey.services.given_weights; manage.py import_weights).
    "invalid_weights",
)
# Domain refusals whose HTTP status is neither 400 nor 409. "not_found" is DRF's code too: a
# questionnaire deleted or no longer granted while a submission was stored
# (survey.services.responses.QuestionnaireGone) is answered as any questionnaire not found.
DOMAIN_STATUS = {
    "edit_conflict": status.HTTP_412_PRECONDITION_FAILED,
    "not_found": status.HTTP_404_NOT_FOUND,
}

ERROR_CODES: list[str] = [
    *dict.fromkeys(code for _exc, code in _DRF_CODES),
    *DOMAIN_CODES,
    "error",
]


def error_body(code: str, message: Any, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": code, "message": str(message), "fields": fields or {}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every client error in the one shape; None (a 500) else."""
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, DomainError):
        http_status = status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST
        body = error_body(exc.code, exc.message, _as_fields(exc.fields))
        problems = getattr(exc, "problems", None)
        if problems is not None:  # a definition's problems, each in full
            body["errors"] = [problem.as_dict() for problem in problems]
        return Response(body, DOMAIN_STATUS.get(exc.code, http_status))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message, fields = _validation_errors(exc.detail)
        response.data = error_body("invalid", message, fields)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(_code_of(exc), detail or response.status_text)
    return response


def _code_of(exc: Exception) -> str:
    for exception_class, code in _DRF_CODES:
        if isinstance(exc, exception_class):
            return code
    return "error"


def _validation_errors(detail: Any) -> tuple[str, dict[str, list[str]]]:
    """A message and per-field messages from a ValidationError's (possibly nested) detail."""
    default = _("Some fields need attention.")
    if not isinstance(detail, dict):
        messages = _messages(detail)
        return (" ".join(messages) or str(default)), {}
    general = _messages(detail.get(api_settings.NON_FIELD_ERRORS_KEY, []))
    fields: dict[str, list[str]] = {}
    for key, value in detail.items():
        if key != api_settings.NON_FIELD_ERRORS_KEY:
            _flatten(str(key), value, fields)
    return (" ".join(general) or str(default)), fields


def _flatten(path: str, value: Any, fields: dict[str, list[str]]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(f"{path}.{key}", child, fields)
    elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        for index, child in enumerate(value):
            if child:
                _flatten(f"{path}.{index}", child, fields)
    else:
        fields.setdefault(path, []).extend(_messages(value))


def _messages(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)]


def _as_fields(fields: dict[str, Any]) -> dict[str, list[str]]:
    return {str(key): _messages(messages) for key, messages in fields.items()}
