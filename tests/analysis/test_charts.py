"""The server-drawn charts: stacked distributions and number histograms."""

from __future__ import annotations

import re

import pytest

from analysis.services.charts import Axes, Bar, Stack, bar_chart_svg, stacked_bar_svg
from analysis.services.tables import histogram


def test_a_stacked_bar_has_one_part_per_answered_point_escaped_and_titled():
    svg = stacked_bar_svg(
        title="Q5 <b>",
        legend=["好", "<script>", "差"],
        stacks=[Stack("内容", [0.5, 0.25, 0.25], 8), Stack("空", [None, None, None], 0)],
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="16"><title>', svg)]
    assert len(widths) == 3 and widths[0] == widths[1] * 2 == widths[2] * 2
    assert "<title>内容: 好 50.0%</title>" in svg and "n=0" in svg
    assert "style=" not in svg
    assert stacked_bar_svg(title="x", legend=["a"], stacks=[]) == ""


def test_axis_titles_head_the_labels_and_the_bars_and_push_the_rows_down():
    bars = [Bar("男", 0.4, "40.0%"), Bar("女", 0.6, "60.0%")]
    plain = bar_chart_svg(title="D1", bars=bars, maximum=1.0)
    titled = bar_chart_svg(
        title="D1", bars=bars, maximum=1.0, axes=Axes(labels="选项", values="<占比>")
    )
    assert "chart-axis" not in plain
    axis = re.findall(r'<text class="chart-axis" x="(\d+)"[^>]*>([^<]*)</text>', titled)
    assert axis == [("252", "选项"), ("260", "&lt;占比&gt;")]  # over the labels, over the bars
    height = re.compile(r'viewBox="0 0 640 (\d+)"')
    assert int(height.search(titled)[1]) == int(height.search(plain)[1]) + 22
    first_bar = re.compile(r'class="chart-bar" x="260" y="([\d.]+)"')
    assert float(first_bar.search(titled)[1]) == float(first_bar.search(plain)[1]) + 22
    stacked = stacked_bar_svg(
        title="Q5", legend=["好"], stacks=[Stack("内容", [1.0], 3)], axes=Axes("条目", "占比")
    )
    assert stacked.count('class="chart-axis"') == 2


def test_histograms_of_whole_numbers_have_one_bin_per_value_others_ten_bins():
    assert histogram({"1": 2, "3": 1}) == [
        {"low": 1.0, "high": 1.0, "count": 2},
        {"low": 2.0, "high": 2.0, "count": 0},
        {"low": 3.0, "high": 3.0, "count": 1},
    ]
    wide = histogram({"0": 1, "0.5": 1, "99.5": 1, "100": 3})
    assert len(wide) == 10 and sum(b["count"] for b in wide) == 6
    assert (wide[0]["count"], wide[-1]["count"], wide[-1]["high"]) == (2, 4, 100.0)
    assert histogram({"7.5": 4}) == [{"low": 7.5, "high": 7.5, "count": 4}]
    assert histogram({}) == []


@pytest.mark.usefixtures("english")
def test_a_number_question_is_drawn_as_its_histogram():
    from analysis.presenters import question_tables

    document = {
        "questions": [
            {
                "code": "age",
                "type": "number",
                "label": {"en": "Age"},
                "total": {"n": 3, "mean": 2.0, "sd": 1.0, "min": 1, "median": 2, "max": 3},
                "histogram": histogram({"1": 1, "2": 1, "3": 1}),
            }
        ]
    }
    (table,) = question_tables(document, "en")
    assert table["chart"].count('class="chart-bar"') == 3
    assert "<title>3: 1</title>" in table["chart"]
    assert ">Value</text>" in table["chart"] and ">Responses</text>" in table["chart"]
