"""Server-rendered SVG bar charts for the analyst pages (no JavaScript, no external assets).

Promises:
- Every text (title, labels, values) is escaped; the result is safe to put in a page as is.
- A chart is accessible: ``role="img"``, an ``aria-label`` and a ``<title>`` naming it, and
  each bar carries its own ``<title>`` (label and value) for a pointer or a screen reader.
- No ``style`` attribute and no inline style sheet (the pages' CSP allows neither): colours
  come from classes styled by ``static/analysis/results.css``.
- The drawing scales with its container (a ``viewBox``, no fixed width), so a phone shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
LABEL_WIDTH = 260  # the label column; bars take the rest, less room for the value text
VALUE_ROOM = 90
ROW = 26
BAR = 16
LABEL_CHARS = 22  # a longer label is cut with an ellipsis (the full label is in <title>)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None draws no bar: "no data"), and the value as text."""

    label: str
    value: float | None
    text: str
    marked: bool = False  # drawn in the "significant" style; the text should say so too


def percent_text(share: float | None) -> str:
    """A share (0.4916) as the pages write it: "49.2%"; "–" for no share."""
    return "–" if share is None else f"{share * 100:.1f}%"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _row(index: int, bar: Bar, scale: float) -> str:
    top = index * ROW
    middle = top + ROW / 2
    span = WIDTH - LABEL_WIDTH - VALUE_ROOM
    length = 0.0 if bar.value is None or scale <= 0 else max(0.0, bar.value) / scale * span
    classes = "chart-bar chart-bar-marked" if bar.marked else "chart-bar"
    label, text = escape(bar.label), escape(bar.text)
    return (
        f'<g class="chart-row"><title>{label}: {text}</title>'
        f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" '
        f'text-anchor="end" dominant-baseline="middle">{escape(_short(bar.label))}</text>'
        f'<rect class="chart-track" x="{LABEL_WIDTH}" y="{top + (ROW - BAR) / 2:.1f}" '
        f'width="{span}" height="{BAR}"/>'
        f'<rect class="{classes}" x="{LABEL_WIDTH}" y="{top + (ROW - BAR) / 2:.1f}" '
        f'width="{length:.1f}" height="{BAR}"/>'
        f'<text class="chart-value" x="{LABEL_WIDTH + length + 6:.1f}" y="{middle:.1f}" '
        f'dominant-baseline="middle">{text}</text></g>'
    )


def bar_chart_svg(*, title: str, bars: Sequence[Bar], maximum: float | None = None) -> SafeString:
    """A horizontal bar chart of ``bars`` in the given order, as an inline ``<svg>``.

    Bars are scaled to ``maximum`` (default: the largest value; shares pass 1.0 so that
    100% is the full width). An empty ``bars`` gives an empty string.
    """
    if not bars:
        return mark_safe("")
    values = [bar.value for bar in bars if bar.value is not None]
    scale = maximum if maximum is not None else max(values, default=0.0)
    height = ROW * len(bars)
    rows = "".join(_row(index, bar, scale) for index, bar in enumerate(bars))
    name = escape(title)
    return mark_safe(  # every text above went through escape()
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{name}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{name}</title>{rows}</svg>"
    )
