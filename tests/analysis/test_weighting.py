"""Weights: the rulebook's refusals, raking against known results (post-stratification for
one margin, the product form for a sample whose margins are independent), trimming, the
stored weights against statsmodels' weighted statistics, and the run's diagnostics."""

from __future__ import annotations

import copy
import uuid

import numpy as np
import pytest
from django.utils.translation import override
from statsmodels.stats.weightstats import DescrStatsW

from analysis.services.weighting import rake, weights_recompute
from survey.interchange import load_definition, validate_definition
from survey.models import Response
from survey.services.questionnaires import (
    questionnaire_export,
    questionnaire_import,
    questionnaire_publish,
)
from survey.services.responses import response_submit
from tests.conftest import EXAMPLE_DEFINITION
from tests.survey.answers import complete_answers

GENDER = {"D1": {1: 0.5, 2: 0.5}}


@pytest.fixture
def reference_definition() -> dict:
    return load_definition(EXAMPLE_DEFINITION.read_bytes(), filename=EXAMPLE_DEFINITION.name)


def weighted(definition: dict, **weights) -> dict:
    changed = copy.deepcopy(definition)
    changed["weights"] = weights or {"margins": copy.deepcopy(GENDER)}
    return changed


# --- the rulebook -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"margins": {"Q99": {1: 1}}}, "weights.margins.Q99: unknown question 'Q99'"),
        ({"margins": {"Q8": {1: 1}}}, "weights.margins.Q8: Q8 is a multiple question"),
        ({"margins": {"D1": {1: 0.5, 3: 0.5}}}, "weights.margins.D1.3: D1 has no option 3"),
        ({"margins": {"D1": {1: 1.0}}}, "weights.margins.D1: gives no share for option(s) 2"),
        ({"margins": {"D1": {1: 0.6, 2: 0.6}}}, "weights.margins.D1: the shares sum to 1.2"),
        ({"margins": {"D1": {1: -0.5, 2: 1.5}}}, "weights.margins.D1.1: must be a share"),
        ({"margins": {}}, "weights.margins: must name at least one question"),
        ({"margins": GENDER, "trim": {"max": 0.5}}, "weights.trim.max: must be a number above 1"),
        ({"margins": GENDER, "max_iterations": 0}, "weights.max_iterations: must be a whole"),
        ({"margins": GENDER, "tolerance": 1}, "weights.tolerance: must be a number above 0"),
        ({"targets": GENDER}, "weights: unknown key 'targets'"),
    ],
)
def test_the_rulebook_refuses_weights_naming_the_place(reference_definition, weights, expected):
    with override("en"):
        found = [
            p
            for p in validate_definition(weighted(reference_definition, **weights))
            if p.startswith("weights")
        ]
    assert found and found[0].startswith(expected), found


def test_refusals_are_in_chinese_too(reference_definition):
    with override("zh-hans"):
        (found,) = validate_definition(
            weighted(reference_definition, margins={"D1": {1: 0.6, 2: 0.6}})
        )
    assert found.startswith("weights.margins.D1: ") and "总和" in found, found


def test_the_weights_travel_with_the_definition_and_move_its_version(db, reference_definition):
    questionnaire = questionnaire_import(definition=weighted(reference_definition))
    assert questionnaire_export(questionnaire=questionnaire)["weights"] == {
        "margins": {"D1": {1: 0.5, 2: 0.5}}
    }
    version = questionnaire.definition_version
    changed = questionnaire_export(questionnaire=questionnaire)
    changed["weights"]["margins"]["D1"] = {1: 0.62, 2: 0.38}
    questionnaire_import(definition=changed, replace=True)
    questionnaire.refresh_from_db()
    assert questionnaire.definition_version == version + 1


# --- raking -----------------------------------------------------------------------------------


def test_one_margin_is_post_stratification():
    weights, fit = rake(
        np.array([60.0, 40.0]), [np.array([50.0, 50.0])], tolerance=1e-9, max_iterations=50
    )
    assert weights == pytest.approx([50 / 60, 50 / 40])
    assert fit["converged"]


def test_independent_margins_rake_to_the_product_of_their_ratios():
    """With a sample whose two answers are independent (counts = a ⊗ b), raking to margins
    A and B has the closed form w_ij = (A_i / a_i) · (B_j / b_j) · n / (ΣA), a known result
    of iterative proportional fitting."""
    a, b = np.array([30.0, 70.0]), np.array([0.2, 0.5, 0.3])
    counts = np.outer(a, b)  # 100 respondents
    target_a, target_b = np.array([50.0, 50.0]), np.array([25.0, 25.0, 50.0])
    weights, _fit = rake(counts, [target_a, target_b], tolerance=1e-10, max_iterations=100)
    expected = np.outer(target_a / a, target_b / (b * 100))
    assert weights == pytest.approx(expected, rel=1e-6)
    assert (weights * counts).sum(axis=1) == pytest.approx(target_a)
    assert (weights * counts).sum(axis=0) == pytest.approx(target_b)


def test_trimming_caps_the_weights_and_rakes_again():
    counts = np.array([[50.0, 30.0], [15.0, 5.0]])
    targets = [np.array([50.0, 50.0]), np.array([50.0, 50.0])]
    untrimmed, _fit = rake(counts, targets, tolerance=1e-9, max_iterations=500)
    assert untrimmed.max() > 3
    weights, fit = rake(
        counts, targets, tolerance=1e-9, max_iterations=500, trim={"min": 0.3, "max": 3}
    )
    mean = (weights * counts).sum() / counts.sum()
    assert weights.max() <= 3 * mean * (1 + 1e-6)
    assert fit["trimmed_cells"].any() and fit["converged"]
    table = weights * counts  # raked again: the margins hold
    assert table.sum(axis=1) == pytest.approx([50, 50], rel=1e-4)
    assert table.sum(axis=0) == pytest.approx([50, 50], rel=1e-4)


def test_bounds_that_cannot_hold_with_the_margins_win_and_say_so():
    counts = np.array([[90.0, 5.0], [3.0, 2.0]])
    targets = [np.array([50.0, 50.0]), np.array([50.0, 50.0])]
    weights, fit = rake(counts, targets, tolerance=1e-9, max_iterations=200, trim={"max": 3})
    mean = (weights * counts).sum() / counts.sum()
    assert weights.max() <= 3 * mean * (1 + 1e-6)
    assert not fit["converged"]


# --- stored weights ---------------------------------------------------------------------------


def answered(questionnaire, men: int, women: int, unanswered: int = 0) -> None:
    """Responses of each gender; Q1's answer cycles through its first three options."""
    for gender, n in ((1, men), (2, women), (None, unanswered)):
        for index in range(n):
            answers = complete_answers(D1=gender, Q1=1 + index % 3)
            if gender is None:
                answers.pop("D1")
            response_submit(
                questionnaire=questionnaire,
                answers=answers,
                submission_id=uuid.uuid4(),
                channel="web",
            )


@pytest.fixture
def weighted_ipb(db, reference_definition):
    definition = weighted(reference_definition)
    definition["sections"][0]["questions"][0]["required"] = False  # D1 may be left out
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))


def test_stored_weights_match_statsmodels_weighted_shares(weighted_ipb):
    answered(weighted_ipb, men=30, women=10, unanswered=10)
    diagnostics = weights_recompute(questionnaire=weighted_ipb)
    rows = list(Response.objects.values_list("answers__D1", "weight"))
    weights = np.array([w for _g, w in rows])
    men = np.array([1.0 if g == 1 else 0.0 for g, _w in rows])
    answered_gender = np.array([g is not None for g, _w in rows])
    share_men = DescrStatsW(men[answered_gender], weights=weights[answered_gender]).mean
    assert share_men == pytest.approx(0.5)
    assert weights.mean() == pytest.approx(1)
    assert {round(w, 6) for g, w in rows if g is None} == {round(weights[~answered_gender][0], 6)}
    kish = len(weights) * (weights**2).sum() / weights.sum() ** 2
    assert diagnostics["design_effect"] == pytest.approx(kish, rel=1e-5)
    assert diagnostics["effective_n"] == pytest.approx(len(weights) / kish, rel=1e-4)
    assert diagnostics["margins"]["D1"]["1"] == {
        "target": 0.5,
        "unweighted": 0.75,
        "weighted": pytest.approx(0.5),
    }
    assert diagnostics["converged"] and diagnostics["iterations"] >= 1
    assert (diagnostics["min"], diagnostics["max"]) == (
        pytest.approx(weights.min()),
        pytest.approx(weights.max()),
    )


def test_an_option_nobody_chose_cannot_be_reached_and_nothing_is_weighted(weighted_ipb):
    answered(weighted_ipb, men=5, women=0)
    with override("en"):
        diagnostics = weights_recompute(questionnaire=weighted_ipb)
    assert diagnostics == {
        "error": "weights.margins.D1.2: nobody among the valid responses chose 2 Female, so its "
        "share 0.5 cannot be reached"
    }
    assert not Response.objects.filter(weight__isnull=False).exists()


def test_invalid_responses_get_no_weight_and_an_unweighted_questionnaire_none(
    weighted_ipb, reference_definition
):
    answered(weighted_ipb, men=3, women=1)
    one_man = Response.objects.filter(answers__D1=1).first()
    Response.objects.filter(pk=one_man.pk).update(status="invalid")
    weights_recompute(questionnaire=weighted_ipb)
    assert Response.objects.filter(status="invalid", weight__isnull=True).count() == 1
    assert Response.objects.filter(weight__isnull=False).count() == 3
    definition = questionnaire_export(questionnaire=weighted_ipb)
    definition.pop("weights")
    questionnaire_import(definition=definition, replace=True)
    weighted_ipb.refresh_from_db()
    assert weights_recompute(questionnaire=weighted_ipb) is None
    assert not Response.objects.filter(weight__isnull=False).exists()


# --- the run and the export -------------------------------------------------------------------


def test_a_run_records_the_diagnostics_and_pandas_reproduces_the_weighted_share(
    weighted_ipb, make_user
):
    import io

    import pandas as pd

    from analysis.services.runs import analysis_run_execute, analysis_run_request
    from tests.exports.test_formats import stream

    answered(weighted_ipb, men=6, women=2)
    run = analysis_run_request(questionnaire_id=weighted_ipb.pk, trigger="manual", dispatch=False)
    run = analysis_run_execute(run_id=run.pk, inline=True)
    weighting = run.counts["weighting"]
    assert weighting["margins"]["D1"]["2"]["weighted"] == pytest.approx(0.5)
    assert run.results["validity"]["weighting"] == weighting
    frame = pd.read_csv(
        io.BytesIO(stream(weighted_ipb, make_user("ana", "admin"), values="codes")),
        encoding="utf-8-sig",
    )
    assert list(frame.columns[:7]) == [
        "response_id",
        "status",
        "reasons",
        "started",
        "submitted",
        "duration_seconds",
        "weight",
    ]
    women = (frame["D1"] == 2).astype(float)
    assert (women * frame["weight"]).sum() / frame["weight"].sum() == pytest.approx(0.5)
    assert DescrStatsW(women, weights=frame["weight"]).mean == pytest.approx(
        weighting["margins"]["D1"]["2"]["weighted"]
    )


# --- weighted tables --------------------------------------------------------------------------


def _run(questionnaire):
    from analysis.services.runs import analysis_run_execute, analysis_run_request

    run = analysis_run_request(questionnaire_id=questionnaire.pk, trigger="manual", dispatch=False)
    return analysis_run_execute(run_id=run.pk, inline=True)


def test_weighted_tables_match_pandas_and_use_the_effective_base(weighted_ipb):
    import pandas as pd

    answered(weighted_ipb, men=30, women=10)
    results = _run(weighted_ipb).results
    frame = pd.DataFrame(
        [
            {"D1": r.answers["D1"], "Q1": r.answers["Q1"], "w": r.weight}
            for r in Response.objects.all()
        ]
    )
    weighted_doc = results["weighted"]
    d1 = next(q for q in weighted_doc["questions"] if q["code"] == "D1")
    assert d1["total"]["options"]["1"]["share"] == pytest.approx(0.5)
    q1 = next(q for q in weighted_doc["questions"] if q["code"] == "Q1")
    for code in ("1", "2", "3"):
        expected = frame.loc[int(code) == frame.Q1, "w"].sum() / frame.w.sum()
        assert q1["total"]["options"][code]["share"] == pytest.approx(expected)
    scores = frame.Q1.map({1: 4, 2: 3, 3: 2, 4: 1})  # Q1's option scores
    assert q1["total"]["mean"] == pytest.approx(DescrStatsW(scores, weights=frame.w).mean)
    kish = frame.w.sum() ** 2 / (frame.w**2).sum()
    assert weighted_doc["base"] == {
        "valid": pytest.approx(40),  # the weighted total: weights average 1
        "effective": pytest.approx(kish, rel=1e-4),  # Σw² of weights rounded to 4 decimals
        "responses": 40,
    }
    assert q1["total"]["n"] == pytest.approx(40)
    assert q1["total"]["effective_n"] == pytest.approx(kish, rel=1e-4)
    assert q1["total"]["options"]["1"]["count"] == pytest.approx(
        frame.loc[frame.Q1 == 1, "w"].sum()
    )
    unweighted = next(q for q in results["questions"] if q["code"] == "D1")
    assert unweighted["total"]["options"]["1"]["share"] == pytest.approx(0.75)
    women = next(
        c
        for e in weighted_doc["banner"]
        if e["key"] == "D1"
        for c in e["columns"]
        if c["code"] == "2"
    )
    assert women["responses"] == 10 and women["n"] == pytest.approx(20)
    assert women["effective_n"] == pytest.approx(10, rel=1e-4)  # equal weights within it
    assert "effective sample size" in weighted_doc["method"]


def test_weighted_partials_merge_to_the_same_tables_whatever_the_chunks(weighted_ipb):
    from analysis.services.aggregate import aggregate_chunk, chunk_bounds, merge_partials
    from analysis.services.tables import tables_build

    answered(weighted_ipb, men=7, women=5, unanswered=3)
    weights_recompute(questionnaire=weighted_ipb)

    def document(chunks: int) -> dict:
        bounds = chunk_bounds(questionnaire_id=weighted_ipb.pk, chunks=chunks)
        partials = [
            aggregate_chunk(questionnaire_id=weighted_ipb.pk, low_id=low, high_id=high)
            for low, high in bounds
        ]
        return tables_build(
            questionnaire_id=weighted_ipb.pk, merged=merge_partials(partials), validity={}
        )

    one, four = document(1), document(4)
    assert one["weighted"] == four["weighted"]
    assert merge_partials([])["groups"] == {}


def test_the_results_page_shows_weighted_figures_with_a_switch(weighted_ipb, client, make_user):
    answered(weighted_ipb, men=30, women=10)
    _run(weighted_ipb)
    client.force_login(make_user("boss", "admin"))
    page = client.get("/results/ipb-survey/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-weighting="on"' in html
    assert "有效样本量" in html and "设计效应" in html
    assert '<p class="n">n = 40 （加权；40 份答卷）' in html  # weighted base, and responses
    assert "字母标记按各列的有效样本量" in html  # the cross-tab's note
    assert _d1_rows(page.context) == [["男", "20", "50.0%"], ["女", "20", "50.0%"]]
    off = client.get("/results/ipb-survey/?weights=off", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'data-weighting="off"' in off.content.decode()
    assert _d1_rows(off.context) == [["男", "30", "75.0%"], ["女", "10", "25.0%"]]


def _d1_rows(context) -> list[list[str]]:
    for section in context["sections"]:
        for table in section["tables"]:
            if table["code"] == "D1":
                return table["rows"]
    raise AssertionError("no D1 table")


def test_the_report_says_it_is_weighted(weighted_ipb):
    from django.utils import translation

    from analysis.services.report_build import report_build

    answered(weighted_ipb, men=30, women=10)
    _run(weighted_ipb)
    with translation.override("en"):
        report = report_build(questionnaire=weighted_ipb, language="en", asked={})
    texts = {
        f.key: f.text
        for chapter in report.draft.chapters
        for part in chapter.parts
        for f in part.findings
    }
    assert texts["method:weights"].startswith(
        "The figures are weighted: the valid responses were raked to target shares of "
        "“Gender” (design effect"
    )
    assert "of 40 responses" in texts["method:weights"]


def _sav(questionnaire, path):
    from exports.exporters.base import ExportOptions, write_sav
    from exports.exporters.responses_wide import ResponsesWide

    exporter = ResponsesWide(
        questionnaire=questionnaire,
        responses=Response.objects.filter(questionnaire=questionnaire),
        options=ExportOptions(labels=False),
    )
    write_sav(exporter, path, max_rows=1000)
    return path


def test_the_sav_export_names_weight_as_its_weight_variable(weighted_ipb, tmp_path):
    import pyreadstat

    from exports.exporters.sav_weight import sav_weight_of

    answered(weighted_ipb, men=6, women=2)
    weights_recompute(questionnaire=weighted_ipb)
    path = _sav(weighted_ipb, tmp_path / "weighted.sav")
    assert sav_weight_of(path).lower() == "weight"
    frame, _meta = pyreadstat.read_sav(str(path))  # still a file pyreadstat reads whole
    assert len(frame) == 8 and frame["weight"].sum() == pytest.approx(8)


@pytest.mark.pspp
def test_pspp_opens_the_sav_weighted_and_reproduces_the_weighted_table(weighted_ipb, tmp_path):
    """GNU PSPP, as an SPSS user would: open the file, FREQUENCIES D1 — weighted by the file's
    own weight variable, the shares are the target margins (50/50), not the sample's 75/25."""
    import csv
    import subprocess

    answered(weighted_ipb, men=6, women=2)
    results = _run(weighted_ipb).results
    path = _sav(weighted_ipb, tmp_path / "weighted.sav")
    syntax = tmp_path / "frequencies.sps"
    syntax.write_text(f"GET FILE='{path}'.\nFREQUENCIES D1.\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    subprocess.run(
        ["pspp", "-O", "format=csv", "-o", str(output), str(syntax)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    rows = list(csv.reader(output.read_text(encoding="utf-8").splitlines()))
    start = next(i for i, row in enumerate(rows) if row and row[0].startswith("Table: D1"))
    frequencies = {row[1]: float(row[2]) for row in rows[start + 2 : start + 4]}  # by label
    d1 = next(q for q in results["weighted"]["questions"] if q["code"] == "D1")
    assert frequencies == {
        "男": pytest.approx(d1["total"]["options"]["1"]["count"], abs=0.01),
        "女": pytest.approx(d1["total"]["options"]["2"]["count"], abs=0.01),
    }
    assert frequencies["男"] == pytest.approx(4, abs=0.01)  # half of 8, not the sample's 6


# --- weights from a file ----------------------------------------------------------------------


@pytest.fixture
def file_weighted(db, reference_definition):
    definition = weighted(reference_definition, **{"from": "file"})
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))


def test_weights_from_a_file_are_refused_with_their_lines_and_unknown_ids(file_weighted, english):
    from survey.services.given_weights import (
        GivenWeightsInvalid,
        given_weights_import,
        given_weights_read,
    )

    with pytest.raises(GivenWeightsInvalid) as bad:
        given_weights_read("response_id,weight\n1,2.5\nx,1\n2,-1\n1,3\n3,nan\n")
    assert bad.value.lines == [
        "line 3: response_id 'x' is not a whole number",
        "line 4: weight '-1' is not a number of at least 0",
        "line 5: response 1 is given twice",
        "line 6: weight 'nan' is not a number of at least 0",
    ]
    with pytest.raises(GivenWeightsInvalid, match="columns response_id and weight"):
        given_weights_read("id;w\n1;2\n")
    answered(file_weighted, men=2, women=1)
    with pytest.raises(GivenWeightsInvalid) as unknown:
        given_weights_import(questionnaire=file_weighted, weights={999: 1.0, 998: 2.0})
    assert unknown.value.lines == ["2 response ids are not responses of ipb-survey: 998, 999"]
    assert not Response.objects.filter(given_weight__isnull=False).exists()


def test_imported_weights_are_used_scaled_to_mean_one(file_weighted, tmp_path):
    from django.core.management import call_command

    answered(file_weighted, men=2, women=1)
    ids = list(Response.objects.order_by("id").values_list("id", flat=True))
    path = tmp_path / "weights.csv"
    path.write_text(
        "\ufeffresponse_id,weight,note\n"
        + "".join(f"{pk},{w},x\n" for pk, w in zip(ids, [100, 100, 400], strict=True)),
        encoding="utf-8",
    )
    call_command("import_weights", "ipb-survey", str(path))
    diagnostics = weights_recompute(questionnaire=file_weighted)
    assert diagnostics["method"] == "file" and "error" not in diagnostics
    stored = list(Response.objects.order_by("id").values_list("weight", flat=True))
    assert stored == pytest.approx([0.5, 0.5, 2.0])
    results = _run(file_weighted).results
    d1 = next(q for q in results["weighted"]["questions"] if q["code"] == "D1")
    assert d1["total"]["options"]["2"]["share"] == pytest.approx(2 / 3)


def test_a_valid_response_without_an_imported_weight_is_named(file_weighted):
    answered(file_weighted, men=2, women=1)
    with override("en"):
        diagnostics = weights_recompute(questionnaire=file_weighted)
    assert diagnostics == {
        "method": "file",
        "error": "3 valid responses have no weight in the imported file.",
    }


def test_the_tables_export_is_weighted_unless_asked_not_to_be(weighted_ipb, make_user):
    from tests.exports.support import csv_rows
    from tests.exports.test_formats import stream

    answered(weighted_ipb, men=30, women=10)
    _run(weighted_ipb)
    user = make_user("ana", "admin")

    def women_share(**options) -> str:
        rows = csv_rows(stream(weighted_ipb, user, kind="tables", **options))
        header = rows[0]
        for row in rows[1:]:
            cells = dict(zip(header, row, strict=False))
            if (cells["table"], cells["statistic"], cells["code"]) == ("D1", "share", "2"):
                return cells["total"]
        raise AssertionError(rows[:3])

    assert float(women_share()) == pytest.approx(0.5)
    assert float(women_share(weighted="false")) == pytest.approx(0.25)
