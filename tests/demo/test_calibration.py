"""The demo data tell the report's story: 2,299 responses generated with the demo's seed and
examples/ipb-survey.calibration.yaml, analysed by the analysis services, reproduce the figures
of shared/reference/report-figures.md: shares within 3 points, scores within 0.1.

The expected numbers below are typed from report-figures.md, not read from the calibration
file, so a wrong calibration fails here. The responses are generated once for the module (in
a transaction rolled back at the end); each test reads the results document.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from analysis.models import AnalysisRun
from analysis.services.aggregate import aggregate_chunk, chunk_bounds, merge_partials
from analysis.services.tables import tables_build
from demo.generate import calibration_read, responses_generate
from demo.management.commands.demo_setup import DEMO_RESPONSES, DEMO_SEED
from survey.interchange import load_definition
from survey.models import Questionnaire, Response
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from survey.services.validity import validity_recompute
from tests.conftest import EXAMPLE_DEFINITION, REPO_ROOT

SHARE = 0.03  # three percentage points
SCORE = 0.1


@pytest.fixture(scope="module")
def results(django_db_setup, django_db_blocker) -> Any:
    """The results document of the demo's responses (generated once, rolled back after)."""
    with django_db_blocker.unblock(), transaction.atomic():
        definition = load_definition(EXAMPLE_DEFINITION.read_bytes())
        questionnaire = questionnaire_publish(
            questionnaire=questionnaire_import(definition=definition)
        )
        calibration = calibration_read(
            questionnaire=questionnaire,
            path=REPO_ROOT / "examples" / "ipb-survey.calibration.yaml",
        )
        responses_generate(
            questionnaire=questionnaire,
            count=DEMO_RESPONSES,
            seed=DEMO_SEED,
            calibration=calibration,
        )
        validity = validity_recompute(questionnaire=questionnaire)
        bounds = chunk_bounds(questionnaire_id=questionnaire.pk, chunks=2)
        partials = [
            aggregate_chunk(questionnaire_id=questionnaire.pk, low_id=low, high_id=high)
            for low, high in bounds
        ]
        yield tables_build(
            questionnaire_id=questionnaire.pk, merged=merge_partials(partials), validity=validity
        )
        transaction.set_rollback(True)


def _question(results: dict, code: str, column: str = "total") -> dict:
    table = next(q for q in results["questions"] if q["code"] == code)
    return table["total"] if column == "total" else table["by"][column]


def share(results: dict, code: str, option: object, column: str = "total") -> float:
    return _question(results, code, column)["options"][str(option)]["share"]


def mean(results: dict, score: str, column: str = "total") -> float:
    table = next(s for s in results["scores"] if s["code"] == score)
    return (table["total"] if column == "total" else table["by"][column])["mean"]


def comparison(results: dict, segment: str) -> dict:
    return next(c for c in results["comparisons"] if c["segment"] == segment)


def in_segment(results: dict, segment: str, code: str, option: object) -> float:
    found = comparison(results, segment)["options"]
    return next(o for o in found if (o["question"], o["option"]) == (code, str(option)))


def score_in_segment(results: dict, segment: str, score: str) -> dict:
    return next(s for s in comparison(results, segment)["scores"] if s["score"] == score)


def near(expected: float, tolerance: float = SHARE) -> Any:
    return pytest.approx(expected, abs=tolerance)


# --- sample and single questions --------------------------------------------------------------


def test_the_valid_rate_is_the_reports_and_every_invalid_kind_occurs(results):
    validity = results["validity"]
    assert validity["collected"] == 2299
    assert validity["valid_rate"] == near(0.9194)
    assert validity["valid"] == 2114
    assert all(validity["invalid_by_reason"][kind] > 20 for kind in ("speeder", "attention"))
    assert validity["invalid_by_reason"]["duplicate"] > 20
    assert 0 < validity["flagged_by_reason"]["straightlining"] < 0.2 * 2114


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Q1", {1: 0.4916, 2: 0.3947, 4: 0.0336}),
        ("Q3", {1: 0.4874, 2: 0.1854, 3: 0.1826, 4: 0.1355, 5: 0.0091}),
        ("Q4", {1: 0.3841, 2: 0.2711, 3: 0.2858, 4: 0.0463, 5: 0.0126}),
        ("Q14", {1: 0.6341, 2: 0.3097, 3: 0.0471, 4: 0.0091}),
        ("Q11", {1: 0.6510, 2: 0.6475, 3: 0.6376, 4: 0.5463}),
        ("Q12", {1: 0.6299, 2: 0.6025, 3: 0.5709}),
        ("Q13", {1: 0.4515, 2: 0.4417, 3: 0.4178, 4: 0.4143, 5: 0.4024, 6: 0.3610}),
        ("Q16", {1: 0.5442, 2: 0.4586, 3: 0.4537, 4: 0.3448}),
    ],
)
def test_question_shares_are_the_reports(results, code, expected):
    assert {o: share(results, code, o) for o in expected} == {
        o: near(value) for o, value in expected.items()
    }


def test_app_ratings_have_the_reports_top2_and_means(results):
    items = _question(results, "Q5")["items"]
    top2 = {"a": 0.8301, "b": 0.8582, "c": 0.8377, "d": 0.8462, "e": 0.8441}
    assert {i: items[i]["top2"]["share"] for i in top2} == {i: near(v) for i, v in top2.items()}
    means = {i: items[i]["mean"] for i in items}
    assert max(means, key=means.get) == "b"  # ease of learning
    assert min(means, key=means.get) == "d"  # innovative design
    assert means["b"] == near(3.40, SCORE)
    assert means["d"] == near(3.32, SCORE)


def test_agreement_and_help_have_the_reports_top2_and_the_help_score(results):
    q6 = _question(results, "Q6")["items"]
    agree = {"a": 0.8799, "b": 0.8665, "c": 0.8652, "d": 0.8455, "e": 0.8399, "f": 0.8349}
    assert {i: q6[i]["top2"]["share"] for i in agree} == {i: near(v) for i, v in agree.items()}
    q7 = _question(results, "Q7")["items"]
    assert all(0.8223 - SHARE <= q7[i]["top2"]["share"] <= 0.8686 + SHARE for i in q7)
    assert q7["a"]["top2"]["share"] == near(0.8686)
    assert q7["g"]["top2"]["share"] == near(0.8223)
    assert mean(results, "help") == near(3.36, SCORE)


# --- scores by banner -------------------------------------------------------------------------


def test_the_usage_score_and_its_ranking_by_age(results):
    assert mean(results, "usage_effect") == near(4.01, SCORE)
    by_age = {age: mean(results, "usage_effect", f"D2={age}") for age in range(1, 7)}
    assert {age: by_age[age] for age in (1, 2, 3)} == {
        1: near(3.94, SCORE),
        2: near(4.11, SCORE),
        3: near(4.00, SCORE),
    }
    # Best first: 21-30, then 31-40, then 20 or under, then every older group.
    assert sorted(by_age, key=by_age.get, reverse=True)[:3] == [2, 3, 1]


def test_the_stage_rises_with_the_administrative_level_and_ranks_the_reports_unit_types(results):
    by_level = [mean(results, "stage", f"D4={level}") for level in (1, 2, 3, 4, 5)]
    assert by_level == sorted(by_level, reverse=True)
    by_unit = {unit: mean(results, "stage", f"D6={unit}") for unit in range(1, 9)}
    ranked = sorted(by_unit, key=by_unit.get, reverse=True)
    assert ranked[:4] == [2, 1, 4, 5]  # SOE, government organ, school, street


# --- segments ---------------------------------------------------------------------------------


def test_segment_sizes_are_the_reports(results):
    sizes = {s["code"]: s["share"] for s in results["segments"]}
    assert sizes == {
        "active": near(0.2493),
        "passive": near(0.0597),
        "trend_sceptic": near(0.0562),
        "agree_but_return": near(0.1749),
    }


def test_active_participants_are_male_capital_city_party_affairs_workers(results):
    expected = [("D1", 1, 0.7324, 0.6742), ("D4", 1, 0.5211, 0.4291), ("D5", 1, 0.9268, 0.8736)]
    for code, option, members, overall in expected:
        found = in_segment(results, "active", code, option)
        assert found["segment"]["share"] == near(members), code
        assert found["overall"]["share"] == near(overall), code
    assert in_segment(results, "active", "D4", 1)["significant"] is True


def test_passive_participants_profile(results):
    expected = [("D3", 2, 0.3059, 0.2149), ("D4", 2, 0.3412, 0.2662), ("D5", 2, 0.2706, 0.1264)]
    for code, option, members, overall in expected:
        found = in_segment(results, "passive", code, option)
        assert found["segment"]["share"] == near(members), code
        assert found["overall"]["share"] == near(overall), code


def test_active_participants_post_more_and_score_higher_than_passive_ones(results):
    assert share(results, "Q3", 1, "segment:active") == near(0.7183)
    assert mean(results, "usage_effect", "segment:active") == near(4.39, SCORE)
    assert mean(results, "usage_effect", "segment:passive") == near(3.54, SCORE)


def test_what_affects_phone_use_differs_by_participation(results):
    active = {o: share(results, "Q8", o, "segment:active") for o in range(1, 8)}
    assert active[1] == near(0.4620)
    assert max(active, key=active.get) == 1  # speed
    passive = {o: share(results, "Q8", o, "segment:passive") for o in range(1, 8)}
    assert {o: passive[o] for o in (2, 3, 4)} == {2: near(0.4824), 3: near(0.4824), 4: near(0.4471)}
    assert sorted(passive, key=passive.get, reverse=True)[:3] in ([2, 3, 4], [3, 2, 4])


def test_passive_participants_concerns_and_wishes(results):
    concerns = {o: share(results, "Q9", o, "segment:passive") for o in (1, 2, 3)}
    assert concerns == {1: near(0.3765), 2: near(0.3529), 3: near(0.3294)}
    wishes = {o: share(results, "Q10", o, "segment:passive") for o in (1, 2)}
    assert wishes == {1: near(0.4118), 2: near(0.4000)}


def test_agreeing_but_expecting_a_return_offline_comes_with_the_reports_concerns(results):
    concerns = {
        o: in_segment(results, "agree_but_return", "Q9", o)["segment"]["share"] for o in (4, 5, 6)
    }
    assert concerns == {4: near(0.3614), 5: near(0.3614), 6: near(0.3574)}


def test_sceptics_use_less_see_less_help_and_expect_a_return_offline(results):
    usage = score_in_segment(results, "trend_sceptic", "usage_effect")
    assert usage["segment"]["mean"] == near(3.39, SCORE)
    assert usage["significant"] is True
    help_score = score_in_segment(results, "trend_sceptic", "help")
    assert help_score["segment"]["mean"] == near(2.73, SCORE)
    assert help_score["significant"] is True
    offline = in_segment(results, "trend_sceptic", "Q15", 1)
    assert offline["segment"]["share"] == near(0.2750)
    assert offline["overall"]["share"] == near(0.1903)


def test_incentives_differ_by_role(results):
    workers = {o: share(results, "Q16", o, "D5=1") for o in range(1, 6)}
    members = {o: share(results, "Q16", o, "D5=2") for o in range(1, 6)}
    assert workers[1] > members[1] and workers[2] > members[2]  # material, emotional
    assert all(members[o] > workers[o] for o in (3, 4, 5))  # goals, recognition, competition


# --- the demo flow ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_setup_generates_analyses_and_points_to_the_results_once(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    options = {"password_file": tmp_path / "pw", "responses": 150, "stdout": out, "stderr": err}
    call_command("demo_setup", **options)

    questionnaire = Questionnaire.objects.get(slug="ipb-survey")
    assert Response.objects.filter(questionnaire=questionnaire).count() == 150
    run = AnalysisRun.objects.get(questionnaire=questionnaire)
    assert run.status == AnalysisRun.Status.DONE
    assert run.results["validity"]["collected"] == 150
    text = out.getvalue()
    assert "Generating 150 responses calibrated by ipb-survey.calibration.yaml:" in text
    assert "http://127.0.0.1:8000/results/ipb-survey/" in text
    assert "\r  150/150 [" in err.getvalue()

    call_command("demo_setup", **{**options, "stdout": io.StringIO()})
    assert Response.objects.filter(questionnaire=questionnaire).count() == 150
    assert AnalysisRun.objects.filter(questionnaire=questionnaire).count() == 1
