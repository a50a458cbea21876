"""Export files read back as Excel, pandas, SPSS (pyreadstat) and openpyxl would read them."""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd
import pyreadstat
import pytest
from django.utils import translation
from openpyxl import load_workbook

from exports.exporters.base import (
    NUMBER,
    TEXT,
    Column,
    Exporter,
    ExportOptions,
    csv_chunks,
    spss_names,
    write_sav,
    write_xlsx,
)
from exports.exporters.filters import ExportInvalid
from exports.services import export_file_path, export_request, export_stream_csv
from survey.structure import structure_for
from tests.exports.support import csv_rows, submit
from tests.survey.answers import complete_answers
from wenji.cells import escape_formula

pytestmark = pytest.mark.django_db


FORMULAS = {"Q18": "=1+1", "D6.other": "+cmd", "Q15R": "-2+3", "Q10.other": "@SUM(A1)"}
TRICKY = 'He said "hi", then\nleft, 再见'


def varied_answers() -> list[dict[str, Any]]:
    return [
        complete_answers(),
        complete_answers(
            D1=2,
            D6=8,
            Q8=[1, 7],
            Q9=[7],
            Q10=[4, 5],
            Q15=1,
            **{"D6.other": "+cmd", "Q8.other": "网速慢", "Q10.other": "@SUM(A1)"},
            Q15R="-2+3",
            Q18="=1+1",
        ),
        complete_answers(Q2={"a": 0, "b": 99, "c": 7, "d": 12}, Q18=TRICKY, Q13=[1, 2, 3]),
    ]


@pytest.fixture
def responses(ipb):
    return [submit(ipb, answers) for answers in varied_answers()]


def expected_cells(answers: dict[str, Any], questionnaire) -> dict[str, Any]:
    """What the wide export must hold for these answers, written from the format's rules."""
    cells: dict[str, Any] = {}
    for q in structure_for(questionnaire).questions.values():
        value = answers.get(q.code)
        if q.type == "multiple":
            for code in q.options:
                picked = value is not None and any(str(v) == code for v in value)
                cells[f"{q.code}.{code}"] = None if value is None else int(picked)
        elif q.type in ("matrix", "number_grid"):
            for item in q.items:
                cells[f"{q.code}.{item}"] = None if value is None else value.get(item)
        else:
            cells[q.code] = value
        if q.has_other:
            cells[f"{q.code}.other"] = answers.get(f"{q.code}.other")
    return {k: escape_formula(v) if isinstance(v, str) else v for k, v in cells.items()}


def same(actual: Any, expected: Any) -> bool:
    if expected is None:
        return actual is None or actual == "" or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return actual is not None and not isinstance(actual, str) and float(actual) == expected
    return actual == expected


def stream(questionnaire, user, kind="responses_wide", **options: Any) -> bytes:
    result = export_stream_csv(
        questionnaire=questionnaire, kind=kind, filters={}, options=options, user=user
    )
    return b"".join(result.chunks)


def xlsx_rows(sheet) -> list[tuple]:
    """The rows, padded to the header's width (empty trailing cells are not stored)."""
    rows = list(sheet.iter_rows(values_only=True))
    width = len(rows[0])
    return [tuple(row) + (None,) * (width - len(row)) for row in rows]


# --- CSV -----------------------------------------------------------------------------------


def test_the_csv_starts_with_a_bom_and_keeps_chinese_labels_when_read_as_excel_does(
    ipb, analyst, responses
):
    body = stream(ipb, analyst, labels=True)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(body, encoding="utf-8-sig")
    codes, labels = rows[0], rows[1]
    assert codes[:6] == [
        "response_id",
        "status",
        "reasons",
        "started",
        "submitted",
        "duration_seconds",
    ]
    assert labels[codes.index("D1")] == "您的性别"
    assert labels[codes.index("Q9.7")] == "您对互联网党建的应用和普及有哪些顾虑？: 没有顾虑"
    assert labels[codes.index("Q5.a")].endswith(": 内容丰富度")
    assert len(rows) == 2 + len(responses)


def test_the_plain_utf8_option_writes_no_bom(ipb, analyst, responses):
    body = stream(ipb, analyst, bom=False)
    assert not body.startswith(b"\xef\xbb\xbf")
    assert csv_rows(body, encoding="utf-8")[0][0] == "response_id"


def test_pandas_reads_back_every_submitted_answer_in_its_column(ipb, analyst, responses):
    frame = pd.read_csv(io.BytesIO(stream(ipb, analyst, values="codes")), encoding="utf-8-sig")
    assert list(frame["response_id"]) == [r.pk for r in responses]
    structure_columns = list(expected_cells({}, ipb))
    assert list(frame.columns)[6:] == structure_columns
    for index, response in enumerate(responses):
        for column, expected in expected_cells(response.answers, ipb).items():
            actual = frame.at[index, column]
            assert same(actual if not pd.isna(actual) else None, expected), (column, actual)


def test_unchosen_options_are_0_only_when_the_question_was_answered(ipb, analyst):
    submit(ipb, complete_answers(Q15=1, Q15R="因为方便"))
    submit(ipb, complete_answers(Q15=3))  # Q15R hidden
    rows = csv_rows(stream(ipb, analyst))
    header = rows[0]
    first, second = rows[1], rows[2]
    assert first[header.index("Q15R")] == "因为方便"
    assert second[header.index("Q15R")] == ""
    assert [first[header.index(f"Q9.{code}")] for code in range(1, 8)] == list("1001000")
    assert "D6.other" in header and first[header.index("D6.other")] == ""


def test_times_are_iso_8601_in_the_display_time_zone_with_offset(ipb, analyst, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    response = submit(ipb, duration=300.5)
    row = dict(zip(*csv_rows(stream(ipb, analyst, values="codes")), strict=True))
    local = response.submitted_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert row["submitted"] == local.isoformat(timespec="seconds")
    assert row["submitted"].endswith("+08:00")
    assert row["duration_seconds"] == "300.5"
    assert row["status"] == "valid" and row["reasons"] == ""


def test_csv_quoting_follows_rfc_4180(ipb, analyst):
    submit(ipb, complete_answers(Q18=TRICKY))
    body = stream(ipb, analyst)
    text = body.decode("utf-8-sig")
    assert '"He said ""hi"", then\nleft, 再见"' in text
    assert text.count("\r\n") == 2  # header and one row; the embedded newline stays inside
    rows = csv_rows(body)
    assert rows[1][rows[0].index("Q18")] == TRICKY


def test_the_long_export_has_one_row_per_answered_cell_with_labels(ipb, analyst):
    response = submit(
        ipb, complete_answers(D6=8, Q8=[1, 7], **{"D6.other": "=cmd", "Q8.other": "慢"})
    )
    rows = csv_rows(stream(ipb, analyst, kind="responses_long", labels=True, language="en"))
    assert rows[0] == ["response_id", "question", "item", "value", "label"]
    body = [row[1:] for row in rows[1:]]
    assert all(row[0] == str(response.pk) for row in rows[1:])
    assert ["D1", "", "1", "Male"] in body
    assert ["D6.other", "", "'=cmd", ""] in body
    assert ["Q8", "", "7", "Other"] in body and ["Q8.other", "", "慢", ""] in body
    assert ["Q5", "a", "1", "Very good"] in body
    assert ["Q2", "d", "5", ""] in body
    cells = sum(len(v) if isinstance(v, list | dict) else 1 for v in response.answers.values())
    assert len(body) == cells


# --- formula injection, on every path ------------------------------------------------------


def formula_response(ipb):
    return submit(
        ipb,
        complete_answers(
            D6=8,
            Q10=[5],
            Q15=1,
            **{"D6.other": "+cmd", "Q10.other": "@SUM(A1)"},
            Q15R="-2+3",
            Q18="=1+1",
        ),
    )


def test_formulas_are_neutralised_in_the_streamed_csv(ipb, analyst):
    formula_response(ipb)
    rows = csv_rows(stream(ipb, analyst))
    row = dict(zip(rows[0], rows[1], strict=True))
    for column, text in FORMULAS.items():
        assert row[column] == "'" + text


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_formulas_are_neutralised_in_every_file_format(ipb, analyst, requested, fmt):
    formula_response(ipb)
    export = requested(questionnaire=ipb, kind="responses_wide", fmt=fmt, user=analyst)
    path = export_file_path(export)
    if fmt == "csv":
        rows = csv_rows(path.read_bytes())
        row = dict(zip(rows[0], rows[1], strict=True))
    elif fmt == "xlsx":
        sheet = load_workbook(path, read_only=True).active
        header, _labels, values = xlsx_rows(sheet)
        row = dict(zip(header, values, strict=True))
    else:
        frame, _meta = pyreadstat.read_sav(str(path))
        row = {name.replace("_other", ".other"): frame.at[0, name] for name in frame.columns}
    for column, text in FORMULAS.items():
        assert row[column] == "'" + text, (fmt, column)


class _Cells(Exporter):
    """A stand-in exporter with the cells no submission can carry (leading tab or CR)."""

    id = "cells"
    label = "cells"
    VALUES = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "'=x", "plain"]

    def columns(self) -> list[Column]:
        texts = [Column(f"t{i}", "", TEXT) for i in range(len(self.VALUES))]
        return [*texts, Column("neg", "", NUMBER), Column("negf", "", NUMBER)]

    def rows(self):
        yield [*self.VALUES, -5, -2.5]


ESCAPED = ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "''=x", "plain"]


def test_each_writer_escapes_every_trigger_and_leaves_negative_numbers(ipb, tmp_path):
    exporter = _Cells(questionnaire=ipb, responses=None, options=ExportOptions(labels=False))
    rows = csv_rows(b"".join(csv_chunks(exporter)))
    assert rows[1] == [*ESCAPED, "-5", "-2.5"]

    write_xlsx(exporter, tmp_path / "cells.xlsx")
    sheet = load_workbook(tmp_path / "cells.xlsx").active
    values = [cell.value for cell in sheet[2]]
    # openpyxl writes through lxml (python-docx's dependency), which keeps a carriage return
    # as &#13; so it reads back as written; the quote is what matters
    assert values[:-2] == ESCAPED
    assert values[-2:] == [-5, -2.5]
    assert all(cell.data_type == "s" for cell in sheet[2][:-2])

    write_sav(exporter, tmp_path / "cells.sav", max_rows=10)
    frame, _meta = pyreadstat.read_sav(str(tmp_path / "cells.sav"))
    assert list(frame.iloc[0])[:-2] == ESCAPED
    assert list(frame.iloc[0])[-2:] == [-5, -2.5]


def test_a_header_that_looks_like_a_formula_is_escaped_too(ipb):
    class Header(_Cells):
        def columns(self) -> list[Column]:
            return [Column("=HYPERLINK()", "@label", TEXT)]

        def rows(self):
            yield ["x"]

    exporter = Header(questionnaire=ipb, responses=None, options=ExportOptions(labels=True))
    assert csv_rows(b"".join(csv_chunks(exporter)))[:2] == [["'=HYPERLINK()"], ["'@label"]]


# --- XLSX and SAV --------------------------------------------------------------------------


def test_the_xlsx_holds_codes_labels_and_values(ipb, analyst, requested, responses):
    export = requested(
        questionnaire=ipb,
        kind="responses_wide",
        fmt="xlsx",
        options={"labels": True, "language": "en", "values": "codes"},
        user=analyst,
    )
    assert export.status == "done" and export.rows == len(responses)
    sheet = load_workbook(export_file_path(export), read_only=True).active
    rows = xlsx_rows(sheet)
    header, labels = rows[0], rows[1]
    assert labels[header.index("D1")] == "Gender"
    for row, response in zip(rows[2:], responses, strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["response_id"] == response.pk
        for column, expected in expected_cells(response.answers, ipb).items():
            assert same(cells[column], expected), column


def test_rows_past_a_worksheet_go_on_in_the_next_sheet_as_the_first_says(
    ipb, analyst, requested, monkeypatch
):
    from exports.exporters import base

    monkeypatch.setattr(base, "XLSX_MAX_ROWS", 4)  # 2 header rows + 2 data rows a sheet
    made = [submit(ipb) for _ in range(5)]
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="xlsx", user=analyst)
    assert export.status == "done", export.error
    assert export.rows == 5
    book = load_workbook(export_file_path(export))
    assert book.sheetnames == [f"responses_wide ({n})" for n in (1, 2, 3)]
    ids = []
    for sheet in book.worksheets:
        rows = xlsx_rows(sheet)
        assert rows[0][0] == "response_id" and len(rows) <= 4  # each sheet has the header
        ids += [row[0] for row in rows[2:]]
    assert ids == [response.pk for response in made]  # every row once, in order
    note = book.worksheets[0]["A1"].comment
    assert note is not None and "5" in note.text and "2" in note.text
    assert book.worksheets[1]["A1"].comment is None


def test_the_sav_has_valid_names_variable_labels_and_value_labels(
    ipb, analyst, requested, responses
):
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="sav", user=analyst)
    assert export.status == "done", export.error
    frame, meta = pyreadstat.read_sav(str(export_file_path(export)))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert "Q5_a" in frame.columns and "Q9_7" in frame.columns and "D6_other" in frame.columns
    assert labels["Q5_a"] == "Q5.a 您对使用过的党建学习类APP以下方面的评价是？: 内容丰富度"
    assert labels["D1"] == "D1 您的性别"
    assert meta.variable_value_labels["D1"] == {1.0: "男", 2.0: "女"}
    assert meta.variable_value_labels["Q5_a"][4.0] == "较差"
    with translation.override(ipb.default_language):  # the export's language
        chosen = {0.0: translation.gettext("not chosen"), 1.0: translation.gettext("chosen")}
    assert meta.variable_value_labels["Q9_1"] == chosen
    assert meta.variable_measure["D1"] == "nominal"
    for index, response in enumerate(responses):
        for column, expected in expected_cells(response.answers, ipb).items():
            name = spss_names([column])[0]
            value = frame.at[index, name]
            assert same(None if value == "" else value, expected), column


def test_spss_names_are_valid_unique_and_not_reserved():
    names = spss_names(["Q5.a", "Q5_a", "q5.A", "1x", "AND", "问题", "x" * 80])
    assert names[:5] == ["Q5_a", "Q5_a_2", "q5_A_3", "V1x", "AND_"]
    assert names[5][0].isalpha() and all(ch.isalnum() or ch == "_" for ch in names[5])
    assert len(names[6]) == 64


def test_a_sav_export_above_the_row_limit_is_refused_with_a_message(ipb, analyst, media, settings):
    from exports.exporters.base import ExportTooLarge

    settings.EXPORT_SAV_MAX_ROWS = 1
    submit(ipb)
    submit(ipb)
    with translation.override("en"), pytest.raises(ExportTooLarge, match="export CSV"):
        export_request(
            questionnaire=ipb, kind="responses_wide", fmt="sav", filters={}, user=analyst
        )


def test_a_long_sav_past_the_limit_fails_the_job_with_a_readable_error(
    ipb, analyst, requested, media, settings
):
    settings.EXPORT_SAV_MAX_ROWS = 10  # one response, but ~60 long rows
    submit(ipb)
    with translation.override("en"):
        export = requested(questionnaire=ipb, kind="responses_long", fmt="sav", user=analyst)
    assert export.status == "failed"
    assert "CSV" in export.error
    assert not any(media.rglob("*.sav*"))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_an_export_of_no_responses_has_the_header_only(ipb, analyst, requested, fmt):
    export = requested(questionnaire=ipb, kind="responses_wide", fmt=fmt, user=analyst)
    assert (export.status, export.rows, export.error) == ("done", 0, "")
    path = export_file_path(export)
    if fmt == "csv":
        assert len(csv_rows(path.read_bytes())) == 1
    elif fmt == "xlsx":  # the code row and the label row
        assert len(xlsx_rows(load_workbook(path, read_only=True).active)) == 2
    else:
        frame, meta = pyreadstat.read_sav(str(path))
        assert len(frame) == 0 and "Q5_a" in meta.column_names


@pytest.mark.parametrize(
    ("options", "field"),
    [({"language": "fr"}, "language"), ({"labels": "maybe"}, "labels"), ({"colour": 1}, "colour")],
)
def test_a_wrong_option_is_refused_naming_it(ipb, analyst, options, field):

    with pytest.raises(ExportInvalid) as refused:
        export_stream_csv(
            questionnaire=ipb, kind="responses_wide", filters={}, options=options, user=analyst
        )
    assert field in refused.value.fields


def test_a_hidden_option_keeps_its_answers_and_is_labelled_in_the_sav(ipb, analyst, requested):
    from survey.models import Option

    submit(ipb, complete_answers(D1=2))
    Option.objects.filter(question__questionnaire=ipb, question__code="D1", code="2").update(
        hidden=True
    )
    ipb.save()  # the structure cache follows updated_at
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="sav", user=analyst)
    assert export.status == "done", export.error
    frame, meta = pyreadstat.read_sav(str(export_file_path(export)))
    with translation.override(ipb.default_language):
        hidden = translation.gettext("%(label)s (no longer offered)") % {"label": "女"}
    assert meta.variable_value_labels["D1"] == {1.0: "男", 2.0: hidden}
    assert list(frame["D1"]) == [2.0]


def test_a_hidden_options_cells_are_in_the_exports_language_whatever_the_page_language(
    ipb, analyst
):
    from survey.models import Option

    submit(ipb, complete_answers(D1=2))
    Option.objects.filter(question__questionnaire=ipb, question__code="D1", code="2").update(
        hidden=True
    )
    ipb.save()  # the structure cache follows updated_at
    with translation.override("zh-hans"):
        hidden = translation.gettext("%(label)s (no longer offered)") % {"label": "女"}
    assert hidden != "女 (no longer offered)"  # the catalogue translates it
    with translation.override("en"):  # the analyst's pages are in English
        body = export_stream_csv(
            questionnaire=ipb, kind="responses_wide", filters={}, options={}, user=analyst
        )
        rows = csv_rows(b"".join(body.chunks))
    assert dict(zip(rows[0], rows[1], strict=True))["D1"] == hidden


# --- presentable by default -------------------------------------------------------------


def test_by_default_answers_statuses_and_reasons_read_as_words(ipb, analyst):
    submit(ipb, complete_answers(D1=2, Q5={"a": 1, "b": 2, "c": 2, "d": 1, "e": 4}))
    submit(ipb, complete_answers(Q17=4))  # fails the attention check
    body = export_stream_csv(
        questionnaire=ipb,
        kind="responses_wide",
        filters={"status": "all"},
        options={},
        user=analyst,
    )
    rows = csv_rows(b"".join(body.chunks))
    header, first, second = rows[0], rows[1], rows[2]
    assert len(rows) == 3  # CSV: one header row unless labels=true
    cell = dict(zip(header, first, strict=True))
    assert cell["D1"] == "女" and cell["Q5.a"] == "非常好" and cell["Q5.e"] == "较差"
    assert cell["Q9.1"] == "1"  # a multiple choice stays 1/0: its header names the option
    assert cell["status"] == "有效" and cell["reasons"] == ""
    other = dict(zip(header, second, strict=True))
    assert (other["status"], other["reasons"]) == ("无效", "未通过注意力检测")
    english = export_stream_csv(
        questionnaire=ipb, kind="responses_wide", filters={}, options={"language": "en"},
        user=analyst,
    )  # fmt: skip
    rows = csv_rows(b"".join(english.chunks))
    assert dict(zip(rows[0], rows[1], strict=True))["D1"] == "Female"


def test_the_xlsx_has_a_label_row_words_and_real_date_times(ipb, analyst, requested, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    response = submit(ipb, complete_answers(D1=1))
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="xlsx", user=analyst)
    sheet = load_workbook(export_file_path(export)).active
    header = [cell.value for cell in sheet[1]]
    labels = [cell.value for cell in sheet[2]]
    values = {code: cell for code, cell in zip(header, sheet[3], strict=True)}
    assert labels[header.index("D1")] == "您的性别"
    assert values["D1"].value == "男" and values["status"].value == "有效"
    submitted = values["submitted"]
    assert submitted.is_date and submitted.number_format == "yyyy-mm-dd hh:mm:ss"
    local = response.submitted_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert submitted.value == local.replace(tzinfo=None, microsecond=0) or (
        abs((submitted.value - local.replace(tzinfo=None)).total_seconds()) < 0.001
    )


def test_values_must_be_labels_or_codes(ipb, analyst):
    with pytest.raises(ExportInvalid) as refused:
        export_stream_csv(
            questionnaire=ipb, kind="responses_wide", filters={}, options={"values": "names"},
            user=analyst,
        )  # fmt: skip
    assert "values" in refused.value.fields


def test_an_spss_file_holds_codes_whatever_was_asked(ipb, analyst, requested):
    submit(ipb, complete_answers(D1=2))
    export = requested(
        questionnaire=ipb, kind="responses_wide", fmt="sav", options={"values": "labels"},
        user=analyst,
    )  # fmt: skip
    frame, meta = pyreadstat.read_sav(str(export_file_path(export)))
    assert frame.at[0, "D1"] == 2.0 and meta.variable_value_labels["D1"][2.0] == "女"
    assert export.options["values"] == "codes"
