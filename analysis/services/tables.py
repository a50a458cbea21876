"""The results document: every table of the analysis, built from a merged partial.

Promises:
- ``tables_build`` is a pure function of the merged partial, the validity summary and the
  current definition (labels, option scores, segments, banner, significance): no response is
  read here, so it takes the same time at a thousand responses or a million.
- Every figure is over valid responses; for a question, over the valid responses that
  answered it. Scores (of options and scale points) are the current ``Option.score`` values.
- Means, variances and quantiles are computed exactly (``Fraction``) from integer counts and
  only then rounded to float, so any chunking of the same data gives identical numbers.
- The document is JSON-able with no NaN or infinity anywhere: a figure without a base is
  ``null``, a test that cannot be computed has ``p: null`` and a ``reason`` code.

The shape is documented in docs/analysis-results.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from analysis.services.aggregate import (
    ALL,
    SCORE_UNITS,
    SQUARE_UNITS,
    WEIGHT_UNITS,
    AnalysisPlan,
    BannerEntry,
    DefinitionChanged,
    ScoreDef,
    analysis_plan,
    banner_group_key,
    segment_group_key,
)
from analysis.services.stats import (
    Mean,
    Proportion,
    column_letters,
    two_proportion_z_test,
    welch_t_test,
)
from survey.models import Item, Option, Question
from survey.structure import QuestionDef

RESULTS_FORMAT = "wenji-analysis/1"
METHODS = {
    "base": "valid responses (status valid or flagged) that answered the question",
    "sd": "sample standard deviation (n - 1); null below 2 values",
    "quantiles": "linear interpolation between order statistics (numpy/pandas default)",
    "top2": "share choosing the two scale points with the highest scores",
    "option_test": "two-sided two-proportion z-test, pooled standard error, segment vs rest",
    "score_test": "Welch's two-sided t-test, segment vs rest",
    "letters": (
        "banner cross-tabs: each cell lists the letters of the columns of its banner entry it is "
        "significantly higher than; every pair of columns tested (proportions: two-proportion "
        "z-test, pooled; means: Welch's t-test), the pairs of one row corrected together by "
        "the questionnaire's correction, significant when the corrected p < significance"
    ),
    "low_base": "a column with fewer than 30 valid responses is flagged low_base",
}
LOW_BASE = 30
_EMPTY_GROUP: dict[str, Any] = {"n": 0, "cells": {}, "answered": {}, "score_sums": {}}


def tables_build(
    *, questionnaire_id: int, merged: dict[str, Any], validity: dict[str, Any]
) -> dict[str, Any]:
    """The results document of ``merged`` (see ``merge_partials``) and ``validity``.

    Raises ``DefinitionChanged`` when the definition changed since the partials were computed.
    """
    plan = analysis_plan(questionnaire_id=questionnaire_id)
    if merged.get("definition") is not None and merged["definition"] != plan.definition():
        raise DefinitionChanged(
            "the questionnaire's scores, segments or banner changed during the analysis"
        )
    labels = _Labels.load(plan)
    groups = merged.get("groups", {})
    tests = Letters.for_plan(plan)
    document = {
        "format": RESULTS_FORMAT,
        "questionnaire": {
            "id": plan.questionnaire.pk,
            "slug": plan.questionnaire.slug,
            "definition_version": plan.questionnaire.definition_version,
        },
        "significance": plan.significance,
        "correction": plan.correction,
        "methods": METHODS,
        "validity": validity,
        **_tables(plan, labels, groups, tests),
        "sections": _sections(plan),
        "problems": list(plan.problems),
    }
    if plan.weighted:
        document["weighted"] = _weighted_tables(plan, labels, groups, tests)
        unweighted = {table["code"]: table["total"] for table in document["questions"]}
        for table in document["weighted"]["questions"]:  # each base also in responses
            if "n" in unweighted[table["code"]]:
                table["total"]["responses"] = unweighted[table["code"]]["n"]
    return document


def _tables(
    plan: AnalysisPlan,
    labels: _Labels,
    groups: dict[str, Any],
    tests: Letters,
    rests: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The tables of ``groups``; ``rests`` gives each segment's rest when it cannot be
    formed by subtraction (effective counts are scaled group by group)."""
    overall = groups.get(ALL, _EMPTY_GROUP)
    columns = _banner_columns(plan, groups, overall, rests)
    return {
        "base": {"valid": overall["n"]},
        "banner": _banner_header(plan, labels, columns),
        "questions": [
            _question_table(question, labels, overall, columns, tests)
            for question in plan.structure.questions.values()
        ],
        "scores": [_score_table(score, overall, columns, tests) for score in plan.scores],
        "segments": _segment_sizes(plan, groups, overall["n"]),
        "comparisons": [
            _comparison(plan, segment.code, groups, overall, rests)
            for segment in plan.segments
            if segment.condition is not None
        ],
    }


# --- weighted tables ----------------------------------------------------------------------------

_EMPTY_WEIGHTED: dict[str, Any] = {**_EMPTY_GROUP, "n2": 0}


def _effective(raw: dict[str, Any]) -> dict[str, Any]:
    """A group's weighted sums as *effective* counts: each weighted count times Σw / Σw², so
    shares and means are the weighted ones and the group's total is Kish's effective sample
    size (Σw)² / Σw², the n its significance tests then use."""
    total = Fraction(raw.get("n", 0), WEIGHT_UNITS)
    squares = Fraction(raw.get("n2", 0), SQUARE_UNITS**2)
    if not total or not squares:
        return _EMPTY_GROUP
    # Exact (Fractions, as the unweighted tables' moments): weighted units → effective count.
    factor = total / squares / WEIGHT_UNITS

    def scaled(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: scaled(inner) for key, inner in value.items()}
        return value * factor

    return {
        "n": total * total / squares,
        "cells": scaled(raw.get("cells", {})),
        "answered": scaled(raw.get("answered", {})),
        "score_sums": scaled(raw.get("score_sums", {})),
    }


def _floats(value: Any) -> Any:
    """``value`` with every Fraction a float (JSON)."""
    if isinstance(value, dict):
        return {key: _floats(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_floats(inner) for inner in value]
    return float(value) if isinstance(value, Fraction) else value


_COUNTS = frozenset({"count", "n", "score_n", "mentions"})


def _ratio(raw: dict[str, Any]) -> Fraction:
    """Weighted count per effective count of a group: Σw² / Σw."""
    total = Fraction(raw.get("n", 0), WEIGHT_UNITS)
    squares = Fraction(raw.get("n2", 0), SQUARE_UNITS**2)
    return squares / total if total else Fraction(0)


def _weighted_counts(value: Any, ratio: Fraction) -> Any:
    """A column's effective counts as weighted counts; each base's effective size is kept
    beside it (``effective_n``), as the tests used it."""
    if isinstance(value, list):
        return [_weighted_counts(inner, ratio) for inner in value]
    if not isinstance(value, dict):
        return value
    result = {
        key: inner * ratio
        if key in _COUNTS and inner is not None
        else _weighted_counts(inner, ratio)
        for key, inner in value.items()
    }
    if "n" in value and value["n"] is not None:
        result["effective_n"] = value["n"]
    return result


def _weighted_tables(
    plan: AnalysisPlan, labels: _Labels, groups: dict[str, Any], tests: Letters
) -> dict[str, Any]:
    """The same tables with every response counted by its weight. The tables are built from
    effective counts (``_effective``: the tests then use Kish's effective sample size), then
    shown as weighted counts: a count or ``n`` is Σw, ``effective_n`` the size the test used,
    and each base also says how many responses it holds."""
    raw = {key: group["weighted"] for key, group in groups.items() if "weighted" in group}
    overall_raw = raw.get(ALL, _EMPTY_WEIGHTED)
    raw.update(
        {
            rest_key(s.code): _difference(
                overall_raw, raw.get(segment_group_key(s.code), _EMPTY_WEIGHTED)
            )
            for s in plan.segments
            if s.condition is not None
        }
    )
    effective = {key: _effective(group) for key, group in raw.items()}
    rests = {s.code: effective[rest_key(s.code)] for s in plan.segments if s.condition is not None}
    tables = _tables(plan, labels, effective, tests, rests)
    ratios = {key: _ratio(group) for key, group in raw.items()}
    everyone = ratios.get(ALL, Fraction(0))

    def responses(key: str) -> int:
        if key.startswith("rest:"):
            members = groups.get(segment_group_key(key.removeprefix("rest:")), _EMPTY_GROUP)
            return groups.get(ALL, _EMPTY_GROUP)["n"] - members["n"]
        return groups.get(key, _EMPTY_GROUP)["n"]

    for table in (*tables["questions"], *tables["scores"]):
        table["total"] = _weighted_counts(table["total"], everyone)
        table["by"] = {
            key: _weighted_counts(column, ratios.get(key, Fraction(0)))
            for key, column in table["by"].items()
        }
        if "histogram" in table:
            table["histogram"] = [
                {**cell, "count": cell["count"] * everyone} for cell in table["histogram"]
            ]
    for entry in tables["banner"]:
        for column in entry["columns"]:
            ratio = ratios.get(column["key"], Fraction(0))
            column["effective_n"] = column["n"]
            column["n"] = column["n"] * ratio
            column["responses"] = responses(column["key"])
    for size in tables["segments"]:
        key = segment_group_key(size["code"])
        size["effective_n"] = size["n"]
        size["n"] = size["n"] * ratios.get(key, Fraction(0))
        size["responses"] = responses(key)
        total = overall_raw.get("n", 0)
        size["share"] = raw.get(key, _EMPTY_WEIGHTED).get("n", 0) / total if total else None
    for comparison in tables["comparisons"]:
        code = comparison["segment"]
        sides = {
            "segment": ratios.get(segment_group_key(code), Fraction(0)),
            "rest": ratios.get(rest_key(code), Fraction(0)),
            "overall": everyone,
        }
        comparison["effective_n"], comparison["effective_rest_n"] = (
            comparison["n"],
            comparison["rest_n"],
        )
        comparison["n"] = comparison["n"] * sides["segment"]
        comparison["rest_n"] = comparison["rest_n"] * sides["rest"]
        for row in (*comparison["options"], *comparison["scores"]):
            for side, ratio in sides.items():
                row[side] = _weighted_counts(row[side], ratio)
    base = tables["base"]["valid"]
    tables["base"] = {
        "valid": base * everyone,
        "effective": base,
        "responses": groups.get(ALL, _EMPTY_GROUP)["n"],
    }
    tables = _floats(tables)
    tables["method"] = (
        "weighted by the latest run's raking weights: shares, means and counts are weighted "
        "(a count is the sum of the weights); the significance tests use Kish's effective "
        "sample size (Σw)²/Σw² of each column (effective_n)"
    )
    return tables


_WEIGHTED_COUNTS = frozenset({"count", "n", "score_n", "mentions", "rest_n"})


def _whole_counts(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _whole_counts(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_counts(v, key) for v in value]
    if key in _WEIGHTED_COUNTS and isinstance(value, float):
        return round(value)
    return value


def weighted_for_reading(document: dict[str, Any]) -> dict[str, Any]:
    """A results document showing its weighted tables (``document["weighted"]``), their
    weighted counts rounded to whole numbers for reading (shares and means are as computed;
    the effective sizes stay as they are)."""
    return {**document, **_whole_counts(document["weighted"])}


# --- labels and banner columns ----------------------------------------------------------------


@dataclass(frozen=True)
class _Labels:
    questions: dict[str, Any]
    options: dict[tuple[str, str], Any]
    items: dict[tuple[str, str], Any]

    @classmethod
    def load(cls, plan: AnalysisPlan) -> _Labels:
        questionnaire = plan.questionnaire
        return cls(
            questions=dict(
                Question.objects.filter(questionnaire=questionnaire).values_list("code", "label")
            ),
            options={
                (question, code): label
                for question, code, label in Option.objects.filter(
                    question__questionnaire=questionnaire
                ).values_list("question__code", "code", "label")
            },
            items={
                (question, code): label
                for question, code, label in Item.objects.filter(
                    question__questionnaire=questionnaire
                ).values_list("question__code", "code", "label")
            },
        )


def entry_keys(plan: AnalysisPlan, entry: BannerEntry) -> list[str]:
    """The column keys of one banner entry: one per option, or the segment and its rest."""
    if entry.kind == "question":
        question = plan.structure.questions[entry.code]
        return [banner_group_key(entry.code, code) for code in question.options]
    return [segment_group_key(entry.code), rest_key(entry.code)]


def column_letter(index: int) -> str:
    """A, B, …, Z, then A1, B1, … (the columns of one banner entry)."""
    letter = chr(ord("A") + index % 26)
    return letter if index < 26 else f"{letter}{index // 26}"


def _banner_columns(
    plan: AnalysisPlan,
    groups: dict[str, Any],
    overall: dict[str, Any],
    rests: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Column key → that column's group statistics, in banner order."""
    columns: dict[str, dict[str, Any]] = {}
    for entry in plan.banner:
        if entry.kind == "question":
            for key in entry_keys(plan, entry):
                columns[key] = groups.get(key, _EMPTY_GROUP)
        else:
            members = groups.get(segment_group_key(entry.code), _EMPTY_GROUP)
            columns[segment_group_key(entry.code)] = members
            columns[rest_key(entry.code)] = (
                rests[entry.code] if rests is not None else _difference(overall, members)
            )
    return columns


class Letters:
    """Marks columns with the significance letters of each row: a run's banner entries
    (``for_plan``), or any columns of a results document (the page's comparisons)."""

    def __init__(self, *, alpha: float, correction: str) -> None:
        self.alpha = alpha
        self.correction = correction
        self.entries: list[tuple[BannerEntry, list[str]]] = []

    @classmethod
    def for_plan(cls, plan: AnalysisPlan) -> Letters:
        letters = cls(alpha=plan.significance, correction=plan.correction)
        letters.entries = [(entry, entry_keys(plan, entry)) for entry in plan.banner]
        return letters

    def cut(self, question_code: str | None) -> Iterable[tuple[list[str], list[str]]]:
        """Each banner entry's column keys and letters, except the entry of the question
        itself (a banner never cuts its own question)."""
        for entry, keys in self.entries:
            if entry.kind == "question" and entry.code == question_code:
                continue
            yield keys, [column_letter(index) for index in range(len(keys))]

    def mark(self, cells: list[Proportion] | list[Mean], letters: list[str]) -> list[list[str]]:
        return column_letters(cells, letters=letters, alpha=self.alpha, correction=self.correction)

    def shares(self, shares: list[dict[str, Any]], bases: list[int], letters: list[str]) -> None:
        """Set ``letters`` on each column's share cell (count of base)."""
        cells = [
            Proportion(share["count"], base) for share, base in zip(shares, bases, strict=True)
        ]
        for share, found in zip(shares, self.mark(cells, letters), strict=True):
            share["letters"] = found

    def means(self, stats: list[dict[str, Any]], letters: list[str], n: str = "n") -> None:
        """Set ``mean_letters`` on each column's statistics (n, mean, sd)."""
        cells = [Mean(s[n], s["mean"], None if s["sd"] is None else s["sd"] ** 2) for s in stats]
        for column, found in zip(stats, self.mark(cells, letters), strict=True):
            column["mean_letters"] = found


def rest_key(segment_code: str) -> str:
    return f"rest:{segment_code}"


def _banner_header(
    plan: AnalysisPlan, labels: _Labels, columns: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    segment_labels = {s.code: s.label for s in plan.segments}
    header = []
    for entry in plan.banner:
        if entry.kind == "question":
            question = plan.structure.questions[entry.code]
            entry_columns: list[dict[str, Any]] = [
                {
                    "key": banner_group_key(entry.code, code),
                    "code": code,
                    "label": labels.options.get((entry.code, code), code),
                }
                for code in question.options
            ]
            label = labels.questions.get(entry.code, entry.code)
        else:
            label = segment_labels[entry.code]
            entry_columns = [
                {"key": segment_group_key(entry.code), "code": "members", "label": label},
                {"key": rest_key(entry.code), "code": "rest", "label": None},
            ]
        for index, column in enumerate(entry_columns):
            column["letter"] = column_letter(index)
            column["n"] = columns[column["key"]]["n"]
            column["low_base"] = column["n"] < LOW_BASE
        header.append(
            {"key": entry.key, "kind": entry.kind, "label": label, "columns": entry_columns}
        )
    return header


def _sections(plan: AnalysisPlan) -> list[dict[str, Any]]:
    """The questionnaire's sections in order: code, title and the codes of their questions."""
    sections: dict[str, dict[str, Any]] = {}
    for question in plan.structure.questions.values():
        code = question.section_code
        section = sections.setdefault(
            code,
            {"code": code, "title": plan.structure.section_titles.get(code, ""), "questions": []},
        )
        section["questions"].append(question.code)
    return list(sections.values())


def _difference(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """total − part, for nested dicts with integer leaves (the rest of a segment)."""
    result: dict[str, Any] = {}
    for key, value in total.items():
        other = part.get(key)
        if isinstance(value, dict):
            result[key] = _difference(value, other or {})
        else:
            result[key] = value - (other or 0)
    return result


# --- question tables --------------------------------------------------------------------------


def _question_table(
    question: QuestionDef,
    labels: _Labels,
    overall: dict[str, Any],
    columns: dict[str, dict[str, Any]],
    tests: Letters,
) -> dict[str, Any]:
    table: dict[str, Any] = {
        "code": question.code,
        "section": question.section_code,
        "type": question.type,
        "label": labels.questions.get(question.code, question.code),
    }
    if question.type in ("single", "multiple", "matrix"):
        points = "scale" if question.type == "matrix" else "options"
        table[points] = [
            {
                "code": option.code,
                "label": labels.options.get((question.code, option.code), option.code),
                "score": None if option.score is None else float(option.score),
                "other": option.is_other,
            }
            for option in question.options.values()
        ]
    if question.items:
        table["items"] = [
            {"code": item, "label": labels.items.get((question.code, item), item)}
            for item in question.items
        ]
    if question.type == "matrix":
        table["top2"] = top2_codes(question)
    table["total"] = question_column(question, overall)
    if question.type == "number":
        table["histogram"] = histogram(overall["cells"].get(question.code, {}).get("", {}))
    table["by"] = {}
    for keys, letters in tests.cut(question.code):
        cut = [question_column(question, columns[key]) for key in keys]
        mark_question(question, cut, letters, tests)
        table["by"].update(zip(keys, cut, strict=True))
    return table


def mark_question(
    question: Any, cut: list[dict[str, Any]], letters: list[str], tests: Letters
) -> None:
    """The significance letters of one banner entry's columns of a question's table.
    ``question`` needs ``type``, and ``options`` and ``items`` iterating their codes."""
    if question.type in ("single", "multiple"):
        bases = [column["n"] for column in cut]
        for code in question.options:
            tests.shares([column["options"][code] for column in cut], bases, letters)
        if "mean" in cut[0]:
            tests.means(cut, letters, n="score_n")
    elif question.type == "matrix":
        for item in question.items:
            stats = [column["items"][item] for column in cut]
            bases = [s["n"] for s in stats]
            for code in question.options:
                tests.shares([s["distribution"][code] for s in stats], bases, letters)
            if stats[0]["top2"] is not None:
                tests.shares([s["top2"] for s in stats], bases, letters)
            tests.means(stats, letters, n="score_n")
    elif question.type == "number":
        tests.means(cut, letters)
    elif question.type == "number_grid":
        for item in question.items:
            tests.means([column["items"][item] for column in cut], letters)


def question_column(question: QuestionDef, group: dict[str, Any]) -> dict[str, Any]:
    """One column of a question's table: the statistics of its type over ``group``."""
    cells = group["cells"].get(question.code, {})
    if question.type in ("single", "multiple"):
        return _choice_column(question, group, cells.get("", {}))
    if question.type == "matrix":
        top2 = top2_codes(question)
        return {
            "items": {
                item: _matrix_item(question, cells.get(item, {}), top2) for item in question.items
            }
        }
    if question.type == "number":
        return number_summary(cells.get("", {}))
    if question.type == "number_grid":
        return {"items": {item: number_summary(cells.get(item, {})) for item in question.items}}
    return {"n": sum(cells.get("", {}).values())}  # text: answered only


def _choice_column(
    question: QuestionDef, group: dict[str, Any], counts: dict[str, int]
) -> dict[str, Any]:
    if question.type == "single":
        answered = sum(counts.values())
    else:
        answered = group["answered"].get(question.code, 0)
    column: dict[str, Any] = {
        "n": answered,
        "options": {code: _share(counts.get(code, 0), answered) for code in question.options},
    }
    if question.type == "multiple":
        mentions = sum(counts.get(code, 0) for code in question.options)
        column["mentions"] = mentions
        for cell in column["options"].values():
            cell["mention_share"] = cell["count"] / mentions if mentions else None
    if question.type == "single" and any(o.score is not None for o in question.options.values()):
        moments = moments_of(_option_score_values(question, counts))
        column.update(score_n=moments["n"], mean=moments["mean"], sd=moments["sd"])
    return column


def _share(count: int, base: int) -> dict[str, Any]:
    return {"count": count, "share": count / base if base else None}


def top2_codes(question: QuestionDef) -> list[str]:
    """The two scale points with the highest scores (ties: the earlier point); [] unscored."""
    scored = [(o.score, -index, o.code) for index, o in enumerate(question.options.values())]
    scored = [entry for entry in scored if entry[0] is not None]
    return [code for _score, _index, code in sorted(scored, reverse=True)[:2]]


def _matrix_item(question: QuestionDef, counts: dict[str, int], top2: list[str]) -> dict[str, Any]:
    answered = sum(counts.values())
    scores = _option_score_values(question, counts)
    moments = moments_of(scores)
    return {
        "n": answered,
        "distribution": {code: _share(counts.get(code, 0), answered) for code in question.options},
        "top2": _share(sum(counts.get(code, 0) for code in top2), answered) if top2 else None,
        "score_n": moments["n"],
        "mean": moments["mean"],
        "sd": moments["sd"],
    }


def _option_score_values(
    question: QuestionDef, counts: dict[str, int]
) -> list[tuple[Fraction, int]]:
    return [
        (Fraction(option.score), counts[option.code])
        for option in question.options.values()
        if option.score is not None and counts.get(option.code)
    ]


# --- numbers: moments and quantiles from value histograms -------------------------------------


def moments_of(values: Iterable[tuple[Fraction, int]]) -> dict[str, Any]:
    """n, mean and sample sd (n − 1) of a histogram [(value, count)], exactly, then as floats.

    ``var`` (float) is included for the tests that use it.
    """
    n, total, squares = 0, Fraction(0), Fraction(0)
    for value, count in values:
        n += count
        total += value * count
        squares += value * value * count
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "var": None}
    mean = total / n
    variance = (squares - total * mean) / (n - 1) if n > 1 else None
    return {
        "n": n,
        "mean": float(mean),
        "sd": math.sqrt(variance) if variance is not None else None,
        "var": float(variance) if variance is not None else None,
    }


def number_summary(counts: dict[str, int]) -> dict[str, Any]:
    """n, mean, sd, min, quartiles (linear interpolation) and max of a number histogram."""
    values = sorted((Fraction(value), count) for value, count in counts.items() if count)
    moments = moments_of(values)
    summary = {"n": moments["n"], "mean": moments["mean"], "sd": moments["sd"]}
    for name, p in (("min", 0), ("q1", Fraction(1, 4)), ("median", Fraction(1, 2))):
        summary[name] = _quantile(values, moments["n"], p)
    for name, p in (("q3", Fraction(3, 4)), ("max", 1)):
        summary[name] = _quantile(values, moments["n"], p)
    return summary


def histogram(counts: dict[str, int], bins: int = 10) -> list[dict[str, Any]]:
    """Counts of a number's values in equal-width bins from its minimum to its maximum:
    ``[{low, high, count}]``, each bin [low, high) but the last [low, high]. Whole numbers
    spanning at most 20 values get one bin per value (low = high)."""
    values = sorted((Fraction(value), count) for value, count in counts.items() if count)
    if not values:
        return []
    low, high = values[0][0], values[-1][0]
    if all(v.denominator == 1 for v, _ in values) and high - low <= 20:
        per_value = dict(values)
        return [
            {"low": float(v), "high": float(v), "count": per_value.get(v, 0)}
            for v in (low + k for k in range(int(high - low) + 1))
        ]
    if low == high:
        return [{"low": float(low), "high": float(high), "count": sum(c for _, c in values)}]
    width = (high - low) / bins
    found = [0] * bins
    for value, count in values:
        found[min(int((value - low) / width), bins - 1)] += count
    return [
        {"low": float(low + k * width), "high": float(low + (k + 1) * width), "count": found[k]}
        for k in range(bins)
    ]


def _quantile(values: list[tuple[Fraction, int]], n: int, p: Fraction | int) -> float | None:
    """numpy's default ("linear"): position h = (n − 1)p between order statistics."""
    if n == 0:
        return None
    position = (n - 1) * Fraction(p)
    low = math.floor(position)
    low_value = _order_statistic(values, low)
    if position == low:
        return float(low_value)
    high_value = _order_statistic(values, low + 1)
    return float(low_value + (position - low) * (high_value - low_value))


def _order_statistic(values: list[tuple[Fraction, int]], index: int) -> Fraction:
    """The ``index``-th smallest value (0-based) of a sorted histogram."""
    seen = 0
    for value, count in values:
        seen += count
        if index < seen:
            return value
    raise IndexError(index)


# --- scores -----------------------------------------------------------------------------------


def score_values(score: ScoreDef, group: dict[str, Any]) -> list[tuple[Fraction, int]]:
    """The histogram of a derived score over ``group``: option scores of a single question,
    or each response's mean over its answered, scored matrix items."""
    question = score.question
    if question.type == "single":
        counts = group["cells"].get(question.code, {}).get("", {})
        return _option_score_values(question, counts)
    values = []
    for key, count in group["score_sums"].get(question.code, {}).items():
        scored, total = (int(part) for part in key.split(":"))
        if scored and count:
            values.append((Fraction(total, scored * SCORE_UNITS), count))
    return values


def score_summary(score: ScoreDef, group: dict[str, Any]) -> dict[str, Any]:
    moments = moments_of(score_values(score, group))
    return {"n": moments["n"], "mean": moments["mean"], "sd": moments["sd"]}


def _score_table(
    score: ScoreDef, overall: dict[str, Any], columns: dict[str, dict[str, Any]], tests: Letters
) -> dict[str, Any]:
    by: dict[str, Any] = {}
    for keys, letters in tests.cut(score.question.code):
        cut = [score_summary(score, columns[key]) for key in keys]
        tests.means(cut, letters)
        by.update(zip(keys, cut, strict=True))
    return {
        "code": score.code,
        "of": score.question.code,
        "label": score.label,
        "total": score_summary(score, overall),
        "by": by,
    }


# --- segments ---------------------------------------------------------------------------------


def _segment_sizes(plan: AnalysisPlan, groups: dict[str, Any], valid: int) -> list[dict]:
    sizes = []
    for segment in plan.segments:
        n = groups.get(segment_group_key(segment.code), _EMPTY_GROUP)["n"]
        sizes.append(
            {
                "code": segment.code,
                "label": segment.label,
                "rule": segment.rule,
                "computed": segment.condition is not None,
                "n": n,
                "share": n / valid if valid else None,
            }
        )
    return sizes


def _comparison(
    plan: AnalysisPlan,
    code: str,
    groups: dict[str, Any],
    overall: dict[str, Any],
    rests: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Segment vs the rest of the valid sample: option shares (z) and scores (Welch)."""
    members = groups.get(segment_group_key(code), _EMPTY_GROUP)
    rest = rests[code] if rests is not None else _difference(overall, members)
    alpha = plan.significance
    options = []
    for question in plan.structure.questions.values():
        if question.type not in ("single", "multiple"):
            continue
        sides = [question_column(question, g) for g in (members, rest, overall)]
        for option in question.options:
            seg, oth, allc = ({"n": s["n"], **s["options"][option]} for s in sides)
            test = two_proportion_z_test(x1=seg["count"], n1=seg["n"], x2=oth["count"], n2=oth["n"])
            options.append(
                {
                    "question": question.code,
                    "option": option,
                    "segment": seg,
                    "rest": oth,
                    "overall": allc,
                    "difference": _minus(seg["share"], oth["share"]),
                    **_test_fields(test, alpha, statistic="z"),
                }
            )
    return {
        "segment": code,
        "n": members["n"],
        "rest_n": rest["n"],
        "options": options,
        "scores": [_score_comparison(s, members, rest, overall, alpha) for s in plan.scores],
    }


def _score_comparison(
    score: ScoreDef,
    members: dict[str, Any],
    rest: dict[str, Any],
    overall: dict[str, Any],
    alpha: float,
) -> dict[str, Any]:
    seg, oth = moments_of(score_values(score, members)), moments_of(score_values(score, rest))
    test = welch_t_test(
        n1=seg["n"], mean1=seg["mean"] or 0.0, var1=seg["var"] or 0.0,
        n2=oth["n"], mean2=oth["mean"] or 0.0, var2=oth["var"] or 0.0,
    )  # fmt: skip
    return {
        "score": score.code,
        "segment": {key: seg[key] for key in ("n", "mean", "sd")},
        "rest": {key: oth[key] for key in ("n", "mean", "sd")},
        "overall": score_summary(score, overall),
        "difference": _minus(seg["mean"], oth["mean"]),
        **_test_fields(test, alpha, statistic="t"),
    }


def _test_fields(test: Any, alpha: float, *, statistic: str) -> dict[str, Any]:
    fields = {statistic: test.statistic, "p": test.p, "reason": test.reason}
    if statistic == "t":
        fields["df"] = test.df
    fields["significant"] = None if test.p is None else test.p < alpha
    return fields


def _minus(left: float | None, right: float | None) -> float | None:
    return None if left is None or right is None else left - right
