"""Which responses an export holds, and how it is written: parsed from plain values (a JSON
body, a query string, a stored Export row) with an error per field, never a 500.

    status          "valid" (default: valid or flagged, the base every analysis table counts)
                    or "all" (every submission, with its status and reasons)
    submitted_from  a date (from that day's start) or a date-time, inclusive
    submitted_to    a date (through that day's end) or a date-time, inclusive
    segment         a segment code of the questionnaire (its rule, via ``to_q``)

Dates and date-times without an offset are in ``settings.TIME_ZONE``. ``as_dict`` gives back
values that ``filters_parse`` reads to the same filters (an Export row stores them so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from exports.exporters.base import VALUES_CODES, VALUES_LABELS, ExportError, ExportOptions
from survey.expressions import ExpressionError, compile_expression
from survey.expressions_sql import to_q
from survey.interchange_problems import expression_error_text
from survey.models import Questionnaire, Response, Segment
from survey.structure import structure_for

STATUS_VALID = "valid"
STATUS_ALL = "all"
STATUSES = (STATUS_VALID, STATUS_ALL)
FILTER_FIELDS = ("status", "submitted_from", "submitted_to", "segment")
OPTION_FIELDS = ("language", "labels", "values", "bom", "identity")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ExportInvalid(ExportError):
    """Filters or options that cannot be used; ``fields`` names each one."""

    code = "invalid_export"


@dataclass(frozen=True)
class ResponseFilters:
    status: str = STATUS_VALID
    submitted_from: date | datetime | None = None
    submitted_to: date | datetime | None = None
    segment: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "submitted_from": _iso(self.submitted_from),
            "submitted_to": _iso(self.submitted_to),
            "segment": self.segment,
        }


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _moment(raw: Any, name: str, errors: dict[str, list[str]]) -> date | datetime | None:
    if raw is None or raw == "":
        return None
    text = raw.strip() if isinstance(raw, str) else None
    parsed: date | datetime | None = None
    try:
        if text is not None and len(text) == 10:
            parsed = parse_date(text)
        elif text is not None:
            parsed = parse_datetime(text.replace(" ", "T", 1))
    except ValueError:
        parsed = None
    if parsed is None:
        errors[name] = [_("Give a date (2024-05-31) or a date and time (2024-05-31T18:00+08:00).")]
        return None
    if isinstance(parsed, datetime) and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone())
    return parsed


def filters_parse(raw: Mapping[str, Any] | None) -> ResponseFilters:
    """Filters from plain values; raises ``ExportInvalid`` naming every wrong field."""
    raw = raw or {}
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        raise ExportInvalid(_("Filters must be an object."), {"filters": [_("Not an object.")]})
    unknown = sorted(set(raw) - set(FILTER_FIELDS))
    for name in unknown:
        errors[str(name)] = [_("Unknown filter; use: %s.") % ", ".join(FILTER_FIELDS)]
    status = raw.get("status") or STATUS_VALID
    if status not in STATUSES:
        errors["status"] = [_("Use one of: %s.") % ", ".join(STATUSES)]
    start = _moment(raw.get("submitted_from"), "submitted_from", errors)
    end = _moment(raw.get("submitted_to"), "submitted_to", errors)
    segment = raw.get("segment") or ""
    if not isinstance(segment, str):
        errors["segment"] = [_("Give a segment code.")]
    if start is not None and end is not None and _lower(start) >= _upper(end):
        errors["submitted_to"] = [_("The end is before the start.")]
    if errors:
        raise ExportInvalid(_("Some filters need attention."), errors)
    return ResponseFilters(
        status=status, submitted_from=start, submitted_to=end, segment=segment.strip()
    )


def _lower(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=_zone())


def _upper(value: date | datetime) -> datetime:
    """The exclusive upper bound: a date runs through its last instant."""
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=_zone())


def _flag(raw: Any, name: str, default: Any, errors: dict[str, list[str]]) -> Any:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    errors[name] = [_("Use true or false.")]
    return default


def options_parse(raw: Mapping[str, Any] | None, *, questionnaire: Questionnaire) -> ExportOptions:
    """Options from plain values; raises ``ExportInvalid`` naming every wrong field."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ExportInvalid(_("Options must be an object."), {"options": [_("Not an object.")]})
    errors: dict[str, list[str]] = {}
    for name in sorted(set(raw) - set(OPTION_FIELDS)):
        errors[str(name)] = [_("Unknown option; use: %s.") % ", ".join(OPTION_FIELDS)]
    languages = [code for code, _name in settings.LANGUAGES]
    language = raw.get("language") or (
        questionnaire.default_language
        if questionnaire.default_language in languages
        else languages[0]
    )
    if language not in languages:
        errors["language"] = [_("Use one of: %s.") % ", ".join(languages)]
    values = raw.get("values") or VALUES_LABELS
    if values not in (VALUES_LABELS, VALUES_CODES):
        errors["values"] = [_("Use one of: %s.") % ", ".join((VALUES_LABELS, VALUES_CODES))]
    options = ExportOptions(
        language=language,
        labels=_flag(raw.get("labels"), "labels", None, errors),
        values=values,
        bom=_flag(raw.get("bom"), "bom", True, errors),
        identity=_flag(raw.get("identity"), "identity", False, errors),
    )
    if errors:
        raise ExportInvalid(_("Some options need attention."), errors)
    return options


def responses_filtered(
    *, questionnaire: Questionnaire, filters: ResponseFilters
) -> QuerySet[Response]:
    """The questionnaire's responses the filters select (not ordered; the exporter orders).

    Raises ``ExportInvalid`` for a segment the questionnaire does not have or whose rule does
    not compile against the current definition.
    """
    responses = Response.objects.filter(questionnaire=questionnaire)
    if filters.status == STATUS_VALID:
        responses = responses.exclude(status=Response.Status.INVALID)
    if filters.submitted_from is not None:
        responses = responses.filter(submitted_at__gte=_lower(filters.submitted_from))
    if filters.submitted_to is not None:
        responses = responses.filter(submitted_at__lt=_upper(filters.submitted_to))
    if filters.segment:
        responses = responses.filter(_segment_q(questionnaire, filters.segment))
    return responses


def _segment_q(questionnaire: Questionnaire, code: str) -> Any:
    segment = Segment.objects.filter(questionnaire=questionnaire, code=code).first()
    if segment is None:
        known = list(
            Segment.objects.filter(questionnaire=questionnaire).values_list("code", flat=True)
        )
        message = _("%(slug)s has no segment “%(code)s” (it has: %(known)s).") % {
            "slug": questionnaire.slug,
            "code": code,
            "known": ", ".join(known) or "—",
        }
        raise ExportInvalid(message, {"segment": [message]})
    structure = structure_for(questionnaire)
    questions = structure.questions.values()
    try:
        expr = compile_expression(segment.rule, structure.question_specs())
        return to_q(
            expr,
            question_ids={q.code: q.id for q in questions},
            item_ids={(q.code, i.code): i.id for q in questions for i in q.items.values()},
            option_ids={(q.code, o.code): o.id for q in questions for o in q.options.values()},
        )
    except ExpressionError as error:
        message = _("The rule of segment %(code)s cannot be used: %(error)s") % {
            "code": code,
            "error": expression_error_text(error),
        }
        raise ExportInvalid(message, {"segment": [message]}) from None
