"""tables_build on small data whose every figure is worked out by hand."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from analysis.services.aggregate import aggregate_chunk, chunk_bounds, merge_partials
from analysis.services.tables import number_summary, tables_build
from survey.models import Option, Questionnaire, Response
from survey.services.identity import Identity
from survey.services.responses import response_submit
from survey.services.validity import validity_recompute
from tests.survey.answers import complete_answers

START = timezone.now() - timedelta(days=1)


def submit(questionnaire, **overrides) -> Response:
    """A response to the reference questionnaire, ten minutes long, from a new respondent."""
    at = START + timedelta(minutes=Response.objects.count())
    answers = complete_answers(**overrides)
    return response_submit(
        questionnaire=questionnaire,
        answers={k: v for k, v in answers.items() if v is not None},
        submission_id=uuid.uuid4(),
        channel=Response.Channel.API,
        identity=Identity(kind="device", raw=str(uuid.uuid4())),
        started_at=at - timedelta(minutes=10),
        submitted_at=at,
    ).response


def analyse(questionnaire: Questionnaire, chunks: int = 2) -> dict:
    validity = validity_recompute(questionnaire=questionnaire)
    partials = [
        aggregate_chunk(questionnaire_id=questionnaire.pk, low_id=low, high_id=high)
        for low, high in chunk_bounds(questionnaire_id=questionnaire.pk, chunks=chunks)
    ]
    doc = tables_build(
        questionnaire_id=questionnaire.pk, merged=merge_partials(partials), validity=validity
    )
    json.dumps(doc, allow_nan=False)  # no NaN or infinity anywhere
    return doc


def table(doc: dict, code: str) -> dict:
    return next(t for t in doc["questions"] if t["code"] == code)


def score(doc: dict, code: str) -> dict:
    return next(s for s in doc["scores"] if s["code"] == code)


def test_a_single_questions_shares_are_over_the_valid_responses_that_answered(ipb):
    submit(ipb, D1=1)
    submit(ipb, D1=1)
    submit(ipb, D1=2)
    submit(ipb, D1=2, Q17=4)  # fails the attention check: invalid, not counted
    total = table(analyse(ipb), "D1")["total"]
    assert total["n"] == 3
    assert total["options"]["1"] == {"count": 2, "share": 2 / 3}
    assert total["options"]["2"] == {"count": 1, "share": 1 / 3}


def test_multiple_choice_shares_are_over_those_who_answered_and_may_add_past_one(ipb):
    submit(ipb, Q9=[1, 2])
    submit(ipb, Q9=[1])
    submit(ipb, Q9=[7])  # the exclusive "no concerns"
    options = table(analyse(ipb), "Q9")["total"]["options"]
    assert options["1"]["share"] == 2 / 3 and options["2"]["share"] == 1 / 3
    assert options["7"]["share"] == 1 / 3
    assert sum(o["share"] for o in options.values()) > 1
    # % of mentions: each option's share of the 4 choices made
    assert options["1"]["mention_share"] == 2 / 4 and options["7"]["mention_share"] == 1 / 4
    assert sum(o["mention_share"] for o in options.values()) == pytest.approx(1)


def test_matrix_items_have_distribution_top_two_box_mean_and_sample_sd(ipb):
    for point in (1, 2, 3, 4):  # scores 4, 3, 2, 1
        submit(ipb, Q6={"a": point, "b": 1, "c": 2, "d": 2, "e": 3, "f": 2})
    doc = analyse(ipb)
    q6 = table(doc, "Q6")
    item = q6["total"]["items"]["a"]
    assert q6["top2"] == ["1", "2"]
    assert item["n"] == 4 and item["distribution"]["3"] == {"count": 1, "share": 0.25}
    assert item["top2"] == {"count": 2, "share": 0.5}
    assert item["mean"] == 2.5
    assert item["sd"] == pytest.approx((5 / 3) ** 0.5, rel=1e-12)
    assert q6["total"]["items"]["b"]["sd"] == 0.0


def test_numbers_have_quartiles_by_linear_interpolation():
    summary = number_summary({"1": 1, "2": 1, "3": 1, "4": 1})
    assert (summary["min"], summary["q1"], summary["median"]) == (1.0, 1.75, 2.5)
    assert (summary["q3"], summary["max"], summary["mean"]) == (3.25, 4.0, 2.5)
    assert number_summary({"0.5": 2, "7": 1}) == {
        "n": 3,
        "mean": 8 / 3,
        "sd": pytest.approx(3.752776749732568, rel=1e-12),
        "min": 0.5,
        "q1": 0.5,
        "median": 0.5,
        "q3": 3.75,
        "max": 7.0,
    }
    assert number_summary({})["median"] is None


def test_a_number_grid_summarises_each_item(ipb):
    for a in (1, 2, 3, 4):
        submit(ipb, Q2={"a": a, "b": 10, "c": 0, "d": 5})
    items = table(analyse(ipb), "Q2")["total"]["items"]
    assert (items["a"]["q1"], items["a"]["median"], items["a"]["q3"]) == (1.75, 2.5, 3.25)
    assert items["b"] == {
        "n": 4, "mean": 10.0, "sd": 0.0, "min": 10.0, "q1": 10.0, "median": 10.0,
        "q3": 10.0, "max": 10.0,
    }  # fmt: skip


def test_derived_scores_use_the_option_scores_of_now_not_of_collection(ipb):
    submit(ipb, Q3=1, Q5={"a": 1, "b": 1, "c": 2, "d": 2, "e": 4})  # Q5 mean (4+4+3+3+1)/5
    submit(ipb, Q3=2, Q5={"a": 2, "b": 2, "c": 2, "d": 2, "e": 3})  # (3*4+2)/5
    option = Option.objects.get(question__questionnaire=ipb, question__code="Q3", code="1")
    option.score = 10
    option.save()
    doc = analyse(ipb)
    assert score(doc, "usage_effect")["total"] == {
        "n": 2, "mean": 7.0, "sd": pytest.approx(4.242640687119285, rel=1e-12)
    }  # fmt: skip
    assert score(doc, "app_satisfaction")["total"]["mean"] == pytest.approx((3.0 + 2.8) / 2)


def test_an_unscored_scale_point_counts_in_the_distribution_but_not_in_scores(ipb):
    Option.objects.filter(question__questionnaire=ipb, question__code="Q5", code="4").update(
        score=None
    )
    submit(ipb, Q5={"a": 4, "b": 4, "c": 4, "d": 4, "e": 1})
    submit(ipb, Q5={"a": 4, "b": 1, "c": 1, "d": 1, "e": 1})
    doc = analyse(ipb)
    item = table(doc, "Q5")["total"]["items"]["a"]
    assert item["n"] == 2 and item["score_n"] == 0 and item["mean"] is None
    assert item["distribution"]["4"]["count"] == 2
    assert score(doc, "app_satisfaction")["total"] == {"n": 2, "mean": 4.0, "sd": 0.0}


def test_text_questions_count_answers_only(ipb):
    submit(ipb, Q18="更快")
    submit(ipb)
    q18 = table(analyse(ipb), "Q18")
    assert q18["total"] == {"n": 1}


def test_a_segment_banner_has_a_members_and_a_rest_column(ipb):
    active = {"a": 5, "b": 5, "c": 5, "d": 5}
    submit(ipb, Q2=active, Q3=1)
    submit(ipb, Q2=active, Q3=1)
    submit(ipb, Q2={"a": 0, "b": 0, "c": 0, "d": 0}, Q3=3)
    doc = analyse(ipb)
    header = next(b for b in doc["banner"] if b["key"] == "segment:active")
    assert [(c["key"], c["n"]) for c in header["columns"]] == [
        ("segment:active", 2),
        ("rest:active", 1),
    ]
    q3 = table(doc, "Q3")["by"]
    assert q3["segment:active"]["options"]["1"]["share"] == 1.0
    assert q3["rest:active"]["options"]["3"]["share"] == 1.0
    assert score(doc, "usage_effect")["by"]["rest:active"]["mean"] == 3.0
    assert table(doc, "D1")["by"]["D2=3"]["n"] == 3


def test_segment_sizes_are_shares_of_the_valid_sample(ipb):
    submit(ipb, Q14=3)
    submit(ipb, Q14=1)
    submit(ipb, Q14=1)
    submit(ipb, Q14=4, Q17=1)  # invalid
    sizes = {s["code"]: s for s in analyse(ipb)["segments"]}
    assert (sizes["trend_sceptic"]["n"], sizes["trend_sceptic"]["share"]) == (1, 1 / 3)


def test_comparisons_test_the_segment_against_the_rest_at_the_questionnaires_level(ipb):
    Questionnaire.objects.filter(pk=ipb.pk).update(significance="0.5")
    for q14, d1 in [(3, 1), (4, 1), (3, 1), (1, 2), (2, 2), (1, 1), (2, 2)]:
        submit(ipb, Q14=q14, D1=d1)
    doc = analyse(ipb)
    assert doc["significance"] == 0.5
    sceptics = next(c for c in doc["comparisons"] if c["segment"] == "trend_sceptic")
    male = next(e for e in sceptics["options"] if (e["question"], e["option"]) == ("D1", "1"))
    assert (male["segment"]["share"], male["rest"]["share"]) == (1.0, 0.25)
    assert male["overall"]["share"] == 4 / 7
    assert male["difference"] == 0.75
    assert male["p"] < 0.5 and male["significant"] is True
    usage = next(e for e in sceptics["scores"] if e["score"] == "usage_effect")
    assert usage["reason"] == "no_variance" and usage["p"] is None and usage["significant"] is None


def test_nothing_collected_gives_a_document_without_numbers_but_without_errors(ipb):
    doc = analyse(ipb)
    assert doc["base"]["valid"] == 0
    assert table(doc, "D1")["total"]["options"]["1"] == {"count": 0, "share": None}
    assert table(doc, "Q2")["total"]["items"]["a"]["median"] is None
    assert all(s["share"] is None for s in doc["segments"])
    assert {e["reason"] for c in doc["comparisons"] for e in c["options"]} == {"empty_group"}
    assert doc["validity"]["valid_rate"] is None
