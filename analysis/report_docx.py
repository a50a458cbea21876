"""The drafted report as a Word file (python-docx): real headings, tables and charts.

The file opens and edits in Word and WPS: headings use Word's built-in heading styles (so the
navigation pane and a table of contents find them), tables are Word tables, and each chart is
the results page's own SVG drawn as a PNG (``analysis.services.charts.chart_png``). Chinese
text is set in a font Word and WPS have for East Asian scripts.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from analysis.services.charts import ChartsUnavailable, chart_png
from analysis.services.report_build import BuiltReport

EAST_ASIAN_FONT = "宋体"
LATIN_FONT = "Calibri"
CHART_WIDTH = Cm(15)


def _fonts(document: Any) -> None:
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid"):
        try:
            style = document.styles[name]
        except KeyError:
            continue
        style.font.name = LATIN_FONT
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    document.styles["Normal"].font.size = Pt(10.5)


def _table(document: Any, table: dict[str, Any]) -> None:
    headers, rows = table.get("headers") or [], table.get("rows") or []
    if not headers or not rows:
        return
    grid = document.add_table(rows=1, cols=len(headers))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, headers, strict=True):
        cell.text = str(text)
        for run in cell.paragraphs[0].runs:
            run.font.bold = True
    for row in rows:
        cells = grid.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            cell.text = str(text)


def report_docx(report: BuiltReport) -> bytes:
    """The Word file of a built report (its rewrites applied), in the active language."""
    assert report.draft is not None
    document = Document()
    _fonts(document)
    properties = document.core_properties
    properties.title = report.title
    properties.author = "Wenji"
    created = report.run.finished_at if report.run else None
    if created is not None:  # the run's time, so the same run gives the same file
        properties.created = created
        properties.modified = created
    document.add_heading(report.title, level=0)
    document.add_paragraph(report.subtitle)
    stale_note = _("figures changed since this paragraph was rewritten")
    no_chart_note = _("(The chart could not be drawn here: the server lacks Cairo.)")
    for chapter in report.draft.chapters:
        document.add_heading(chapter.title, level=1)
        for part in chapter.parts:
            if len(chapter.parts) > 1 or part.title != chapter.title:
                document.add_heading(part.title, level=2)
            for finding in part.findings:
                entry = report.shown[finding.key]
                paragraph = document.add_paragraph(entry.text)
                if entry.stale:
                    note = paragraph.add_run(f" [{stale_note}]")
                    note.font.color.rgb = RGBColor(0xB0, 0x3A, 0x2E)
                    note.font.italic = True
            if part.chart:
                try:
                    picture = chart_png(part.chart)
                except ChartsUnavailable:
                    document.add_paragraph(no_chart_note)
                else:
                    document.add_picture(io.BytesIO(picture), width=CHART_WIDTH)
            if part.table:
                _table(document, part.table)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
