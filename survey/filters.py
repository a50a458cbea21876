"""Which responses a reader means: one filter grammar for the exports and the results page,
parsed from plain values (a query string, a JSON body, a stored Export row) with an error per
field, never a 500.

    status          "valid" (default: valid or flagged, the base every analysis table counts),
                    "clean" (valid and not flagged), "flagged", "invalid", or "all" (every
                    submission, with its status and reasons)
    submitted_from  a date (from that day's start) or a date-time, inclusive
    submitted_to    a date (through that day's end) or a date-time, inclusive
    segment         a segment code of the questionnaire (its rule, via ``to_q``)
    channel         how the responses came: web, wechat, api, import
    answer          ``Q3=1``: chose option 1 of Q3 (single or multiple); ``Q5.a=1``: answered
                    scale point 1 on item a of matrix Q5

Dates and date-times without an offset are in ``settings.TIME_ZONE``. ``as_dict`` gives back
values that ``filters_parse`` reads to the same filters (an Export row stores them so).
Unknown segments, questions, items and options are refused by ``responses_filtered``, which
knows the questionnaire, naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from survey.expressions import ExpressionError, compile_expression
from survey.expressions_sql import to_q
from survey.interchange_problems import expression_error_text
from survey.models import Answer, Questionnaire, Response, Segment
from survey.structure import structure_for
from wenji.errors import DomainError

STATUS_VALID = "valid"
STATUS_ALL = "all"
STATUSES = (STATUS_VALID, "clean", "flagged", "invalid", STATUS_ALL)
# What each filter status means to a reader (the results page's choices).
STATUS_CHOICES = (
    (STATUS_VALID, gettext_lazy("valid or flagged (the analysis base)")),
    ("clean", gettext_lazy("valid, not flagged")),
    ("flagged", gettext_lazy("flagged for review")),
    ("invalid", gettext_lazy("invalid")),
    (STATUS_ALL, gettext_lazy("all, whatever their status")),
)
# The stored statuses each filter status keeps (STATUS_ALL keeps every one).
_STATUS_KEEPS = {
    STATUS_VALID: (Response.Status.VALID, Response.Status.FLAGGED),
    "clean": (Response.Status.VALID,),
    "flagged": (Response.Status.FLAGGED,),
    "invalid": (Response.Status.INVALID,),
}
FILTER_FIELDS = ("status", "submitted_from", "submitted_to", "segment", "channel", "answer")
_ANSWER = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_]+))?=([A-Za-z0-9_.-]+)$")


class FiltersInvalid(DomainError):
    """Filters that cannot be used; ``fields`` names each one."""

    code = "invalid_filters"


@dataclass(frozen=True)
class ResponseFilters:
    status: str = STATUS_VALID
    submitted_from: date | datetime | None = None
    submitted_to: date | datetime | None = None
    segment: str = ""
    channel: str = ""
    answer: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "submitted_from": _iso(self.submitted_from),
            "submitted_to": _iso(self.submitted_to),
            "segment": self.segment,
            "channel": self.channel,
            "answer": self.answer,
        }

    @property
    def narrows(self) -> bool:
        """Whether these filters leave out any valid response."""
        return self != ResponseFilters()


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
    """Filters from plain values; raises ``FiltersInvalid`` naming every wrong field."""
    raw = raw or {}
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        raise FiltersInvalid(_("Filters must be an object."), {"filters": [_("Not an object.")]})
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
    channel = raw.get("channel") or ""
    if channel not in ("", *Response.Channel.values):
        errors["channel"] = [_("Use one of: %s.") % ", ".join(Response.Channel.values)]
    answer = raw.get("answer") or ""
    if not isinstance(answer, str) or (answer and not _ANSWER.match(answer.strip())):
        errors["answer"] = [_("Give QUESTION=OPTION, or QUESTION.ITEM=POINT for a matrix (Q3=1).")]
    if errors:
        raise FiltersInvalid(_("Some filters need attention."), errors)
    return ResponseFilters(
        status=status,
        submitted_from=start,
        submitted_to=end,
        segment=segment.strip(),
        channel=channel,
        answer=answer.strip(),
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


def responses_filtered(
    *, questionnaire: Questionnaire, filters: ResponseFilters
) -> QuerySet[Response]:
    """The questionnaire's responses the filters select (not ordered; the exporter orders).

    Raises ``FiltersInvalid`` for a segment the questionnaire does not have or whose rule does
    not compile against the current definition.
    """
    responses = Response.objects.filter(questionnaire=questionnaire)
    if filters.status != STATUS_ALL:
        responses = responses.filter(status__in=_STATUS_KEEPS[filters.status])
    if filters.submitted_from is not None:
        responses = responses.filter(submitted_at__gte=_lower(filters.submitted_from))
    if filters.submitted_to is not None:
        responses = responses.filter(submitted_at__lt=_upper(filters.submitted_to))
    if filters.segment:
        responses = responses.filter(_segment_q(questionnaire, filters.segment))
    if filters.channel:
        responses = responses.filter(channel=filters.channel)
    if filters.answer:
        responses = responses.filter(_answer_q(questionnaire, filters.answer))
    return responses


def _answer_q(questionnaire: Questionnaire, text: str) -> Exists:
    """Responses with an answer row choosing that option (on that item, for a matrix)."""
    match = _ANSWER.match(text)
    assert match is not None  # filters_parse checked the shape
    code, item_code, value = match.groups()
    question = structure_for(questionnaire).questions.get(code)

    def refuse(message: str) -> FiltersInvalid:
        return FiltersInvalid(message, {"answer": [message]})

    if question is None or question.type not in ("single", "multiple", "matrix"):
        raise refuse(_("%(code)s is not a choice question of this questionnaire.") % {"code": code})
    option = question.options.get(value)
    if option is None:
        raise refuse(_("%(code)s has no option %(value)s.") % {"code": code, "value": value})
    rows = Answer.objects.filter(
        response_id=OuterRef("pk"), question_id=question.id, option_id=option.id
    )
    if question.type == "matrix":
        item = question.items.get(item_code or "")
        if item is None:
            raise refuse(
                _("Name an item of matrix %(code)s: %(code)s.ITEM=POINT.") % {"code": code}
            )
        rows = rows.filter(item_id=item.id)
    elif item_code:
        raise refuse(_("%(code)s has no items.") % {"code": code})
    return Exists(rows)


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
        raise FiltersInvalid(message, {"segment": [message]})
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
        raise FiltersInvalid(message, {"segment": [message]}) from None
