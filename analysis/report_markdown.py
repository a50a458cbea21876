"""The drafted report as Markdown (``manage.py report_export --format md``): headings,
paragraphs and the tables, for a repository, a wiki or a diff between two runs."""

from __future__ import annotations

from typing import Any

from analysis.services.report_build import BuiltReport


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(table: dict[str, Any]) -> list[str]:
    headers, rows = table.get("headers") or [], table.get("rows") or []
    if not headers or not rows:
        return []
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "|".join(" --- " for _h in headers) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def report_markdown(report: BuiltReport, *, stale_note: str) -> str:
    """The report (its rewrites applied) as one Markdown document."""
    assert report.draft is not None
    lines = [f"# {report.title}", "", report.subtitle, ""]
    for chapter in report.draft.chapters:
        lines += [f"## {chapter.title}", ""]
        for part in chapter.parts:
            if len(chapter.parts) > 1 or part.title != chapter.title:
                lines += [f"### {part.title}", ""]
            for finding in part.findings:
                shown = report.shown[finding.key]
                note = f" *[{stale_note}]*" if shown.stale else ""
                lines += [shown.text + note, ""]
            if part.table:
                lines += _table(part.table)
    return "\n".join(lines).rstrip() + "\n"
