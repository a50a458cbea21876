"""What a valid response is: every validity rule, in Python for one response and in SQL for
everything a questionnaire has collected.

Two paths, one meaning, held equal by a parity test (``tests/survey/test_validity_parity.py``):

- **Python**, for what the submit path can decide at once (``single_response_reasons``,
  ``status_for``) and, over a list of responses, for every rule (``validity_marks``): the
  reference semantics, read by people and by the parity test.
- **SQL** (``validity_recompute``), the analysis job's first step over everything collected.

Promises of ``validity_recompute``:
- The rules are re-read from the current definition, so a rule, a parameter, an attention
  check's expected option or an option set changed after collection applies to every response.
- Set-based: three statements whatever the number of responses (the median; one UPDATE of
  every flag and the status, by filters and correlated EXISTS subqueries; the summary's
  counts), plus the quotas' recount; no Python loop over rows. The UPDATE writes only the
  rows whose values change, so a recompute with nothing new writes nothing. Runs on SQLite
  and PostgreSQL, in one transaction.
- The rules that judge a response by its own answers alone (attention, straight-lining) read
  only the responses not stamped with the current rules (``validity_judged``, see
  ``judging_stamp``): what was collected before the rules last changed, and what was loaded
  without judging. A response the submit path judged by the current rules already carries
  the same judgement: answers do not change after submission.
- ``validity_refresh`` skips the whole recompute when it would change nothing: the rules and
  every column it reads or writes on every response are as the previous recompute left them
  (a digest read in one aggregate, PostgreSQL only), and no response is provisional.
- ``manual_status`` (a person's decision) always wins over the rules.
- Flags follow the submit path (``survey.services.responses``): ``speeder``, ``attention_failed``
  and ``straightlined`` are set only while their rule exists; ``duplicate`` whenever the
  questionnaire takes one response per respondent (the rule, if any, decides its action).
- Every response ends with ``status_provisional = False``.

The rules (``validity`` in the definition):
- ``speeder``: a duration under ``below_fraction_of_median`` of the median of every recorded
  duration. Needs all submissions: only the recompute and ``validity_marks`` decide it.
- ``attention``: an attention question answered other than expected; unanswered counts as
  failed unless a ``show_if`` may have hidden it.
- ``straightlining``: a checked matrix with at least ``min_items`` items (default 2), every
  item answered with one scale point.
- ``duplicate``: (one response per respondent) not the respondent's first submission, ordered
  by ``submitted_at`` then id.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    Expression,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from survey.models import Answer, Questionnaire, Response, ValidityRule
from survey.services.definitions import document_hash
from survey.services.quotas import quotas_recount
from survey.structure import Structure, structure_build

Kind = ValidityRule.Kind
Action = ValidityRule.Action
Status = Response.Status

# --- Python: one response, and a list of responses ------------------------------------------


def attention_failed(structure: Structure, answers: Mapping[str, Any]) -> bool:
    """An attention question was answered other than expected (unanswered counts as failed)."""
    for question in structure.questions.values():
        if not question.attention_expect:
            continue
        if question.code not in answers and question.show_if is not None:
            continue  # hidden by show_if: it was never asked
        if str(answers.get(question.code)) != question.attention_expect:
            return True
    return False


def straightlined(structure: Structure, answers: Mapping[str, Any], min_items: int) -> bool:
    """A checked matrix with at least ``min_items`` items got one scale point on every item."""
    for question in structure.questions.values():
        if not question.straightlining_check or len(question.items) < min_items:
            continue
        cells = answers.get(question.code)
        if (
            isinstance(cells, Mapping)
            and len(cells) == len(question.items)
            and len({str(v) for v in cells.values()}) == 1
        ):
            return True
    return False


# Raise when what ``attention_failed`` or ``straightlined`` mean changes: every response is
# then judged again by the next recompute.
JUDGING = 1


def judging_stamp(structure: Structure) -> int:
    """A 64-bit stamp (never 0) of everything the rules that judge one response by its own
    answers read (``attention_failed``, ``straightlined``, in both paths): which of the two
    rules exist, ``min_items``, and each checked question's id, expected option, whether a
    ``show_if`` may hide it and its number of items. Stored on each response as
    ``validity_judged``; equal stamps, equal judgements of the same answers. Computed on each
    call (about 5 µs: one small JSON document hashed)."""
    straightlining = structure.validity.get(Kind.STRAIGHTLINING)
    described = {
        "judging": JUDGING,
        "attention": Kind.ATTENTION in structure.validity,
        "min_items": None if straightlining is None else int(straightlining[1].get("min_items", 2)),
        "questions": [
            [
                question.id,
                question.attention_expect,
                getattr(question.options.get(question.attention_expect), "id", None),
                question.show_if is None,
                question.straightlining_check,
                len(question.items),
            ]
            for question in structure.questions.values()
            if question.attention_expect or question.straightlining_check
        ],
    }
    stamp = int.from_bytes(bytes.fromhex(document_hash(described)[:16]), "big", signed=True)
    return stamp or 1


def single_response_reasons(structure: Structure, answers: Mapping[str, Any]) -> list[str]:
    """The rules this response breaks on its own, in a stable order."""
    reasons = []
    if Kind.ATTENTION in structure.validity and attention_failed(structure, answers):
        reasons.append(Kind.ATTENTION.value)
    if Kind.STRAIGHTLINING in structure.validity:
        _, params = structure.validity[Kind.STRAIGHTLINING]
        if straightlined(structure, answers, int(params.get("min_items", 2))):
            reasons.append(Kind.STRAIGHTLINING.value)
    return reasons


def status_for(validity: Mapping[str, tuple[str, dict]], reasons: Iterable[str]) -> str:
    """invalid if any broken rule invalidates, flagged if any only flags, else valid."""
    actions = {validity[reason][0] for reason in reasons if reason in validity}
    if ValidityRule.Action.INVALIDATE in actions:
        return Response.Status.INVALID
    if ValidityRule.Action.FLAG in actions:
        return Response.Status.FLAGGED
    return Response.Status.VALID


@dataclass(frozen=True)
class ResponseFacts:
    """What the rules read of one response."""

    id: int
    submitted_at: datetime
    respondent_id: int | None
    duration_seconds: float | None
    answers: Mapping[str, Any]
    manual_status: str = ""


@dataclass(frozen=True)
class Marks:
    """The flags and status the rules give one response (``Response``'s own field names)."""

    speeder: bool
    attention_failed: bool
    straightlined: bool
    duplicate: bool
    status: str


def median_of(durations: Iterable[float]) -> float | None:
    ordered = sorted(durations)
    if not ordered:
        return None
    return _between(ordered[(len(ordered) - 1) // 2], ordered[len(ordered) // 2])


def _between(low: float, high: float) -> float:
    """The median from its two middle values (one value twice for an odd count), computed as
    PostgreSQL's ``percentile_cont(0.5)`` does (``low + 0.5 * (high - low)``), so that every
    path gives the same float and the same speeders."""
    return low + 0.5 * (high - low)


def speeder_threshold(structure: Structure, median: float | None) -> float | None:
    if Kind.SPEEDER not in structure.validity or median is None:
        return None
    _, params = structure.validity[Kind.SPEEDER]
    return float(params.get("below_fraction_of_median", 0)) * median


def validity_marks(*, structure: Structure, responses: Sequence[ResponseFacts]) -> dict[int, Marks]:
    """Every rule over ``responses`` (all of one questionnaire's), in Python: id → marks.

    The same meaning as ``validity_recompute``, which the parity test holds it to."""
    threshold = speeder_threshold(
        structure,
        median_of(r.duration_seconds for r in responses if r.duration_seconds is not None),
    )
    first: dict[int, tuple[datetime, int]] = {}
    if structure.one_response_per == Questionnaire.OneResponsePer.RESPONDENT:
        for r in responses:
            if r.respondent_id is not None:
                key = (r.submitted_at, r.id)
                first[r.respondent_id] = min(first.get(r.respondent_id, key), key)
    marks = {}
    for r in responses:
        reasons = single_response_reasons(structure, r.answers)
        speeder = (
            threshold is not None
            and r.duration_seconds is not None
            and r.duration_seconds < threshold
        )
        if speeder:
            reasons.append(Kind.SPEEDER.value)
        duplicate = r.respondent_id in first and first[r.respondent_id] != (r.submitted_at, r.id)
        if duplicate:
            reasons.append(Kind.DUPLICATE.value)
        marks[r.id] = Marks(
            speeder=speeder,
            attention_failed=Kind.ATTENTION.value in reasons,
            straightlined=Kind.STRAIGHTLINING.value in reasons,
            duplicate=duplicate,
            status=r.manual_status or status_for(structure.validity, reasons),
        )
    return marks


# --- SQL: everything a questionnaire has collected --------------------------------------------


def validity_recompute(*, questionnaire: Questionnaire) -> dict[str, Any]:
    """Recompute every response's validity flags and status; return the JSON-able summary.

    Summary keys: ``collected`` (all submissions), ``valid`` (not invalid: valid or flagged),
    ``invalid``, ``flagged``, ``valid_rate`` (valid / collected, None when nothing collected),
    ``invalid_by_reason`` and ``flagged_by_reason`` ({rule kind: responses with that status
    breaking that rule}; a response can break several), ``invalid_manual`` / ``flagged_manual``
    (so decided by a person), ``median_duration`` (seconds, over every submission with a
    duration; None without any), ``speeder_threshold`` (None without a speeder rule or
    durations), ``definition_version``.
    """
    questionnaire, structure = _current(questionnaire)
    with _recompute_transaction():
        return _recompute(questionnaire, structure)[0]


@dataclass(frozen=True)
class Refreshed:
    """What ``validity_refresh`` did: the summary (as ``validity_recompute`` returns it),
    ``inputs`` to hand to the next refresh ("" when none can be trusted), and whether the
    recompute was ``skipped``."""

    summary: dict[str, Any]
    inputs: str
    skipped: bool


# Raise when what the speeder, duplicate or status rules mean in code changes: the next
# refresh then recomputes whatever the inputs (``validity_refresh``).
RULES = 1


def validity_refresh(
    *,
    questionnaire: Questionnaire,
    last_summary: Mapping[str, Any] | None = None,
    last_inputs: str = "",
) -> Refreshed:
    """``validity_recompute``, skipped when it would change nothing.

    ``last_summary`` and ``last_inputs`` are what the previous refresh returned. The inputs
    are a digest of the rules (everything the recompute reads from the definition) and of the
    columns the recompute reads or writes on every response (one aggregate read, on
    PostgreSQL). When both are as the previous recompute left them and no response is still
    provisional, a recompute would write nothing and compute the same summary: it is
    skipped and ``last_summary`` returned (with the current ``definition_version``). A new
    response is provisional until a recompute judged it, and a deleted one changes the count,
    so new data is always judged.

    The inputs handed on are those the recompute left, read by the statement that counts its
    summary (one aggregate: the two describe the same rows); "" on SQLite (the next refresh
    recomputes). Quotas are recounted either way.
    """
    questionnaire, structure = _current(questionnaire)
    rules = _rules_digest(structure)
    keys = _summary_keys()
    # The responses' digest is read first only when it could match: not on a person's
    # request (no last inputs), nor after a change of the rules (0.5 s at 1,000,000).
    matchable = (
        last_inputs.startswith(f"{rules}:")
        and last_summary is not None
        and all(key in last_summary for key in keys)
    )
    with _recompute_transaction():
        before = _response_inputs(questionnaire.pk) if matchable else None
        if (
            before is not None
            and last_inputs == f"{rules}:{before.digest}"
            and not before.provisional
        ):
            if structure.quotas:
                quotas_recount(questionnaire=questionnaire)
            summary = {key: last_summary[key] for key in keys}
            summary["definition_version"] = questionnaire.definition_version
            return Refreshed(summary, last_inputs, skipped=True)
        summary, after = _recompute(questionnaire, structure)
    return Refreshed(summary, f"{rules}:{after}" if after else "", skipped=False)


def _current(questionnaire: Questionnaire) -> tuple[Questionnaire, Structure]:
    """The questionnaire as stored now, and its rules (re-read: they may have changed)."""
    questionnaire = Questionnaire.objects.get(pk=questionnaire.pk)
    return questionnaire, structure_build(questionnaire)


@contextmanager
def _recompute_transaction() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Row estimates for the correlated subqueries are poor; compiling them costs
            # seconds and gains nothing here.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        yield


def _recompute(questionnaire: Questionnaire, structure: Structure) -> tuple[dict[str, Any], str]:
    """Every flag and status by the current rules, quotas recounted; the summary, and the
    digest of the responses' recompute columns as left ("" on SQLite), read together. Inside
    ``_recompute_transaction``."""
    responses = Response.objects.filter(questionnaire_id=questionnaire.pk)
    median, counted = _median_duration(responses)
    threshold = speeder_threshold(structure, median)
    _judge(responses, structure, threshold)
    if structure.quotas:
        quotas_recount(questionnaire=questionnaire)
    counts = validity_counts(responses, digest=connection.vendor == "postgresql")
    digest = counts.pop("digest", None)
    summary = validity_summary_of(counts)
    summary.update(
        median_duration=median,
        speeder_threshold=threshold,
        definition_version=questionnaire.definition_version,
    )
    # A response deleted after the median was taken: the next recompute takes it again. (One
    # stored meanwhile is provisional: the next refresh recomputes anyway.)
    trusted = digest is not None and counted == counts["collected"]
    return summary, _inputs_of(counts["collected"], digest) if trusted else ""


def _summary_keys() -> list[str]:
    return [*validity_summary_of({}), "median_duration", "speeder_threshold"]


def _rules_digest(structure: Structure) -> str:
    """Everything the recompute reads from the definition: the rules with their actions and
    parameters, one response per what, and the stamp of the one-response rules."""
    described = {
        "rules": RULES,
        "validity": {
            kind: [action, params] for kind, (action, params) in structure.validity.items()
        },
        "one_response_per": structure.one_response_per,
        "judging": judging_stamp(structure),
    }
    return document_hash(described)[:16]


@dataclass(frozen=True)
class _ResponseInputs:
    count: int
    provisional: int
    digest: str


# Every column of a response the recompute reads or writes, hashed per row (one 64-bit hash
# per column, each with its own seed, XORed; NULLs as values no response has) and summed
# (numeric: no overflow). Hashing the columns' values rather than ``ROW(...)::text`` spares
# formatting timestamps and floats as text: 0.54 s rather than 0.79 s at 1,000,000 responses.
# Read alone before a recompute, and with the summary's counts after one (``_InputsDigest``).
_INPUTS_DIGEST = """coalesce(sum(
    hashint8extended(id, 0)
    # hashint8extended(coalesce(respondent_id, -1), 1)
    # hashint8extended((extract(epoch FROM submitted_at) * 1000000)::bigint, 2)
    # hashfloat8extended(coalesce(duration_seconds, -1), 3)
    # hashint8extended(validity_judged, 4)
    # hashtextextended(status || '|' || manual_status, 5)
    # hashint4extended(status_provisional::int | (speeder::int << 1)
                       | (attention_failed::int << 2) | (duplicate::int << 3)
                       | (straightlined::int << 4), 6)
), 0)::text"""

_INPUTS_SQL = f"""
SELECT count(*), count(*) FILTER (WHERE status_provisional), {_INPUTS_DIGEST}
FROM {Response._meta.db_table} WHERE questionnaire_id = %s
"""


class _InputsDigest(Aggregate):
    """``_INPUTS_DIGEST`` as an aggregate of a query over the responses table alone (its
    columns are named unqualified), beside the summary's counts."""

    template = _INPUTS_DIGEST
    output_field = CharField()

    def __init__(self) -> None:
        super().__init__(F("id"))  # an aggregate takes an expression; the template reads its own


def _response_inputs(questionnaire_id: int) -> _ResponseInputs | None:
    """The digest of every response's recompute columns (one aggregate read); None on SQLite,
    which has no hash function in SQL."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_INPUTS_SQL, [questionnaire_id])
        count, provisional, total = cursor.fetchone()
    return _ResponseInputs(count, provisional, _inputs_of(count, total))


def _inputs_of(count: int, total: str) -> str:
    """The responses' part of the inputs, from their count and ``_INPUTS_DIGEST``: one form,
    whether read alone (``_response_inputs``) or with the summary (``_recompute``)."""
    return f"{count}:{total}"


class _Median(Aggregate):
    """PostgreSQL's continuous median of an expression (one sort, one pass)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median_duration(responses: QuerySet[Response]) -> tuple[float | None, int | None]:
    """The median of every recorded duration, and how many responses there were when it was
    taken (PostgreSQL; None elsewhere): one aggregate on PostgreSQL (1.0 s at 1,000,000
    responses, where a count and a read at its middle took 1.4–2.0 s), whose median skips
    the responses without a duration; elsewhere the count and two values read at the middle."""
    if connection.vendor == "postgresql":
        row = responses.aggregate(median=_Median("duration_seconds"), collected=Count("id"))
        return row["median"], row["collected"]
    timed = responses.filter(duration_seconds__isnull=False)
    count = timed.count()
    if not count:
        return None, None
    ordered = timed.order_by("duration_seconds").values_list("duration_seconds", flat=True)
    middle = list(ordered[(count - 1) // 2 : count // 2 + 1])
    return _between(middle[0], middle[-1]), None


def _attention_condition(structure: Structure) -> Q | None:
    """Answered other than expected; unanswered too, unless a show_if may have hidden it.

    EXISTS and NOT EXISTS, correlated on the response: PostgreSQL runs them as index probes
    (or anti-joins) at any ``work_mem``. ``NOT (id IN (subquery))`` was hashed only while the
    question's answers fitted in ``work_mem`` and otherwise rescanned them for every response:
    quadratic, hours at a million responses with the default 4 MB."""
    if Kind.ATTENTION not in structure.validity:
        return None
    parts = []
    for question in structure.questions.values():
        if not question.attention_expect:
            continue
        rows = Answer.objects.filter(response=OuterRef("pk"), question_id=question.id)
        expected = question.options.get(question.attention_expect)
        other = rows.exclude(option_id=expected.id) if expected else rows
        parts.append(Q(Exists(other)))
        if question.show_if is None:
            parts.append(~Q(Exists(rows)))
    return reduce(operator.or_, parts) if parts else None


def _straightlining_condition(structure: Structure) -> Q | None:
    """A checked matrix with enough items, every item answered, one scale point throughout.

    Correlated EXISTS (one index probe per response), for the reason given above."""
    if Kind.STRAIGHTLINING not in structure.validity:
        return None
    _, params = structure.validity[Kind.STRAIGHTLINING]
    min_items = int(params.get("min_items", 2))
    parts = []
    for question in structure.questions.values():
        if not question.straightlining_check or len(question.items) < min_items:
            continue
        one_point = (
            Answer.objects.filter(response=OuterRef("pk"), question_id=question.id)
            .values("response_id")
            # MIN = MAX rather than COUNT(DISTINCT): no sort per response.
            .annotate(cells=Count("id"), low=Min("option_id"), high=Max("option_id"))
            .filter(cells=len(question.items), low=F("high"))
        )
        parts.append(Q(Exists(one_point)))
    return reduce(operator.or_, parts) if parts else None


def _duplicate_condition(structure: Structure) -> Q | None:
    """Not the respondent's first submission, ordered by submitted_at then id: an earlier one
    by the same respondent exists.

    A correlated EXISTS (one probe of the respondent index per response) rather than
    ``id IN (ROW_NUMBER() … > 1)``, which PostgreSQL could hash only while the subquery's
    estimated rows fitted in ``work_mem``: otherwise quadratic (minutes at a million)."""
    if structure.one_response_per != Questionnaire.OneResponsePer.RESPONDENT:
        return None
    here = OuterRef("submitted_at")
    earlier = Response.objects.filter(
        Q(submitted_at__lt=here) | Q(submitted_at=here, id__lt=OuterRef("pk")),
        questionnaire_id=structure.questionnaire_id,
        respondent_id=OuterRef("respondent_id"),
    )
    return Q(respondent__isnull=False) & Q(Exists(earlier))


def _judge(responses: QuerySet[Response], structure: Structure, threshold: float | None) -> None:
    """Every flag and the status by the current rules, and no response left provisional: one
    UPDATE, one pass over the responses, that writes only the rows where any of them changes
    (at 1,000,000 responses each pass saved is about 0.6 s).

    - ``attention_failed`` and ``straightlined`` are judged from the answers only for the
      responses not stamped with the current rules (``validity_judged``; see
      ``judging_stamp``): the submit path's judgement by these rules is not read again. A row
      written is stamped, with the flags judged by this UPDATE. A response stored while it runs
      is judged by this UPDATE or by the next recompute.
    - ``speeder``: a duration under ``threshold``; ``duplicate``: one probe of the respondent
      index (``_duplicate_condition``).
    - ``status``: ``manual_status`` if a person set one, else what the broken rules say. Which
      rows to write is decided by the new flags and the status the stored flags give: where
      no flag changes the two statuses are the same, so the new flags' subqueries are run once
      per response, and again only for the rows written.
    """
    stamp = judging_stamp(structure)
    judged = Q(validity_judged=stamp)
    flags = {
        "attention_failed": Case(
            When(judged, then=F("attention_failed")),
            default=_flag_value(_attention_condition(structure)),
            output_field=BooleanField(),
        ),
        "straightlined": Case(
            When(judged, then=F("straightlined")),
            default=_flag_value(_straightlining_condition(structure)),
            output_field=BooleanField(),
        ),
        "speeder": _flag_value(None if threshold is None else Q(duration_seconds__lt=threshold)),
        "duplicate": _flag_value(_duplicate_condition(structure)),
    }
    stored = _status(structure, lambda field: Q(**{field: True}))
    responses.exclude(**flags, status=stored, status_provisional=False).update(
        **flags,
        validity_judged=stamp,
        status=_status(structure, flags.__getitem__),
        status_provisional=False,
    )


def _flag_value(condition: Q | None) -> Value | Case:
    if condition is None:
        return Value(False)
    return Case(When(condition, then=Value(True)), default=Value(False))


def _status(structure: Structure, flag: Callable[[str], Q | Expression]) -> Case:
    """The status: ``manual_status`` if a person set one, else invalid if a broken rule
    invalidates, flagged if one only flags, else valid (``status_for``); ``flag(field)`` is
    the condition that a response breaks the rule of that flag."""
    whens = [When(~Q(manual_status=""), then=F("manual_status"))]
    for action, status in ((Action.INVALIDATE, Status.INVALID), (Action.FLAG, Status.FLAGGED)):
        whens.extend(
            When(flag(Response.REASON_FIELDS[kind]), then=Value(status))
            for kind, (rule_action, _params) in structure.validity.items()
            if rule_action == action and kind in Response.REASON_FIELDS
        )
    return Case(*whens, default=Value(Status.VALID), output_field=CharField())


def validity_counts(responses: QuerySet[Response], *, digest: bool = False) -> dict[str, Any]:
    """The summary's counts over ``responses`` as flat integers (one aggregate query): sums
    of these over any split of the responses are the counts of the whole, so the live results
    keep them per chunk (``validity_summary_of`` shapes them). ``digest`` (PostgreSQL): also
    the digest of their recompute columns, under ``"digest"``, read by the same statement."""
    counts: dict[str, Any] = {
        "collected": Count("id"),
        "valid": Count("id", filter=~Q(status=Status.INVALID)),
        "invalid": Count("id", filter=Q(status=Status.INVALID)),
        "flagged": Count("id", filter=Q(status=Status.FLAGGED)),
    }
    for status in (Status.INVALID, Status.FLAGGED):
        counts[f"{status}_manual"] = Count("id", filter=Q(status=status) & ~Q(manual_status=""))
        for kind, field in Response.REASON_FIELDS.items():
            counts[f"{status}:{kind}"] = Count("id", filter=Q(status=status, **{field: True}))
    if digest:
        counts["digest"] = _InputsDigest()
    return responses.aggregate(**counts)


def validity_summary_of(row: dict[str, int]) -> dict[str, Any]:
    """The summary's counts (see ``validity_recompute``) from ``validity_counts`` (a count
    missing is 0: no responses)."""

    def count(key: str) -> int:
        return row.get(key) or 0

    summary: dict[str, Any] = {
        key: count(key) for key in ("collected", "valid", "invalid", "flagged")
    }
    summary["valid_rate"] = count("valid") / count("collected") if count("collected") else None
    for status in (Status.INVALID, Status.FLAGGED):
        summary[f"{status}_by_reason"] = {
            kind: count(f"{status}:{kind}") for kind in Response.REASON_FIELDS
        }
        summary[f"{status}_manual"] = count(f"{status}_manual")
    return summary
