"""The analysis tables as a report workbook (XLSX), the way banner tables are handed in.

Sheets, in the export's language:

- **About** (说明): the questionnaire, the run (number, finished, responses read), the bases
  (collected, valid, the valid rate), the significance level, the tests and the correction,
  what the letters mean, and that the tables cover every valid response of the run.
- **Frequencies** (频数): one block per question over all valid responses: a title row, a base
  row, then one row per option (count and share), or per matrix item (its distribution, top-2
  share, mean), or the statistics of a number.
- **Cross-tabs** (交叉表): one block per question with every banner column side by side under a
  merged banner header (the question's own banner entry left out): a base row, then column
  shares (or means), each with its significance letters in the cell to its right. Columns with
  a base under 30 are marked in the header.
- **Scores** (得分): each derived score's mean per banner column, with letters.
- **Segments** (人群): each segment against the rest: shares and scores, difference, p.

Shares are numbers with a percentage format (0.0%), means numbers with two decimals, never
text; headers are frozen. The workbook is built from the results document alone (no response
is read), so its size follows the tables, not the responses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import translation
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from analysis.models import AnalysisRun
from survey.labels import label_text
from survey.models import Questionnaire
from wenji.cells import escape_formula

PERCENT = "0.0%"
DECIMAL = "0.00"
WHOLE = "#,##0"
TITLE = Font(bold=True, size=12)
BOLD = Font(bold=True)
MUTED = Font(color="666666", size=9)
LETTERS = Font(color="135200", bold=True, size=9)
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
LOW_FILL = PatternFill("solid", fgColor="FFF7E6")
RULE = Border(bottom=Side(style="thin", color="BFBFBF"))


def _text(value: Any) -> Any:
    """Text cells escaped against formulas (a label could start with "="); numbers as is."""
    return escape_formula(value) if isinstance(value, str) else value


def _means(
    label: str, total: dict[str, Any], columns: list[dict[str, Any]]
) -> tuple[str, Any, list[tuple[Any, list[str] | None]], str]:
    """A row of means: the total's, then each column's with its letters."""
    cells = [(column.get("mean"), column.get("mean_letters")) for column in columns]
    return label, total.get("mean"), cells, DECIMAL


class _Sheet:
    """Appends rows to a worksheet, with number formats and fonts per cell."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet
        self.row = 1

    def put(
        self, column: int, value: Any, *, number_format: str | None = None, font: Any = None
    ) -> None:
        cell = self.sheet.cell(row=self.row, column=column, value=_text(value))
        if number_format and isinstance(value, int | float):
            cell.number_format = number_format
        if font is not None:
            cell.font = font

    def line(self, values: Iterable[Any], *, font: Any = None, start: int = 1) -> None:
        for offset, value in enumerate(values):
            self.put(start + offset, value, font=font)
        self.row += 1

    def skip(self, rows: int = 1) -> None:
        self.row += rows


class TablesWorkbook:
    """Builds the workbook of one results document (see the module's docstring)."""

    def __init__(
        self,
        results: dict[str, Any],
        *,
        language: str,
        questionnaire: Questionnaire,
        run: AnalysisRun,
    ) -> None:
        self.results = results
        self.language = language
        self.questionnaire = questionnaire
        self.run = run

    def text(self, label: Any) -> str:
        return label_text(label, self.language)

    def build(self, *, one_question: bool = False) -> Workbook:
        """The whole workbook; ``one_question``: About, Frequencies and Cross-tabs only (the
        results hold the one question the page's table download asks for)."""
        with translation.override(self.language):
            book = Workbook()
            self._about(_Sheet(book.active))
            book.active.title = _("About")[:31]
            self._frequencies(_Sheet(book.create_sheet(_("Frequencies")[:31])))
            self._crosstabs(_Sheet(book.create_sheet(_("Cross-tabs")[:31])))
            if not one_question:
                self._scores(_Sheet(book.create_sheet(_("Scores")[:31])))
                self._segments(_Sheet(book.create_sheet(_("Segments")[:31])))
        return book

    # --- about ---------------------------------------------------------------------------

    def _about(self, out: _Sheet) -> None:
        validity = self.results.get("validity") or {}
        finished = self.run.finished_at
        out.line([self.text(self.questionnaire.title)], font=TITLE)
        out.skip()
        corrections = {"holm": _("Holm"), "bonferroni": _("Bonferroni"), "none": _("None")}
        rows = [
            (_("Questionnaire"), self.questionnaire.slug),
            (_("Analysis run"), f"#{self.run.pk}"),
            (_("Finished"), localtime(finished).strftime("%Y-%m-%d %H:%M") if finished else ""),
            (_("Collected"), validity.get("collected")),
            (_("Valid"), validity.get("valid")),
            (_("Valid rate"), validity.get("valid_rate")),
            (_("Significance level"), self.results.get("significance")),
            (
                _("Multiple-comparison correction"),
                corrections.get(self.results.get("correction") or "", _("None")),
            ),
        ]
        for name, value in rows:
            out.put(1, name, font=BOLD)
            fmt = PERCENT if name == _("Valid rate") else None
            out.put(2, value, number_format=fmt)
            out.row += 1
        out.skip()
        for sentence in (
            _("Every table covers the valid responses of this run (valid and flagged)."),
            _(
                "Shares are over those who answered the question; multiple-choice shares add "
                "up to more than 100%."
            ),
            _(
                "Cross-tabs: the letters beside a cell name the columns of the same banner it "
                "is significantly higher than (shares: two-proportion z-test; means: Welch's "
                "t-test; all pairs of a row corrected together)."
            ),
            _("A column marked * has a base under 30: read it with care."),
        ):
            out.line([sentence])
        out.sheet.column_dimensions["A"].width = 28
        out.sheet.column_dimensions["B"].width = 40

    # --- frequencies ---------------------------------------------------------------------

    def _frequencies(self, out: _Sheet) -> None:
        out.sheet.freeze_panes = "A2"
        out.line([_("Question"), _("Answer"), _("Count"), _("Share"), _("Mean")], font=BOLD)
        for table in self.results.get("questions") or []:
            out.skip()
            out.line([f"{table['code']} {self.text(table.get('label'))}"], font=TITLE)
            total = table.get("total") or {}
            kind = table.get("type")
            if kind in ("single", "multiple"):
                out.put(2, _("Base (n)"), font=MUTED)
                out.put(3, total.get("n"), number_format=WHOLE, font=MUTED)
                if total.get("mean") is not None:
                    out.put(5, total["mean"], number_format=DECIMAL)
                out.row += 1
                for option in table.get("options") or []:
                    cell = (total.get("options") or {}).get(option["code"]) or {}
                    out.put(2, self.text(option.get("label")))
                    out.put(3, cell.get("count"), number_format=WHOLE)
                    out.put(4, cell.get("share"), number_format=PERCENT)
                    out.row += 1
            elif kind == "matrix":
                scale = table.get("scale") or []
                out.put(2, _("Item"), font=BOLD)
                out.put(3, "n", font=BOLD)
                for index, point in enumerate(scale):
                    out.put(4 + index, self.text(point.get("label")), font=BOLD)
                after = 4 + len(scale)
                out.put(after, _("Top-2 share"), font=BOLD)
                out.put(after + 1, _("Mean"), font=BOLD)
                out.row += 1
                for item in table.get("items") or []:
                    stats = (total.get("items") or {}).get(item["code"]) or {}
                    out.put(2, self.text(item.get("label")))
                    out.put(3, stats.get("n"), number_format=WHOLE)
                    for index, point in enumerate(scale):
                        share = ((stats.get("distribution") or {}).get(point["code"]) or {}).get(
                            "share"
                        )
                        out.put(4 + index, share, number_format=PERCENT)
                    out.put(after, (stats.get("top2") or {}).get("share"), number_format=PERCENT)
                    out.put(after + 1, stats.get("mean"), number_format=DECIMAL)
                    out.row += 1
            elif kind in ("number", "number_grid"):
                names = ("n", "mean", "sd", "min", "median", "max")
                out.line([None, _("Item"), *names], font=BOLD)
                if kind == "number":
                    entries = [("", total)]
                else:
                    entries = [
                        (self.text(item.get("label")), (total.get("items") or {}).get(item["code"]))
                        for item in table.get("items") or []
                    ]
                for label, stats in entries:
                    stats = stats or {}
                    out.put(2, label)
                    for index, name in enumerate(names):
                        fmt = WHOLE if name == "n" else DECIMAL
                        out.put(3 + index, stats.get(name), number_format=fmt)
                    out.row += 1
            else:
                out.put(2, _("Answered"))
                out.put(3, total.get("n"), number_format=WHOLE)
                out.row += 1
        out.sheet.column_dimensions["A"].width = 36
        out.sheet.column_dimensions["B"].width = 30

    # --- cross-tabs ----------------------------------------------------------------------

    def _columns(self, skip: str | None = None) -> list[dict[str, Any]]:
        """Every banner column, in order, with its entry; ``skip`` leaves one entry out."""
        columns = []
        for entry in self.results.get("banner") or []:
            if entry.get("kind") == "question" and entry["key"] == skip:
                continue
            for column in entry["columns"]:
                label = self.text(column.get("label")) or _("Everyone else")
                columns.append({**column, "entry": entry, "text": label})
        return columns

    def _banner_header(
        self, out: _Sheet, columns: list[dict[str, Any]], first: str, total_n: Any = None
    ) -> None:
        """Three header rows: banner entries merged over their columns, column labels with
        their letter, and the bases (n); each column takes two cells (value, letters)."""
        sheet = out.sheet
        top = out.row
        out.put(1, first, font=BOLD)
        out.put(2, _("Total"), font=BOLD)
        start = 3
        spans: list[tuple[int, int, str]] = []
        for column in columns:
            entry = column["entry"]
            if spans and spans[-1][2] == entry["key"]:
                spans[-1] = (spans[-1][0], start + 1, entry["key"])
            else:
                spans.append((start, start + 1, entry["key"]))
            sheet.cell(row=top + 1, column=start, value=_text(column["text"])).font = BOLD
            sheet.cell(row=top + 1, column=start + 1, value=f"({column['letter']})").font = MUTED
            base = sheet.cell(row=top + 2, column=start, value=column.get("n"))
            base.number_format = WHOLE
            if column.get("low_base"):
                sheet.cell(row=top + 2, column=start + 1, value="*").font = MUTED
                base.fill = LOW_FILL
            start += 2
        labels = {e["key"]: self.text(e.get("label")) for e in self.results.get("banner") or []}
        for first_column, last_column, key in spans:
            cell = sheet.cell(row=top, column=first_column, value=_text(labels.get(key, key)))
            cell.font = BOLD
            cell.alignment = Alignment(horizontal="center")
            sheet.merge_cells(
                start_row=top, start_column=first_column, end_row=top, end_column=last_column
            )
        sheet.cell(row=top + 2, column=1, value=_("Base (n)")).font = MUTED
        sheet.cell(row=top + 2, column=2, value=total_n).number_format = WHOLE
        for row in range(top, top + 3):
            for column in range(1, start):
                sheet.cell(row=row, column=column).fill = HEADER_FILL
        for column in range(1, start):
            sheet.cell(row=top + 2, column=column).border = RULE
        out.row = top + 3

    def _value_row(
        self,
        out: _Sheet,
        label: str,
        total: Any,
        cells: list[tuple[Any, list[str] | None]],
        number_format: str,
    ) -> None:
        out.put(1, label)
        out.put(2, total, number_format=number_format)
        for index, (value, letters) in enumerate(cells):
            out.put(3 + 2 * index, value, number_format=number_format)
            if letters:
                out.put(4 + 2 * index, "".join(letters), font=LETTERS)
        out.row += 1

    def _crosstabs(self, out: _Sheet) -> None:
        if not self.results.get("banner"):
            out.line([_("No banner is defined: there are no cross-tabs.")])
            return
        for table in self.results.get("questions") or []:
            if table.get("type") == "text":
                continue
            columns = self._columns(skip=table["code"])
            if not columns:
                continue
            out.line([f"{table['code']} {self.text(table.get('label'))}"], font=TITLE)
            by, total = table.get("by") or {}, table.get("total") or {}
            self._banner_header(out, columns, _("Answer"), total.get("n"))
            for label, total_value, cells, fmt in self._question_rows(table, by, total, columns):
                self._value_row(out, label, total_value, cells, fmt)
            out.skip()
        out.sheet.column_dimensions["A"].width = 36
        for column in range(3, 3 + 2 * len(self._columns()), 2):
            out.sheet.column_dimensions[get_column_letter(column)].width = 11
            out.sheet.column_dimensions[get_column_letter(column + 1)].width = 5

    def _question_rows(
        self,
        table: dict[str, Any],
        by: dict[str, Any],
        total: dict[str, Any],
        columns: list[dict[str, Any]],
    ) -> Iterable[tuple[str, Any, list[tuple[Any, list[str] | None]], str]]:
        kind = table.get("type")
        keys = [column["key"] for column in columns]
        if kind in ("single", "multiple"):
            for option in table.get("options") or []:
                code = option["code"]
                shares = [((by.get(k) or {}).get("options") or {}).get(code) or {} for k in keys]
                yield (
                    self.text(option.get("label")),
                    ((total.get("options") or {}).get(code) or {}).get("share"),
                    [(s.get("share"), s.get("letters")) for s in shares],
                    PERCENT,
                )
            if total.get("mean") is not None:
                yield _means(_("Mean score"), total, [by.get(k) or {} for k in keys])
        elif kind in ("matrix", "number_grid"):
            for item in table.get("items") or []:
                code = item["code"]
                label = self.text(item.get("label"))
                stats = [((by.get(k) or {}).get("items") or {}).get(code) or {} for k in keys]
                mine = (total.get("items") or {}).get(code) or {}
                if kind == "matrix" and table.get("top2"):
                    yield (
                        _("%(item)s: top-2") % {"item": label},
                        (mine.get("top2") or {}).get("share"),
                        [((s.get("top2") or {}).get("share"), (s.get("top2") or {}).get("letters"))
                         for s in stats],
                        PERCENT,
                    )  # fmt: skip
                yield _means(_("%(item)s: mean") % {"item": label}, mine, stats)
        elif kind == "number":
            yield _means(_("Mean"), total, [by.get(k) or {} for k in keys])

    # --- scores and segments -------------------------------------------------------------

    def _scores(self, out: _Sheet) -> None:
        scores = self.results.get("scores") or []
        if not scores:
            out.line([_("No derived scores are defined.")])
            return
        columns = self._columns()
        out.line([_("Mean score per column")], font=TITLE)
        self._banner_header(out, columns, _("Score"), (self.results.get("base") or {}).get("valid"))
        for score in scores:
            by = score.get("by") or {}
            cells = []
            for column in columns:
                stats = by.get(column["key"])
                cells.append((None, None) if stats is None else
                             (stats.get("mean"), stats.get("mean_letters")))  # fmt: skip
            label = self.text(score.get("label"))
            self._value_row(out, label, (score.get("total") or {}).get("mean"), cells, DECIMAL)
        out.sheet.column_dimensions["A"].width = 30

    def _segments(self, out: _Sheet) -> None:
        out.line([_("Segment sizes")], font=TITLE)
        out.line([_("Segment"), _("Members"), _("Share of valid")], font=BOLD)
        for segment in self.results.get("segments") or []:
            out.put(1, self.text(segment.get("label")))
            out.put(2, segment.get("n"), number_format=WHOLE)
            out.put(3, segment.get("share"), number_format=PERCENT)
            out.row += 1
        labels = {
            (table["code"], option["code"]): (
                f"{table['code']} {self.text(table.get('label'))}",
                self.text(option.get("label")),
            )
            for table in self.results.get("questions") or []
            for option in table.get("options") or []
        }
        names = {s["code"]: self.text(s.get("label")) for s in self.results.get("segments") or []}
        for comparison in self.results.get("comparisons") or []:
            out.skip()
            title = _("%(segment)s against everyone else") % {
                "segment": names.get(comparison["segment"], comparison["segment"])
            }
            out.line([title], font=TITLE)
            out.line(
                [_("Question"), _("Answer"), _("Segment"), _("Everyone else"), _("Difference"),
                 "p", _("Significant")],
                font=BOLD,
            )  # fmt: skip
            for test in comparison.get("options") or []:
                question, option = labels.get((test["question"], test["option"]), ("", ""))
                self._test_row(out, question, option, test, "share", PERCENT)
            for test in comparison.get("scores") or []:
                self._test_row(out, _("Score"), test["score"], test, "mean", DECIMAL)
        out.sheet.column_dimensions["A"].width = 40
        out.sheet.column_dimensions["B"].width = 30

    def _test_row(
        self, out: _Sheet, what: str, detail: str, test: dict[str, Any], key: str, fmt: str
    ) -> None:
        out.put(1, what)
        out.put(2, detail)
        out.put(3, (test.get("segment") or {}).get(key), number_format=fmt)
        out.put(4, (test.get("rest") or {}).get(key), number_format=fmt)
        out.put(5, test.get("difference"), number_format=fmt)
        out.put(6, test.get("p"), number_format="0.0000")
        significant = test.get("significant")
        out.put(7, "" if significant is None else (_("yes") if significant else _("no")))
        if significant:
            for column in range(1, 8):
                out.sheet.cell(row=out.row, column=column).font = BOLD
        out.row += 1
