"""The analysis tables, checked number by number against an independent pandas/scipy computation.

The independent side reads only what was collected (``Response.answers`` JSON, durations,
timestamps, respondents, manual statuses) and the definition dict, recomputes validity itself
and every table kind straightforwardly with pandas, numpy and scipy, and never touches the
analysis SQL. Two questionnaires: the reference one, and a small hand-made one built for the
hard cases (optional and hidden questions, exclusive options, overlapping and empty
segments, banner groups of 0 and 1, option scores changed after collection, manual status
overrides, a duplicate that arrives before the original's timestamp).
"""

from __future__ import annotations

import copy
import math
import uuid
from datetime import timedelta
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from scipy import stats as scipy_stats
from statsmodels.stats import multitest
from statsmodels.stats.proportion import proportions_ztest

from analysis.services.aggregate import aggregate_chunk, chunk_bounds, merge_partials
from analysis.services.tables import tables_build
from survey.expressions import compile_expression, evaluate
from survey.interchange import load_definition
from survey.models import Response
from survey.services.identity import Identity
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from survey.services.responses import response_submit
from survey.services.review import response_set_status
from survey.services.validity import validity_recompute
from tests.analysis.generate import HARD_CASES, generate_responses
from tests.conftest import EXAMPLE_DEFINITION

REL = 1e-9
REASON_FLAGS = {
    "speeder": "speeder",
    "attention": "attention_failed",
    "duplicate": "duplicate",
    "straightlining": "straightlined",
}


# --- collecting the data through the services ---------------------------------------------


def _reviewer():
    return get_user_model().objects.create_user(username="reviewer", password="x")


def _override_some_statuses(questionnaire, count: int) -> None:
    """A person overrides a few statuses: invalid → valid and valid → invalid."""
    reviewer = _reviewer()
    responses = Response.objects.filter(questionnaire=questionnaire).order_by("id")
    invalid = list(responses.filter(status=Response.Status.INVALID)[:count])
    valid = list(responses.exclude(status=Response.Status.INVALID)[:count])
    for response in invalid:
        response_set_status(response=response, status="valid", reason="checked", user=reviewer)
    for response in valid:
        response_set_status(response=response, status="invalid", reason="fake", user=reviewer)


def _duplicate_before_original(questionnaire, answers: dict[str, Any]) -> tuple[int, int]:
    """One respondent submits twice; the second carries the earlier timestamp."""
    when = Response.objects.filter(questionnaire=questionnaire).order_by("submitted_at").first()
    later = when.submitted_at + timedelta(days=2)
    ids = []
    for submitted_at in (later, later - timedelta(hours=5)):
        ids.append(
            response_submit(
                questionnaire=questionnaire,
                answers=answers,
                submission_id=uuid.uuid4(),
                channel=Response.Channel.API,
                identity=Identity(kind="device", raw="twice"),
                started_at=submitted_at - timedelta(minutes=9),
                submitted_at=submitted_at,
            ).response.pk
        )
    return ids[0], ids[1]


def _rescore(definition: dict, changes: dict[tuple[str, str], float | None]) -> dict:
    """The definition with some option scores changed (question code, option code → score)."""
    changed = copy.deepcopy(definition)
    for section in changed["sections"]:
        for question in section["questions"]:
            for option in question.get("options", []) + question.get("scale", []):
                key = (question["code"], str(option["code"]))
                if key in changes:
                    if changes[key] is None:
                        option.pop("score", None)
                    else:
                        option["score"] = changes[key]
    return changed


def _analyse(questionnaire, chunks: int) -> tuple[dict, dict]:
    validity = validity_recompute(questionnaire=questionnaire)
    bounds = chunk_bounds(questionnaire_id=questionnaire.pk, chunks=chunks)
    partials = [
        aggregate_chunk(questionnaire_id=questionnaire.pk, low_id=low, high_id=high)
        for low, high in bounds
    ]
    merged = merge_partials(partials)
    return validity, tables_build(
        questionnaire_id=questionnaire.pk, merged=merged, validity=validity
    )


# --- the independent computation -----------------------------------------------------------


def _questions(definition: dict) -> list[dict]:
    return [q for section in definition["sections"] for q in section["questions"]]


def _points(question: dict) -> list[dict]:
    return question.get("scale") or question.get("options") or []


def _scores(question: dict) -> dict[str, float]:
    return {str(o["code"]): float(o["score"]) for o in _points(question) if "score" in o}


def export_frame(questionnaire) -> pd.DataFrame:
    rows = Response.objects.filter(questionnaire=questionnaire).values(
        "id",
        "answers",
        "status",
        "manual_status",
        "duration_seconds",
        "submitted_at",
        "respondent_id",
        *REASON_FLAGS.values(),
    )
    return pd.DataFrame.from_records(list(rows)).set_index("id").sort_index()


def expected_validity(frame: pd.DataFrame, definition: dict) -> pd.DataFrame:
    """Flags and statuses recomputed from the collected data alone."""
    rules = definition.get("validity", {})
    answers = frame["answers"]
    flags = pd.DataFrame(index=frame.index)
    durations = frame["duration_seconds"].astype(float)
    median = durations.dropna().median()
    if "speeder" in rules:
        fraction = rules["speeder"]["below_fraction_of_median"]
        flags["speeder"] = (durations < fraction * median).fillna(False)
    else:
        flags["speeder"] = False
    flags["attention_failed"] = False
    if "attention" in rules:
        for question in _questions(definition):
            if "attention_check" not in question:
                continue
            code, expect = question["code"], str(question["attention_check"]["expect"])
            hideable = bool(question.get("show_if"))
            failed = answers.map(
                lambda a, c=code, e=expect, h=hideable: (
                    (c in a and str(a[c]) != e) or (c not in a and not h)
                )
            )
            flags["attention_failed"] |= failed
    flags["straightlined"] = False
    if "straightlining" in rules:
        minimum = rules["straightlining"].get("min_items", 2)
        for question in _questions(definition):
            items = question.get("items", [])
            if not question.get("straightlining_check") or len(items) < minimum:
                continue
            size = len(items)
            flags["straightlined"] |= answers.map(
                lambda a, c=question["code"], k=size: (
                    isinstance(a.get(c), dict)
                    and len(a[c]) == k
                    and len({str(v) for v in a[c].values()}) == 1
                )
            )
    flags["duplicate"] = False
    if definition.get("settings", {}).get("one_response_per") == "respondent":
        known = frame[frame["respondent_id"].notna()].reset_index()
        known = known.sort_values(["submitted_at", "id"])
        later = known.groupby("respondent_id").cumcount() > 0
        flags.loc[known.loc[later, "id"], "duplicate"] = True
    flags["status"] = [
        _status(rules, flags.loc[i], frame.at[i, "manual_status"]) for i in frame.index
    ]
    return flags


def _status(rules: dict, flags: pd.Series, manual: str) -> str:
    if manual:
        return manual
    actions = {
        rules[kind]["action"] for kind, f in REASON_FLAGS.items() if kind in rules and flags[f]
    }
    if "invalidate" in actions:
        return "invalid"
    return "flagged" if "flag" in actions else "valid"


def _answer(answers: pd.Series, code: str, item: str | None = None) -> pd.Series:
    def read(a: dict) -> Any:
        value = a.get(code)
        if item is not None:
            value = value.get(item) if isinstance(value, dict) else None
        return value

    # dtype=object: a numeric inference would turn option code 1 into 1.0.
    values = pd.Series([read(a) for a in answers], index=answers.index, dtype=object)
    return values[values.notna()]


def _share(count: int, n: int) -> dict:
    return {"count": int(count), "share": count / n if n else None}


def _moments(values: pd.Series) -> dict:
    values = values.astype(float)
    n = len(values)
    return {
        "n": n,
        "mean": values.mean() if n else None,
        "sd": values.std(ddof=1) if n > 1 else None,
    }


def expected_column(question: dict, answers: pd.Series) -> dict:
    """One column of a question's table, straight from the answers JSON."""
    code, kind = question["code"], question["type"]
    codes = [str(o["code"]) for o in _points(question)]
    if kind == "single":
        chosen = _answer(answers, code).map(str)
        counts = chosen.value_counts()
        column = {
            "n": len(chosen),
            "options": {c: _share(counts.get(c, 0), len(chosen)) for c in codes},
        }
        if _scores(question):  # a scored single choice has its mean score
            moments = _moments(score_series(question, answers))
            column.update(score_n=moments["n"], mean=moments["mean"], sd=moments["sd"])
        return column
    if kind == "multiple":
        chosen = _answer(answers, code).map(lambda v: [str(x) for x in v])
        counts = chosen.explode().value_counts()
        return {
            "n": len(chosen),
            "options": {c: _share(counts.get(c, 0), len(chosen)) for c in codes},
        }
    if kind == "matrix":
        return {
            "items": {
                str(i["code"]): _matrix_item(question, answers, str(i["code"]))
                for i in question["items"]
            }
        }
    if kind == "number":
        return _number(_answer(answers, code))
    if kind == "number_grid":
        return {
            "items": {
                str(i["code"]): _number(_answer(answers, code, str(i["code"])))
                for i in question["items"]
            }
        }
    return {"n": len(_answer(answers, code))}


def _top2(question: dict) -> list[str]:
    scored = [
        (float(o["score"]), -k, str(o["code"]))
        for k, o in enumerate(_points(question))
        if "score" in o
    ]
    return [c for _s, _k, c in sorted(scored, reverse=True)[:2]]


def _matrix_item(question: dict, answers: pd.Series, item: str) -> dict:
    chosen = _answer(answers, question["code"], item).map(str)
    counts = chosen.value_counts()
    n = len(chosen)
    scores = chosen.map(_scores(question)).dropna()
    top2 = _top2(question)
    moments = _moments(scores)
    return {
        "n": n,
        "distribution": {
            str(o["code"]): _share(counts.get(str(o["code"]), 0), n) for o in _points(question)
        },
        "top2": _share(chosen.isin(top2).sum(), n) if top2 else None,
        "score_n": moments["n"],
        "mean": moments["mean"],
        "sd": moments["sd"],
    }


def _number(values: pd.Series) -> dict:
    values = values.astype(float)
    summary = _moments(values)
    for name, p in (("min", 0), ("q1", 0.25), ("median", 0.5), ("q3", 0.75), ("max", 1)):
        summary[name] = (
            float(np.percentile(values, p * 100, method="linear")) if len(values) else None
        )
    return summary


def score_series(question: dict, answers: pd.Series) -> pd.Series:
    """Each response's score: the option's score, or the mean of its scored matrix items."""
    scores = _scores(question)
    if question["type"] == "single":
        return _answer(answers, question["code"]).map(lambda v: scores.get(str(v))).dropna()

    def mean(cells: dict) -> float | None:
        values = [scores[str(v)] for v in cells.values() if str(v) in scores]
        return sum(values) / len(values) if values else None

    return _answer(answers, question["code"]).map(mean).dropna()


def expected_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    if n1 == 0 or n2 == 0 or x1 + x2 in (0, n1 + n2):
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, 2 * scipy_stats.norm.sf(abs(z))


def expected_welch(a: pd.Series, b: pd.Series) -> tuple[float | None, float | None, float | None]:
    if len(a) < 2 or len(b) < 2 or (a.var(ddof=1) == 0 and b.var(ddof=1) == 0):
        return None, None, None
    result = scipy_stats.ttest_ind(a.astype(float), b.astype(float), equal_var=False)
    return float(result.statistic), float(result.pvalue), float(result.df)


# --- comparing --------------------------------------------------------------------------------


def assert_matches(actual: Any, expected: Any, path: str = "") -> None:
    """Every number in ``expected`` equals ``actual`` (floats to 1e-9; None is NaN)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a dict, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_matches(actual[key], value, f"{path}.{key}")
        return
    missing = expected is None or (isinstance(expected, float) and math.isnan(expected))
    if missing:
        assert actual is None, f"{path}: expected None, got {actual!r}"
    elif isinstance(expected, bool | str):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    else:
        assert actual is not None, f"{path}: got None, expected {expected!r}"
        assert math.isclose(actual, float(expected), rel_tol=REL, abs_tol=1e-12), (
            f"{path}: {actual!r} != {expected!r}"
        )


def check_everything(doc: dict, validity: dict, frame: pd.DataFrame, definition: dict) -> set[str]:
    """Compare every table kind; return the kinds compared."""
    kinds: set[str] = set()
    expected = expected_validity(frame, definition)
    for column in ["status", *REASON_FLAGS.values()]:
        assert (frame[column] == expected[column]).all(), f"validity {column} differs"
    statuses = expected["status"]
    assert validity["collected"] == len(frame)
    assert validity["valid"] == int((statuses != "invalid").sum())
    assert validity["flagged"] == int((statuses == "flagged").sum())
    assert validity["invalid"] == int((statuses == "invalid").sum())
    for kind, flag in REASON_FLAGS.items():
        assert validity["invalid_by_reason"][kind] == int(
            ((statuses == "invalid") & expected[flag]).sum()
        )
    assert_matches(validity["valid_rate"], (statuses != "invalid").mean())
    assert_matches(validity["median_duration"], frame["duration_seconds"].dropna().median())
    kinds.add("validity")

    valid = frame.loc[statuses != "invalid", "answers"]
    assert doc["base"]["valid"] == len(valid)
    columns = expected_banner_columns(definition, valid)
    for question, table in zip(_questions(definition), doc["questions"], strict=True):
        assert table["code"] == question["code"]
        assert_matches(
            table["total"], expected_column(question, valid), f"{question['code']}.total"
        )
        for key, members in columns.items():
            if key.startswith(f"{question['code']}="):
                assert key not in table["by"], "a banner never cuts its own question"
                continue
            assert_matches(
                table["by"][key], expected_column(question, members), f"{question['code']}.{key}"
            )
        kinds |= {question["type"], "crosstab"}
        kinds |= check_letters(table, question, definition, valid)
        if question["type"] == "matrix":
            assert table["top2"] == _top2(question)
    by_code = {q["code"]: q for q in _questions(definition)}
    for score, table in zip(definition.get("scores", []), doc["scores"], strict=True):
        question = by_code[score["of"]]
        assert_matches(table["total"], _moments(score_series(question, valid)), score["code"])
        for key, members in columns.items():
            if key.startswith(f"{question['code']}="):
                continue
            assert_matches(
                table["by"][key],
                _moments(score_series(question, members)),
                f"{score['code']}.{key}",
            )
        for entry in banner_entries(definition, valid):
            if entry[0][0].startswith(f"{question['code']}="):
                continue
            series = [score_series(question, members) for _, members in entry]
            got = ["".join(table["by"][key]["mean_letters"]) for key, _ in entry]
            assert got == expected_letters(series, _welch_pair), f"{score['code']} letters"
        kinds.add("score")
    kinds |= check_segments(doc, definition, valid)
    return kinds


def banner_entries(definition: dict, valid: pd.Series) -> list[list[tuple[str, pd.Series]]]:
    """Each banner entry's columns, as (key, answers) in column order."""
    columns = expected_banner_columns(definition, valid)
    entries: list[list[tuple[str, pd.Series]]] = []
    for entry in definition.get("analysis", {}).get("banner", []):
        prefix = f"{entry}=" if not entry.startswith("segment:") else None
        if prefix is None:
            code = entry.removeprefix("segment:")
            keys = [entry, f"rest:{code}"]
        else:
            keys = [key for key in columns if key.startswith(prefix)]
        entries.append([(key, columns[key]) for key in keys])
    return entries


def expected_letters(cells: list[Any], test) -> list[str]:
    """Letters by the book: every pair tested, Holm over the row's pairs (statsmodels)."""
    pairs, statistics, p_values = [], [], []
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            result = test(cells[i], cells[j])
            if result is not None:
                pairs.append((i, j))
                statistics.append(result[0])
                p_values.append(result[1])
    found: list[list[str]] = [[] for _ in cells]
    if not pairs:
        return ["" for _ in cells]
    corrected = _holm(p_values)
    for (i, j), statistic, p in zip(pairs, statistics, corrected, strict=True):
        if p < 0.05:
            higher, lower = (i, j) if statistic > 0 else (j, i)
            found[higher].append(chr(ord("A") + lower))
    return ["".join(sorted(letters)) for letters in found]


def _holm(p_values: list[float]) -> list[float]:
    """statsmodels' Holm, without the ``gc.collect()`` it runs on every call (83 ms each in
    this process, 850 families here): the numbers are statsmodels' own."""
    with mock.patch("gc.collect", lambda *args: 0):
        return list(multitest.multipletests(p_values, method="holm")[1])


def _z_pair(a: tuple[int, int], b: tuple[int, int]) -> tuple[float, float] | None:
    (x1, n1), (x2, n2) = a, b
    if n1 == 0 or n2 == 0 or x1 + x2 in (0, n1 + n2):
        return None
    z, p = proportions_ztest([x1, x2], [n1, n2])
    return float(z), float(p)


def _welch_pair(a: pd.Series, b: pd.Series) -> tuple[float, float] | None:
    statistic, p, _df = expected_welch(a, b)
    return None if statistic is None else (statistic, p)


def check_letters(table: dict, question: dict, definition: dict, valid: pd.Series) -> set[str]:
    """The significance letters of a single or multiple question's cross-tabs (shares, and
    the mean of a scored single), from statsmodels' z-test and Holm and scipy's Welch."""
    if question["type"] not in ("single", "multiple"):
        return set()
    code = question["code"]
    for entry in banner_entries(definition, valid):
        if entry[0][0].startswith(f"{code}="):
            continue
        keys = [key for key, _ in entry]
        expected = {key: expected_column(question, members) for key, members in entry}
        for option in _points(question):
            option_code = str(option["code"])
            cells = [
                (expected[key]["options"][option_code]["count"], expected[key]["n"]) for key in keys
            ]
            got = ["".join(table["by"][key]["options"][option_code]["letters"]) for key in keys]
            assert got == expected_letters(cells, _z_pair), f"{code}={option_code} by {keys}"
        if question["type"] == "single" and _scores(question):
            series = [score_series(question, members) for _, members in entry]
            got = ["".join(table["by"][key]["mean_letters"]) for key in keys]
            assert got == expected_letters(series, _welch_pair), f"{code} mean by {keys}"
    return {"letters"}


def _members(definition: dict, rule: str, answers: pd.Series) -> pd.Series:
    expr = compile_expression(rule)
    return answers.map(lambda a: evaluate(expr, a)).astype(bool)


def expected_banner_columns(definition: dict, valid: pd.Series) -> dict[str, pd.Series]:
    rules = {s["code"]: s["rule"] for s in definition.get("segments", [])}
    by_code = {q["code"]: q for q in _questions(definition)}
    columns: dict[str, pd.Series] = {}
    for entry in definition.get("analysis", {}).get("banner", []):
        if entry.startswith("segment:"):
            code = entry.removeprefix("segment:")
            member = _members(definition, rules[code], valid)
            columns[entry] = valid[member]
            columns[f"rest:{code}"] = valid[~member]
        else:
            chosen = valid.map(lambda a, c=entry: str(a[c]) if c in a else None)
            for option in by_code[entry]["options"]:
                columns[f"{entry}={option['code']}"] = valid[chosen == str(option["code"])]
    return columns


def check_segments(doc: dict, definition: dict, valid: pd.Series) -> set[str]:
    alpha = definition.get("analysis", {}).get("significance", 0.05)
    by_code = {q["code"]: q for q in _questions(definition)}
    for segment, size, comparison in zip(
        definition.get("segments", []), doc["segments"], doc["comparisons"], strict=True
    ):
        member = _members(definition, segment["rule"], valid)
        assert size["code"] == comparison["segment"] == segment["code"]
        assert_matches(
            size, {"n": int(member.sum()), "share": member.mean() if len(valid) else None}
        )
        inside, rest = valid[member], valid[~member]
        entries = iter(comparison["options"])
        for question in _questions(definition):
            if question["type"] not in ("single", "multiple"):
                continue
            seg, oth, allc = (expected_column(question, a) for a in (inside, rest, valid))
            for option in question["options"]:
                code, entry = str(option["code"]), next(entries)
                assert (entry["question"], entry["option"]) == (question["code"], code)
                x1, n1 = seg["options"][code]["count"], seg["n"]
                x2, n2 = oth["options"][code]["count"], oth["n"]
                z, p = expected_z(x1, n1, x2, n2)
                where = f"{segment['code']}:{question['code']}={code}"
                assert_matches(entry, {
                    "segment": {"n": n1, **seg["options"][code]},
                    "rest": {"n": n2, **oth["options"][code]},
                    "overall": {"n": allc["n"], **allc["options"][code]},
                    "z": z, "p": p,
                    "significant": None if p is None else bool(p < alpha),
                }, where)  # fmt: skip
                assert (entry["reason"] is None) == (p is not None), where
        assert next(entries, None) is None
        for score, entry in zip(definition.get("scores", []), comparison["scores"], strict=True):
            question = by_code[score["of"]]
            a, b = score_series(question, inside), score_series(question, rest)
            t, p, df = expected_welch(a, b)
            where = f"{segment['code']}:{score['code']}"
            assert_matches(entry, {
                "segment": _moments(a), "rest": _moments(b),
                "overall": _moments(score_series(question, valid)),
                "t": t, "p": p, "df": df,
                "significant": None if p is None else bool(p < alpha),
            }, where)  # fmt: skip
            assert (entry["reason"] is None) == (p is not None), where
    return {"segment_size", "option_test", "score_test"}


ALL_KINDS = {
    "validity", "single", "multiple", "matrix", "number", "number_grid", "text", "score",
    "crosstab", "segment_size", "option_test", "score_test", "letters",
}  # fmt: skip


# --- the tests --------------------------------------------------------------------------------


def test_reference_questionnaire_tables_match_pandas(ipb):
    definition = load_definition(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))
    generate_responses(questionnaire=ipb, count=300, seed=2024)
    sample = Response.objects.filter(questionnaire=ipb, status="valid").first().answers
    _duplicate_before_original(ipb, sample)
    validity_recompute(questionnaire=ipb)
    _override_some_statuses(ipb, 4)
    rescored = _rescore(definition, {("Q3", "1"): 4.5, ("Q5", "1"): 3.25, ("Q5", "4"): None})
    questionnaire_import(definition=rescored, replace=True)

    validity, doc = _analyse(ipb, chunks=3)

    frame = export_frame(ipb)
    # The reference questionnaire has no plain number question (the hand-made one has).
    assert check_everything(doc, validity, frame, rescored) == ALL_KINDS - {"number"}


@pytest.fixture
def hard_cases(db):
    questionnaire = questionnaire_import(definition=copy.deepcopy(HARD_CASES))
    return questionnaire_publish(questionnaire=questionnaire)


def test_hard_cases_questionnaire_tables_match_pandas(hard_cases):
    generate_responses(questionnaire=hard_cases, count=240, seed=99, only={"tier": [1, 2]})
    sample = dict(Response.objects.filter(questionnaire=hard_cases, status="valid").first().answers)
    first, second = _duplicate_before_original(hard_cases, sample)
    # The one respondent of tier 3 (banner column of 1, segment of 1); nobody chooses tier 4.
    solo = {k: v for k, v in sample.items() if k not in ("worry", "worry.other")}
    response_submit(
        questionnaire=hard_cases,
        answers={**solo, "tier": 3},
        submission_id=uuid.uuid4(),
        channel=Response.Channel.API,
        identity=Identity(kind="device", raw="solo"),
        started_at=sample_time(hard_cases) - timedelta(minutes=10),
        submitted_at=sample_time(hard_cases),
    )
    validity_recompute(questionnaire=hard_cases)
    _override_some_statuses(hard_cases, 3)
    rescored = _rescore(
        HARD_CASES,
        {("tier", "2"): 2.25, ("rate", "3"): 0, ("rate", "9"): 0.5, ("opt_rate", "2"): None},
    )
    questionnaire_import(definition=copy.deepcopy(rescored), replace=True)

    validity, doc = _analyse(hard_cases, chunks=2)

    frame = export_frame(hard_cases)
    assert frame.at[first, "duplicate"] and not frame.at[second, "duplicate"]
    assert check_everything(doc, validity, frame, rescored) == ALL_KINDS
    sizes = {s["code"]: s["n"] for s in doc["segments"]}
    assert sizes["nobody"] == 0 and sizes["solo"] == 1
    assert doc["banner"][0]["columns"][2]["n"] == 1 and doc["banner"][0]["columns"][3]["n"] == 0
    solo_scores = {e["score"]: e for e in doc["comparisons"][2]["scores"]}
    assert solo_scores["tier_score"]["reason"] == "too_few"
    nobody_options = doc["comparisons"][3]["options"]
    assert {e["reason"] for e in nobody_options} == {"empty_group"}


def sample_time(questionnaire):
    return (
        Response.objects.filter(questionnaire=questionnaire)
        .order_by("-submitted_at")
        .first()
        .submitted_at
    )
