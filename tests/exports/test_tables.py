"""Exports of the analysis results: the tables (one row per figure, a column per breakdown)
and the segment comparisons, equal to the latest done run's results document."""

from __future__ import annotations

import pyreadstat
import pytest
from django.utils import translation
from openpyxl import load_workbook

from analysis.models import AnalysisRun
from analysis.selectors import latest_successful_run
from analysis.services.runs import analysis_run_request
from exports.exporters.base import ExportError
from exports.services import export_file_path, export_stream_csv
from survey.models import AuditEvent
from tests.exports.support import csv_rows, submit
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db


ACTIVE = {"a": 5, "b": 5, "c": 5, "d": 5}


@pytest.fixture
def analysed(ipb, settings, django_capture_on_commit_callbacks):
    """Four responses and a done analysis run; gives back its results document."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    submit(ipb)
    submit(ipb, complete_answers(D1=2, Q2=ACTIVE, Q3=2))
    submit(ipb, complete_answers(D1=2, Q2=ACTIVE, Q14=4, Q3=3))
    submit(ipb, complete_answers(Q17=1))  # invalid: counts nowhere
    with django_capture_on_commit_callbacks(execute=True):
        analysis_run_request(questionnaire_id=ipb.pk, trigger=AnalysisRun.Trigger.MANUAL)
    run = latest_successful_run(ipb)
    assert run is not None
    return run.results


def exported(questionnaire, user, kind: str, **options) -> list[dict[str, str]]:
    stream = export_stream_csv(
        questionnaire=questionnaire, kind=kind, filters={}, options=options, user=user
    )
    rows = csv_rows(b"".join(stream.chunks))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def find(rows, **match) -> dict[str, str]:
    found = [row for row in rows if all(row[k] == v for k, v in match.items())]
    assert len(found) == 1, match
    return found[0]


def number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_the_tables_hold_the_figures_of_the_results_document(ipb, analyst, analysed):
    rows = exported(ipb, analyst, "tables", language="en")
    d1 = next(q for q in analysed["questions"] if q["code"] == "D1")
    n = find(rows, table="D1", statistic="n")
    # A banner never cuts its own question: D1 has no D1 columns, and has the others.
    assert (n["label"], number(n["total"]), n["D1=1"]) == ("Gender", 3, "")
    assert number(n["D2=3"]) == d1["by"]["D2=3"]["n"]
    share = find(rows, table="D1", statistic="share", code="2")
    assert share["label"] == "Female"
    assert number(share["total"]) == d1["total"]["options"]["2"]["share"]
    assert number(share["segment:active"]) == d1["by"]["segment:active"]["options"]["2"]["share"]
    assert number(share["rest:active"]) == d1["by"]["rest:active"]["options"]["2"]["share"]

    q5 = next(q for q in analysed["questions"] if q["code"] == "Q5")
    mean = find(rows, table="Q5", item="a", statistic="mean")
    assert number(mean["total"]) == q5["total"]["items"]["a"]["mean"]
    top2 = find(rows, table="Q5", item="a", statistic="top2_share")
    assert number(top2["total"]) == q5["total"]["items"]["a"]["top2"]["share"]

    grid = find(rows, table="Q2", item="d", statistic="median")
    q2 = next(q for q in analysed["questions"] if q["code"] == "Q2")
    assert number(grid["total"]) == q2["total"]["items"]["d"]["median"]

    score = find(rows, table="usage_effect", statistic="mean")
    assert number(score["total"]) == analysed["scores"][0]["total"]["mean"]
    active = find(rows, table="segments", statistic="n", code="active")
    members = next(s for s in analysed["segments"] if s["code"] == "active")["n"]
    assert number(active["total"]) == members and active["D1=1"] == ""
    assert find(rows, table="Q18", statistic="n")["total"] == "0"


def test_the_tables_have_a_label_row_naming_every_breakdown(ipb, analyst, analysed):
    stream = export_stream_csv(
        questionnaire=ipb, kind="tables", filters={}, options={"labels": True}, user=analyst
    )
    header, labels = csv_rows(b"".join(stream.chunks))[:2]
    assert labels[header.index("D1=1")] == "您的性别: 男"
    assert labels[header.index("segment:active")] == "积极参与者: 积极参与者"
    assert header[:7] == ["table", "type", "item", "statistic", "code", "label", "total"]


def test_the_comparisons_hold_each_test_of_each_segment(ipb, analyst, analysed):
    rows = exported(ipb, analyst, "comparisons", language="en")
    first = analysed["comparisons"][0]
    test = first["options"][0]
    row = find(rows, segment=first["segment"], kind="option", question="D1", option="1")
    assert row["label"] == "Male"
    assert number(row["segment_n"]) == test["segment"]["n"]
    assert number(row["rest_value"]) == test["rest"]["share"]
    assert row["reason"] == (test["reason"] or "")
    scores = [r for r in rows if r["segment"] == first["segment"] and r["kind"] == "score"]
    assert [r["question"] for r in scores] == [s["score"] for s in first["scores"]]


@pytest.mark.parametrize("fmt", ["xlsx", "sav"])
def test_the_tables_export_as_files_too(ipb, analyst, analysed, requested, fmt):
    export = requested(questionnaire=ipb, kind="tables", fmt=fmt, user=analyst)
    assert export.status == "done", export.error
    assert export.responses == analysed["base"]["valid"] == 3
    event = AuditEvent.objects.get(details__export_id=export.pk)
    assert event.details["run_id"] == latest_successful_run(ipb).pk
    if fmt == "sav":
        frame, meta = pyreadstat.read_sav(str(export_file_path(export)))
        assert {"D1_1", "segment_active", "rest_active"} <= set(meta.column_names)
        assert len(frame) == export.rows


def test_the_tables_workbook_reads_like_a_report(ipb, analyst, analysed, requested):
    export = requested(
        questionnaire=ipb, kind="tables", fmt="xlsx", user=analyst, options={"language": "en"}
    )
    assert export.status == "done", export.error
    book = load_workbook(export_file_path(export))
    assert book.sheetnames == ["About", "Frequencies", "Cross-tabs", "Scores", "Segments"]

    about = {row[0].value: row[1] for row in book["About"].iter_rows(min_row=3) if row[0].value}
    assert about["Valid"].value == 3 and about["Collected"].value == 4
    assert about["Valid rate"].value == 0.75 and about["Valid rate"].number_format == "0.0%"
    assert about["Multiple-comparison correction"].value == "Holm"

    frequencies = book["Frequencies"]
    rows = list(frequencies.iter_rows())
    title = next(i for i, row in enumerate(rows) if row[0].value == "D1 Gender")
    base, male, female = rows[title + 1], rows[title + 2], rows[title + 3]
    assert (base[1].value, base[2].value) == ("Base (n)", 3)
    assert (male[1].value, male[2].value) == ("Male", 1)
    assert female[3].value == pytest.approx(2 / 3) and female[3].number_format == "0.0%"

    crosstabs = book["Cross-tabs"]
    titles = [row[0].value for row in crosstabs.iter_rows() if row[0].font.bold and row[0].value]
    assert "Q3 How do you usually use online Party-building platforms?" in titles
    merged = {str(r) for r in crosstabs.merged_cells.ranges}
    gender = [c.coordinate for row in crosstabs.iter_rows() for c in row if c.value == "Gender"]
    assert any(r.split(":")[0] in gender for r in merged)  # merged over its columns
    d1_block = next(
        i for i, row in enumerate(crosstabs.iter_rows(), 1) if row[0].value == "D1 Gender"
    )
    header = [c.value for c in crosstabs[d1_block + 1]]
    assert "Gender" not in header  # a banner never cuts its own question
    shares = [c for c in crosstabs[d1_block + 5] if isinstance(c.value, float)]
    assert shares and all(c.number_format == "0.0%" for c in shares)

    segments = book["Segments"]
    assert segments["A1"].value == "Segment sizes"
    assert any(row[0].value == "Active participants against everyone else"
               for row in segments.iter_rows())  # fmt: skip


def test_tables_are_refused_until_an_analysis_run_is_done(ipb, analyst, client_for):
    submit(ipb)
    with translation.override("en"), pytest.raises(ExportError, match="run the analysis"):
        exported(ipb, analyst, "tables")
    answer = client_for(analyst).post(
        f"/api/v1/questionnaires/{ipb.slug}/exports/",
        {"kind": "tables", "format": "xlsx"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 409 and answer.json()["error"] == "no_results"
    assert "kind" in answer.json()["fields"]


def test_filters_do_not_apply_to_the_tables(ipb, analyst, analysed):
    with pytest.raises(ExportError) as refused:
        export_stream_csv(
            questionnaire=ipb,
            kind="tables",
            filters={"status": "all"},
            options={},
            user=analyst,
        )
    assert "filters" in refused.value.fields
