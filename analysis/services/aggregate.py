"""Chunked aggregation: exact, mergeable sufficient statistics over valid responses.

    chunk_ranges → aggregate_chunk (one per id range, in parallel) → merge_partials → tables_build

Promises:
- ``aggregate_chunk`` runs one grouped SQL statement (plus a few reads of the definition)
  whatever the number of responses, questions, banner entries or segments. Nothing loops over
  responses or answers in Python; a partial's size is proportional to the cells of the tables,
  not to responses.
- A partial holds only integers (counts, and score sums in units of 1/10,000, the precision of
  ``Option.score``) and strings, so it is JSON-able (Celery) and ``merge_partials`` is exact
  and associative: any chunking gives the same merged partial, hence the same tables.
- Only valid responses count (status ``valid`` or ``flagged``).
- A weighted questionnaire's partials also hold, per group, the same sums with each response
  counted by its weight (``weighted``: integers of 1/1,000,000, plus ``n2``, the sum of squared
  weights in 1/10,000 units, for Kish's effective sample size): still exact and mergeable.
- Every partial records the analysis definition it was computed under (``definition``: the
  version and a digest of scores, segment rules, banner); partials of different definitions
  are refused by ``merge_partials`` and by ``tables_build`` (``DefinitionChanged``).

The partial's shape, and the SQL, are described in docs/analysis-results.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Exists, F, Max, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, Round

from survey.expressions import ExpressionError, compile_expression
from survey.expressions_sql import AnswerTests, to_answer_tests, to_q
from survey.models import Answer, DerivedScore, Questionnaire, Response, Segment
from survey.structure import QuestionDef, Structure, structure_for

PARTIAL_FORMAT = "wenji-analysis-partial/1"
# Option.score has 4 decimal places: scores are summed in SQL as exact integers of this unit.
SCORE_UNITS = 10_000
# Weights are summed in SQL as exact integers of these units, so any chunking merges to the same
# sums: Σw in millionths of a weight (whose mean is 1), Σw² (only for Kish's effective sample
# size) of weights in ten-thousandths, which keeps it within 64 bits at a million responses.
WEIGHT_UNITS = 1_000_000
SQUARE_UNITS = 10_000
ALL = "all"
BANNER_TYPES = frozenset({"single"})
SCORED_TYPES = frozenset({"single", "matrix"})


class DefinitionChanged(Exception):
    """The definition the analysis reads changed while a run was computing; run it again."""


# --- what to compute --------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentDef:
    code: str
    label: Any
    rule: str
    index: int
    condition: Q | None  # None when the rule no longer fits the questionnaire (see problems)
    # The same rule as tests on single answer rows (None: it compares two answers, or no fit)
    tests: AnswerTests | None = None


@dataclass(frozen=True)
class ScoreDef:
    code: str
    label: Any
    question: QuestionDef


@dataclass(frozen=True)
class BannerEntry:
    key: str  # "D1" or "segment:active"
    kind: str  # "question" | "segment"
    code: str  # the question or segment code


@dataclass(frozen=True)
class AnalysisPlan:
    """A questionnaire's definition as the analysis reads it, read fresh from the database."""

    questionnaire: Questionnaire
    structure: Structure
    segments: list[SegmentDef]
    scores: list[ScoreDef]
    banner: list[BannerEntry]
    problems: list[str] = field(default_factory=list)

    @property
    def weighted(self) -> bool:
        """Whether the definition has weights: partials then carry weighted sums too."""
        return self.questionnaire.weighted

    @property
    def significance(self) -> float:
        return float(self.questionnaire.significance)

    @property
    def correction(self) -> str:
        return self.questionnaire.correction

    def question_by_id(self) -> dict[int, QuestionDef]:
        return {q.id: q for q in self.structure.questions.values()}

    def banner_questions(self) -> list[QuestionDef]:
        return [self.structure.questions[e.code] for e in self.banner if e.kind == "question"]

    def score_units(self) -> dict[int, int]:
        """Option id → score in 1/10,000 units, for every scored option."""
        return {
            option.id: int(option.score * SCORE_UNITS)
            for question in self.structure.questions.values()
            for option in question.options.values()
            if option.score is not None
        }

    def definition(self) -> dict[str, Any]:
        """The version and a digest of everything the numbers depend on beyond the answers."""
        described = {
            "scores": {s.code: s.question.code for s in self.scores},
            "option_scores": {
                q.code: {o.code: _text_or_none(o.score) for o in q.options.values()}
                for q in self.structure.questions.values()
            },
            "segments": {s.code: s.rule for s in self.segments},
            "banner": [e.key for e in self.banner],
            "correction": self.questionnaire.correction,
            "weighted": self.weighted,
        }
        text = json.dumps(described, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        return {"version": self.questionnaire.definition_version, "digest": digest}


def _text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def analysis_plan(*, questionnaire_id: int) -> AnalysisPlan:
    """Read what the analysis needs of a questionnaire's current definition (a few queries)."""
    questionnaire = Questionnaire.objects.get(pk=questionnaire_id)
    structure = structure_for(questionnaire)
    problems: list[str] = []
    segments = _segments(questionnaire, structure, problems)
    scores = []
    rows = DerivedScore.objects.filter(questionnaire=questionnaire).select_related("question")
    for score in rows:
        question = structure.questions.get(score.question.code)
        if question is None or question.type not in SCORED_TYPES:
            problems.append(f"score {score.code}: only single and matrix questions have scores")
            continue
        scores.append(ScoreDef(code=score.code, label=score.label, question=question))
    banner = _banner(questionnaire.banner, structure, segments, problems)
    return AnalysisPlan(questionnaire, structure, segments, scores, banner, problems)


def _segments(
    questionnaire: Questionnaire, structure: Structure, problems: list[str]
) -> list[SegmentDef]:
    specs = structure.question_specs()
    question_ids = {q.code: q.id for q in structure.questions.values()}
    item_ids = {
        (q.code, i.code): i.id for q in structure.questions.values() for i in q.items.values()
    }
    option_ids = {
        (q.code, o.code): o.id for q in structure.questions.values() for o in q.options.values()
    }
    ids = {"question_ids": question_ids, "item_ids": item_ids, "option_ids": option_ids}
    segments = []
    for index, segment in enumerate(Segment.objects.filter(questionnaire=questionnaire)):
        try:
            expr = compile_expression(segment.rule, specs)
            condition, tests = to_q(expr, **ids), to_answer_tests(expr, **ids)
        except ExpressionError as error:
            problems.append(f"segment {segment.code}: rule {segment.rule!r}: {error}")
            condition, tests = None, None
        segments.append(
            SegmentDef(segment.code, segment.label, segment.rule, index, condition, tests)
        )
    return segments


def _banner(
    entries: Any, structure: Structure, segments: list[SegmentDef], problems: list[str]
) -> list[BannerEntry]:
    usable_segments = {s.code for s in segments if s.condition is not None}
    banner: list[BannerEntry] = []
    for entry in entries if isinstance(entries, list) else []:
        text = str(entry)
        if text.startswith("segment:"):
            code = text.removeprefix("segment:")
            if code in usable_segments:
                banner.append(BannerEntry(key=text, kind="segment", code=code))
            else:
                problems.append(f"banner {text}: no usable segment {code}")
        elif (question := structure.questions.get(text)) and question.type in BANNER_TYPES:
            banner.append(BannerEntry(key=text, kind="question", code=text))
        else:
            problems.append(f"banner {text}: not a single question or segment:CODE")
    return banner


# --- chunks -----------------------------------------------------------------------------------


def chunk_bounds(*, questionnaire_id: int, chunks: int) -> list[tuple[int, int]]:
    """Inclusive ``(low_id, high_id)`` ranges covering every response, in id order.

    At most ``chunks`` ranges of nearly equal response counts (by NTILE, one query); the ranges
    are contiguous, so together they cover every id from the first response to the last.
    No responses: ``[]`` (``merge_partials([])`` is the empty partial).
    """
    if chunks < 1:
        raise ValueError(f"chunks must be at least 1, got {chunks}")
    table = Response._meta.db_table
    sql = (
        f"SELECT tile, MIN(id), MAX(id) FROM (SELECT id, NTILE(%s) OVER (ORDER BY id) AS tile "
        f"FROM {table} WHERE questionnaire_id = %s) tiles GROUP BY tile ORDER BY tile"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [chunks, questionnaire_id])
        rows = cursor.fetchall()
    return [
        (low, rows[index + 1][1] - 1 if index + 1 < len(rows) else high)
        for index, (_tile, low, high) in enumerate(rows)
    ]


# --- one chunk --------------------------------------------------------------------------------


def aggregate_chunk(
    *, questionnaire_id: int, low_id: int, high_id: int, restrict: QuerySet | None = None
) -> dict[str, Any]:
    """Partial sufficient statistics over valid responses with ``low_id <= id <= high_id``;
    with ``restrict``, over the responses of that Response queryset instead, whatever their
    status (the page's filters: ``survey.filters`` keeps the valid ones unless asked).

    Groups: ``all``; one per option of each banner question (``"D1=1"``); one per segment
    (``"segment:active"``); a segment's rest is ``all`` minus the segment, formed by tables_build.
    One SQL statement: see ``_chunk_sql``.
    """
    plan = analysis_plan(questionnaire_id=questionnaire_id)
    groups = _group_columns(plan)
    sql, params = _chunk_sql(plan, groups, low_id, high_id, restrict)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The planner's estimates for the segment subqueries are far off, which makes
            # PostgreSQL JIT-compile the statement: seconds of compiling for no gain.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        "format": PARTIAL_FORMAT,
        "questionnaire_id": questionnaire_id,
        "definition": plan.definition(),
        "groups": _groups_from_rows(plan, [key for key, _ in groups], rows),
    }


def banner_group_key(question_code: str, option_code: str) -> str:
    return f"{question_code}={option_code}"


def segment_group_key(segment_code: str) -> str:
    return f"segment:{segment_code}"


def _group_columns(plan: AnalysisPlan) -> list[tuple[str, str | None]]:
    """Each group's key and its condition on the per-response row ``p`` (None: every row)."""
    columns: list[tuple[str, str | None]] = [(ALL, None)]
    for index, question in enumerate(plan.banner_questions()):
        for option in question.options.values():
            key = banner_group_key(question.code, option.code)
            columns.append((key, f"p.b{index} = {int(option.id)}"))
    for segment in plan.segments:
        if segment.condition is not None:
            columns.append((segment_group_key(segment.code), f"p.s{segment.index} = 1"))
    return columns


def _people(
    plan: AnalysisPlan, low_id: int, high_id: int, restrict: QuerySet | None = None
) -> tuple[str, list[Any]]:
    """SQL of one row per valid response in the range: its id, the option it chose in each
    banner question (``b0``, ``b1``, …) and whether it is in each segment (``s0``, …: 0/1).

    Banner choices and segment memberships come from one grouped pass over the range's answers
    to the questions they read (``_flags``): a segment rule is a boolean combination of "has an
    answer row passing test k" (``AnswerTests``), each such flag one ``MAX(CASE …)`` column.
    A rule comparing two answers (``Q2.a > Q2.b``) has no row tests; it keeps its ``to_q``
    condition, whose EXISTS subqueries are limited to the range (``_within_ids``).
    """
    people = Response.objects.filter(
        questionnaire_id=plan.questionnaire.pk, id__gte=low_id, id__lte=high_id
    ).order_by()
    if restrict is None:
        people = people.exclude(status=Response.Status.INVALID)
    else:  # the filters decide which statuses count
        people = people.filter(id__in=restrict.order_by().values("id"))
    names = ["id"]
    if plan.weighted:  # the response's weight in exact integer units (unweighted: 1)
        weight = Coalesce(F("weight"), Value(1.0))
        people = people.annotate(
            wu=Cast(Round(weight * Value(float(WEIGHT_UNITS))), BigIntegerField()),
            wq=Cast(Round(weight * Value(float(SQUARE_UNITS))), BigIntegerField()),
        )
        names += ["wu", "wq"]
    tested: list[tuple[SegmentDef, AnswerTests]] = []
    for segment in plan.segments:
        if segment.condition is None:
            continue
        if segment.tests is not None:
            tested.append((segment, segment.tests))
            continue
        condition = _within_ids(segment.condition, low_id, high_id)
        member = Case(When(condition, then=Value(1)), default=Value(0))
        people = people.annotate(**{f"s{segment.index}": member})
        names.append(f"s{segment.index}")
    sql, params = people.values(*names).query.sql_with_params()
    banner = plan.banner_questions()
    if not banner and not tested:
        return sql, list(params)
    flags, flag_params, offsets = _flags(banner, [tests for _, tests in tested], low_id, high_id)
    columns = [f"f.b{index}" for index in range(len(banner))]
    for (segment, tests), offset in zip(tested, offsets, strict=True):
        holds = tests.sql(lambda k, offset=offset: f"COALESCE(f.t{offset + k}, 0) = 1")
        columns.append(f"CASE WHEN {holds} THEN 1 ELSE 0 END AS s{segment.index}")
    return (
        f"SELECT q.*, {', '.join(columns)} FROM ({sql}) q "
        f"LEFT JOIN ({flags}) f ON f.response_id = q.id",
        [*params, *flag_params],
    )


def _flags(
    banner: list[QuestionDef], rules: list[AnswerTests], low_id: int, high_id: int
) -> tuple[str, list[Any], list[int]]:
    """One grouped pass over the range's answers to the banner questions and to the questions
    the rules read: per response, ``b{i}`` the option chosen in banner question i and ``t{k}``
    1 if some answer row passes test k (the rules' tests numbered in order), else 0.
    Returns the SQL, its parameters and each rule's first test number."""
    columns: dict[str, Any] = {
        f"b{index}": Max(Case(When(question_id=question.id, then=F("option_id"))))
        for index, question in enumerate(banner)
    }
    offsets = []
    for tests in rules:
        offsets.append(len(columns) - len(banner))
        for test in tests.tests:
            flag = Max(Case(When(test, then=Value(1)), default=Value(0)))
            columns[f"t{len(columns) - len(banner)}"] = flag
    question_ids = {question.id for question in banner}
    question_ids |= {
        value
        for tests in rules
        for test in tests.tests
        for key, value in _lookups(test)
        if key == "question_id"
    }
    rows = (
        Answer.objects.filter(
            response_id__gte=low_id, response_id__lte=high_id, question_id__in=question_ids
        )
        .values("response_id")
        .annotate(**columns)
        .order_by()
    )
    sql, params = rows.query.sql_with_params()
    return sql, list(params), offsets


def _lookups(condition: Q) -> Iterable[tuple[str, Any]]:
    """Every (lookup, value) pair in a Q, at any depth."""
    for child in condition.children:
        if isinstance(child, Q):
            yield from _lookups(child)
        else:
            yield child


def _within_ids(condition: Q, low_id: int, high_id: int) -> Q:
    """``condition`` (from ``to_q``) with each EXISTS over answers limited to the chunk's ids.

    The same responses match (the subqueries are correlated on the response id anyway), but
    PostgreSQL may run an EXISTS as one hashed scan of all the question's answers: limited to
    the chunk, that scan costs one chunk's rows, not the whole questionnaire's, per chunk.
    """
    children: list[Any] = []
    for child in condition.children:
        if isinstance(child, Q):
            child = _within_ids(child, low_id, high_id)
        elif isinstance(child, Exists) and child.query.model is Answer:
            answers = Answer.objects.all()
            answers.query = child.query.clone()
            answers.query.clear_limits()  # Exists() limited it to one row; it will again
            child = Exists(answers.filter(response_id__gte=low_id, response_id__lte=high_id))
        children.append(child)
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


def _chunk_sql(
    plan: AnalysisPlan,
    groups: list[tuple[str, str | None]],
    low_id: int,
    high_id: int,
    restrict: QuerySet | None = None,
) -> tuple[str, list[Any]]:
    """One statement, three kinds of rows, each with one count per group (FILTER columns):

    - ``n``: the group sizes;
    - ``c``: answer cells by question, item, option and number (text rows: neither);
    - ``r``: per (question, k, s) over responses: for multiple questions, responses answering
      (k = 0); for scored matrices, responses by scored items answered k and their score sum s.

    The per-response rows ``p`` (banner choices, segment memberships) are a CTE used three
    times, so PostgreSQL computes them once.
    """
    people, params = _people(plan, low_id, high_id, restrict)
    aggregates = ["COUNT(*)"]
    if plan.weighted:  # Σw and Σw² per group, in integer units: exact and mergeable
        aggregates += ["SUM(p.wu)", "SUM(p.wq * p.wq)"]
    counts = ", ".join(
        aggregate if condition is None else f"{aggregate} FILTER (WHERE {condition})"
        for aggregate in aggregates
        for _key, condition in groups
    )
    answers = Answer._meta.db_table
    # PostgreSQL types UNION columns branch by branch, so the NULLs carry their types.
    none, no_number = "CAST(NULL AS BIGINT)", "CAST(NULL AS DECIMAL)"
    parts = [
        f"SELECT 'n', {none}, {none}, {none}, {no_number}, {none}, {none}, {counts} FROM p",
        f"SELECT 'c', a.question_id, a.item_id, a.option_id, a.number, {none}, {none}, {counts} "
        f"FROM p JOIN {answers} a ON a.response_id = p.id WHERE a.response_id BETWEEN %s AND %s "
        "GROUP BY a.question_id, a.item_id, a.option_id, a.number",
    ]
    params += [low_id, high_id]
    per_response = _per_response_sql(plan)
    if per_response is not None:
        parts.append(
            f"SELECT 'r', x.question_id, {none}, {none}, {no_number}, x.k, x.s, {counts} "
            f"FROM p JOIN ({per_response}) x ON x.response_id = p.id "
            "GROUP BY x.question_id, x.k, x.s"
        )
        params += [low_id, high_id]
    return f"WITH p AS ({people}) " + " UNION ALL ".join(parts), params


def _per_response_sql(plan: AnalysisPlan) -> str | None:
    """(response, question, k, s) for multiple questions and scored matrices; None if neither."""
    multiple = [q.id for q in plan.structure.questions.values() if q.type == "multiple"]
    matrices = sorted({s.question.id for s in plan.scores if s.question.type == "matrix"})
    if not multiple and not matrices:
        return None
    units = plan.score_units()
    scale_ids = sorted(
        {
            option.id
            for score in plan.scores
            if score.question.type == "matrix"
            for option in score.question.options.values()
            if option.id in units
        }
    )
    whens = " ".join(f"WHEN {int(i)} THEN {int(units[i])}" for i in scale_ids)
    unit = f"CASE a.option_id {whens} END" if whens else "NULL"
    question_ids = ", ".join(str(int(i)) for i in sorted({*multiple, *matrices}))
    return (
        f"SELECT a.response_id, a.question_id, COUNT({unit}) AS k, SUM({unit}) AS s "
        f"FROM {Answer._meta.db_table} a WHERE a.response_id BETWEEN %s AND %s "
        f"AND a.question_id IN ({question_ids}) GROUP BY a.response_id, a.question_id"
    )


def _groups_from_rows(
    plan: AnalysisPlan, keys: list[str], rows: Iterable[tuple]
) -> dict[str, dict[str, Any]]:
    """The partial's groups from the statement's rows; groups without responses are left out."""
    questions = plan.question_by_id()
    options = {o.id: o.code for q in questions.values() for o in q.options.values()}
    items = {i.id: i.code for q in questions.values() for i in q.items.values()}
    groups: dict[str, dict[str, Any]] = {}
    width = len(keys)
    for row in rows:
        kind, question_id, item_id, option_id, number, k, s = row[:7]
        counts = row[7 : 7 + width]
        sums = row[7 + width : 7 + 2 * width] if plan.weighted else [None] * width
        squares = row[7 + 2 * width :] if plan.weighted else [None] * width
        for key, count, total, square in zip(keys, counts, sums, squares, strict=True):
            if not count:
                continue
            group = groups.setdefault(key, _empty_group(plan.weighted))
            places = [(group, count)]
            if plan.weighted:
                places.append((group["weighted"], int(total)))
            for target, value in places:
                if kind == "n":
                    target["n"] = value
                    continue
                question = questions[question_id]
                if kind == "c":
                    item = items[item_id] if item_id is not None else ""
                    if option_id is not None:
                        code = options[option_id]
                    else:
                        code = number_key(number) if number is not None else ""
                    _add(target["cells"], value, question.code, item, code)
                elif question.type == "multiple":
                    _add(target["answered"], value, question.code)
                else:
                    _add(target["score_sums"], value, question.code, f"{k}:{int(s) if k else 0}")
            if kind == "n" and plan.weighted:
                group["weighted"]["n2"] = int(square)
    return groups


def _add(target: dict[str, Any], count: int, *path: str) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = target.get(path[-1], 0) + count


def _empty_group(weighted: bool = False) -> dict[str, Any]:
    group: dict[str, Any] = {"n": 0, "cells": {}, "answered": {}, "score_sums": {}}
    if weighted:  # the same sums with each response counted by its weight, and Σw² of n
        group["weighted"] = {"n": 0, "n2": 0, "cells": {}, "answered": {}, "score_sums": {}}
    return group


def number_key(value: Any) -> str:
    """The canonical text of a stored number: Decimal from PostgreSQL, int/float from SQLite."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    number = Decimal(value)
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


# --- merging ----------------------------------------------------------------------------------


def empty_partial() -> dict[str, Any]:
    return {"format": PARTIAL_FORMAT, "questionnaire_id": None, "definition": None, "groups": {}}


def merge_partials(partials: list[dict[str, Any]]) -> dict[str, Any]:
    """The exact sum of partials (of one questionnaire and definition); ``[]`` → empty partial.

    Raises ``DefinitionChanged`` when the partials were computed under different definitions,
    ``ValueError`` when they belong to different questionnaires or are not partials.
    """
    merged = empty_partial()
    for partial in partials:
        if not isinstance(partial, dict) or partial.get("format") != PARTIAL_FORMAT:
            raise ValueError("not an analysis partial (format wenji-analysis-partial/1)")
        if merged["questionnaire_id"] is None:
            merged["questionnaire_id"] = partial["questionnaire_id"]
            merged["definition"] = partial["definition"]
        elif partial["questionnaire_id"] != merged["questionnaire_id"]:
            raise ValueError("partials of different questionnaires cannot be merged")
        elif partial["definition"] != merged["definition"]:
            raise DefinitionChanged(
                "the questionnaire's scores, segments or banner changed during the analysis"
            )
        _add_into(merged["groups"], partial["groups"])
    return merged


def _add_into(target: dict[str, Any], source: dict[str, Any]) -> None:
    """target += source, for nested dicts whose leaves are integers."""
    for key, value in source.items():
        if isinstance(value, dict):
            _add_into(target.setdefault(key, {}), value)
        else:
            target[key] = target.get(key, 0) + value
