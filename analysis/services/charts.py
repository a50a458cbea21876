"""Server-rendered SVG bar charts for the analyst pages (no JavaScript, no external assets).

Promises:
- Every text (title, labels, values) is escaped; the result is safe to put in a page as is.
- A chart is accessible: ``role="img"``, an ``aria-label`` and a ``<title>`` naming it, and
  each bar carries its own ``<title>`` (label and value) for a pointer or a screen reader.
- No ``style`` attribute and no inline style sheet (the pages' CSP allows neither): colours
  come from classes styled by ``static/analysis/results.css``.
- The drawing scales with its container (a ``viewBox``, no fixed width), so a phone shows it.
- Axis titles (``Axes``), when given, head the label column and the bars, so that a chart
  copied into a report still says what its bars and labels are.
- ``chart_png`` draws the very same SVG as a PNG (the drafted report's Word file carries it),
  with the page's colours written in and a font that has Chinese glyphs.
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


AXES_ROW = 22


@dataclass(frozen=True)
class Axes:
    """What the labels are (``labels``, over the label column) and what the bars measure
    (``values``, over the bars)."""

    labels: str
    values: str


def _axes_row(axes: Axes | None) -> tuple[str, int]:
    """The header row naming both axes, and its height (nothing without axes)."""
    if axes is None:
        return "", 0
    return (
        f'<g class="chart-axes"><text class="chart-axis" x="{LABEL_WIDTH - 8}" y="11" '
        f'text-anchor="end" dominant-baseline="middle">{escape(_short(axes.labels))}</text>'
        f'<text class="chart-axis" x="{LABEL_WIDTH}" y="11" dominant-baseline="middle">'
        f"{escape(axes.values)}</text></g>",
        AXES_ROW,
    )


def _svg(title: str, height: float, body: str) -> SafeString:
    name = escape(title)
    return mark_safe(  # every text of the body went through escape()
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{name}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{name}</title>{body}</svg>"
    )


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


def _row(index: int, bar: Bar, scale: float, offset: int = 0) -> str:
    top = offset + index * ROW
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


def bar_chart_svg(
    *,
    title: str,
    bars: Sequence[Bar],
    maximum: float | None = None,
    axes: Axes | None = None,
) -> SafeString:
    """A horizontal bar chart of ``bars`` in the given order, as an inline ``<svg>``.

    Bars are scaled to ``maximum`` (default: the largest value; shares pass 1.0 so that
    100% is the full width). An empty ``bars`` gives an empty string.
    """
    if not bars:
        return mark_safe("")
    values = [bar.value for bar in bars if bar.value is not None]
    scale = maximum if maximum is not None else max(values, default=0.0)
    header, offset = _axes_row(axes)
    rows = "".join(_row(index, bar, scale, offset) for index, bar in enumerate(bars))
    return _svg(title, offset + ROW * len(bars), header + rows)


SEGMENT_CLASSES = 7  # chart-seg-0 … chart-seg-6 in results.css; more parts reuse them
LEGEND_ROW = 22


@dataclass(frozen=True)
class Stack:
    """One 100% bar: its label and its parts' shares (None: no answers), in legend order."""

    label: str
    shares: Sequence[float | None]
    n: int


def stacked_bar_svg(
    *,
    title: str,
    legend: Sequence[str],
    stacks: Sequence[Stack],
    axes: Axes | None = None,
) -> SafeString:
    """Horizontal 100% stacked bars (a matrix's distribution per item), with a legend on top.

    Each part carries a ``<title>`` (item, point, share); parts of 8% or more show their share.
    An empty ``stacks`` gives an empty string.
    """
    if not stacks or not legend:
        return mark_safe("")
    span = WIDTH - LABEL_WIDTH - VALUE_ROOM
    legend_rows = -(-len(legend) // 4)
    header, offset = _axes_row(axes)
    top = offset + legend_rows * LEGEND_ROW
    parts = [header]
    for index, name in enumerate(legend):
        x = (index % 4) * (WIDTH / 4)
        y = offset + (index // 4) * LEGEND_ROW
        parts.append(
            f'<g class="chart-legend"><rect class="chart-seg-{index % SEGMENT_CLASSES}" '
            f'x="{x:.1f}" y="{y + 4}" width="12" height="12"/>'
            f'<text class="chart-label" x="{x + 16:.1f}" y="{y + 10}" '
            f'dominant-baseline="middle">{escape(_short(name))}</text></g>'
        )
    for row, stack in enumerate(stacks):
        y = top + row * ROW
        middle = y + ROW / 2
        label = escape(stack.label)
        parts.append(
            f'<g class="chart-row"><title>{label} (n={stack.n})</title>'
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(_short(stack.label))}</text>'
        )
        x = float(LABEL_WIDTH)
        for index, share in enumerate(stack.shares):
            if not share:
                continue
            width = share * span
            shown = percent_text(share)
            parts.append(
                f'<rect class="chart-seg-{index % SEGMENT_CLASSES}" x="{x:.1f}" '
                f'y="{y + (ROW - BAR) / 2:.1f}" width="{width:.1f}" height="{BAR}">'
                f"<title>{label}: {escape(legend[index])} {shown}</title></rect>"
            )
            if share >= 0.08:
                parts.append(
                    f'<text class="chart-seg-text" x="{x + width / 2:.1f}" y="{middle:.1f}" '
                    f'text-anchor="middle" dominant-baseline="middle">{share * 100:.0f}</text>'
                )
            x += width
        parts.append(
            f'<text class="chart-value" x="{LABEL_WIDTH + span + 6}" y="{middle:.1f}" '
            f'dominant-baseline="middle">n={stack.n}</text></g>'
        )
    return _svg(title, top + ROW * len(stacks), "".join(parts))


# The page's chart colours (static/analysis/results.css), written into a standalone drawing.
# Fonts are named first that have Chinese glyphs: the renderer picks one font, no fallback.
STANDALONE_STYLE = (
    "text{font-family:'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',"
    "'PingFang SC',sans-serif;font-size:13px;fill:#333}"
    ".chart-track{fill:#f2f2f2}.chart-bar{fill:#c9302c}.chart-bar-marked{fill:#237804}"
    ".chart-seg-0{fill:#1d6f42}.chart-seg-1{fill:#6aa84f}.chart-seg-2{fill:#bfbfbf}"
    ".chart-seg-3{fill:#e69138}.chart-seg-4{fill:#c9302c}.chart-seg-5{fill:#674ea7}"
    ".chart-seg-6{fill:#3d85c6}text.chart-seg-text{fill:#fff;font-size:11px}"
    "text.chart-axis{fill:#666;font-size:12px;font-style:italic}"
)


class ChartsUnavailable(Exception):
    """The machine lacks the Cairo library that draws PNGs (the SVGs need nothing)."""


def chart_png(svg: str, *, scale: float = 2.0) -> bytes:
    """One chart of this module as a PNG on white, ``scale`` times its drawn size.

    Raises ``ChartsUnavailable`` where the Cairo library is not installed (cairosvg loads it
    when imported, so it is imported here, not with the module)."""
    try:
        import cairosvg
    except OSError as error:  # the Python package is installed, the C library is not
        raise ChartsUnavailable(str(error)) from error
    opening = svg.index(">") + 1
    standalone = f"{svg[:opening]}<style>{STANDALONE_STYLE}</style>{svg[opening:]}"
    return cairosvg.svg2png(
        bytestring=standalone.encode("utf-8"), scale=scale, background_color="white"
    )
