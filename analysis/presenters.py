"""Presenters: the stored results document and collection counts as rows, labels and SVG charts.

Pure functions of what they are given: they read no database, so the results page, the drafted
report and the tables export can build the same rows from one results document. Labels come
with the document in every language; the active language picks one.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from analysis.services.charts import (
    Axes,
    Bar,
    Stack,
    bar_chart_svg,
    percent_text,
    stacked_bar_svg,
)
from analysis.services.tables import Letters, mark_question
from survey.labels import label_text, reason_labels
from survey.models import Response

RANK_BEST = "best"


def collection_present(
    *, days: list[dict[str, Any]], channels: list[dict[str, Any]]
) -> dict[str, Any]:
    """Responses per day (oldest first) as a bar chart, and per channel with readable names."""
    channel_names = dict(Response.Channel.choices)
    day_bars = [
        Bar(label=day["day"].isoformat(), value=day["count"], text=str(day["count"]))
        for day in days
    ]
    return {
        "days_chart": bar_chart_svg(
            title=_("Responses per day"),
            bars=day_bars,
            axes=Axes(labels=_("Day"), values=_("Responses")),
        ),
        "days": days,
        "channels": [
            {"label": channel_names.get(row["channel"], row["channel"]), "count": row["count"]}
            for row in channels
        ],
    }


Row = list[str]


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def validity_context(validity: dict[str, Any]) -> dict[str, Any]:
    """The run's validity summary with readable reasons and the valid rate as a percentage."""
    names = reason_labels()

    def reasons(counts: dict[str, int] | None) -> list[tuple[str, int]]:
        return [(names.get(kind, kind), count) for kind, count in (counts or {}).items() if count]

    return {
        "collected": validity.get("collected"),
        "valid": validity.get("valid"),
        "invalid": validity.get("invalid"),
        "flagged": validity.get("flagged"),
        "valid_rate": percent_text(validity.get("valid_rate")),
        "invalid_by_reason": reasons(validity.get("invalid_by_reason")),
        "flagged_by_reason": reasons(validity.get("flagged_by_reason")),
    }


def _share_table(question: dict[str, Any], title: str, language: str) -> dict[str, Any]:
    options = question.get("options") or []
    total = question.get("total") or {}
    cells = total.get("options") or {}
    multiple = question.get("type") == "multiple"
    rows, bars = [], []
    for option in options:
        cell = cells.get(option["code"]) or {}
        label = label_text(option.get("label"), language) or option["code"]
        row = [label, str(cell.get("count", 0)), percent_text(cell.get("share"))]
        if multiple:
            row.append(percent_text(cell.get("mention_share")))
        rows.append(row)
        bars.append(Bar(label=label, value=cell.get("share"), text=percent_text(cell.get("share"))))
    headers = [_("Option"), _("Count"), _("Share")]
    if multiple:
        headers = [_("Option"), _("Count"), _("Share of respondents"), _("Share of mentions")]
    return {
        "headers": headers,
        "rows": rows,
        "chart": bar_chart_svg(
            title=title,
            bars=bars,
            maximum=1.0,
            axes=Axes(labels=_("Option"), values=_("Share of respondents who answered")),
        ),
        "n": total.get("n"),
        "mean": _number(total["mean"]) if total.get("mean") is not None else "",
        "sd": _number(total.get("sd")),
        "texts": any(option.get("other") for option in options),
    }


def _matrix_table(question: dict[str, Any], title: str, language: str) -> dict[str, Any]:
    items = (question.get("total") or {}).get("items") or {}
    rows, bars = [], []
    for item in question.get("items") or []:
        stats = items.get(item["code"]) or {}
        label = label_text(item.get("label"), language) or item["code"]
        share = (stats.get("top2") or {}).get("share")
        rows.append(
            [
                label,
                str(stats.get("n", 0)),
                percent_text(share),
                _number(stats.get("mean")),
                _number(stats.get("sd")),
            ]
        )
        bars.append(Bar(label=label, value=share, text=percent_text(share)))
    scale = question.get("scale") or []
    legend = [label_text(point.get("label"), language) or point["code"] for point in scale]
    stacks = []
    for item in question.get("items") or []:
        stats = items.get(item["code"]) or {}
        cells = stats.get("distribution") or {}
        stacks.append(
            Stack(
                label=label_text(item.get("label"), language) or item["code"],
                shares=[(cells.get(point["code"]) or {}).get("share") for point in scale],
                n=stats.get("n", 0),
            )
        )
    chart_title = _("%(question)s: answers per item") % {"question": title}
    top2_title = _("%(question)s: top-2 share") % {"question": title}
    return {
        "headers": [_("Item"), "n", _("Top-2 share"), _("Mean"), _("SD")],
        "rows": rows,
        "chart": stacked_bar_svg(
            title=chart_title,
            legend=legend,
            stacks=stacks,
            axes=Axes(labels=_("Item"), values=_("Share of answers per scale point")),
        ),
        "chart_top2": bar_chart_svg(
            title=top2_title,
            bars=bars,
            maximum=1.0,
            axes=Axes(labels=_("Item"), values=_("Share answering the top two points")),
        ),
        "n": None,
    }


def _number_row(stats: dict[str, Any]) -> Row:
    keys = ("mean", "sd", "min", "q1", "median", "q3", "max")
    return [str(stats.get("n", 0)), *(_number(stats.get(key)) for key in keys)]


def _bin_label(low: float, high: float) -> str:
    if low == high:
        return f"{low:g}"
    return f"{low:,.4g} – {high:,.4g}"


def _number_table(question: dict[str, Any], title: str, language: str) -> dict[str, Any]:
    total = question.get("total") or {}
    if question.get("type") == "number":
        headers = ["n", _("Mean"), _("SD"), _("Min"), "Q1", _("Median"), "Q3", _("Max")]
        bars = [
            Bar(
                label=_bin_label(part["low"], part["high"]),
                value=part["count"],
                text=str(part["count"]),
            )
            for part in question.get("histogram") or []
        ]
        chart_title = _("%(question)s: how many answered each value") % {"question": title}
        return {
            "headers": headers,
            "rows": [_number_row(total)],
            "chart": bar_chart_svg(
                title=chart_title,
                bars=bars,
                axes=Axes(labels=_("Value"), values=_("Responses")),
            ),
            "n": None,
        }
    items = total.get("items") or {}
    rows, bars = [], []
    for item in question.get("items") or []:
        stats = items.get(item["code"]) or {}
        label = label_text(item.get("label"), language) or item["code"]
        rows.append([label, *_number_row(stats)])
        bars.append(Bar(label=label, value=stats.get("mean"), text=_number(stats.get("mean"))))
    headers = [_("Item"), "n", _("Mean"), _("SD"), _("Min"), "Q1", _("Median"), "Q3", _("Max")]
    chart_title = _("%(question)s: mean") % {"question": title}
    return {
        "headers": headers,
        "rows": rows,
        "chart": bar_chart_svg(
            title=chart_title, bars=bars, axes=Axes(labels=_("Item"), values=_("Mean"))
        ),
        "n": None,
    }


def _text_table(question: dict[str, Any], title: str, language: str) -> dict[str, Any]:
    n = (question.get("total") or {}).get("n", 0)
    return {"headers": [_("Answered")], "rows": [[str(n)]], "chart": "", "n": None, "texts": True}


_TABLES = {
    "single": _share_table,
    "multiple": _share_table,
    "matrix": _matrix_table,
    "number": _number_table,
    "number_grid": _number_table,
    "text": _text_table,
}


def question_tables(document: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """One table (and chart) per question of the document, over all valid responses."""
    tables = []
    for question in document.get("questions") or []:
        build = _TABLES.get(question.get("type"))
        if build is None:
            continue
        title = label_text(question.get("label"), language) or question["code"]
        table = build(question, title, language)
        responses = (question.get("total") or {}).get("responses")  # weighted tables: also
        tables.append(
            {
                "code": question["code"],
                "label": title,
                "type": question["type"],
                "responses": responses,
                **table,
            }
        )
    return tables


def section_groups(
    document: dict[str, Any], tables: list[dict[str, Any]], language: str
) -> list[dict[str, Any]]:
    """The question tables grouped by the questionnaire's sections, in order (one untitled
    group for a document made before sections were recorded)."""
    by_code = {table["code"]: table for table in tables}
    groups = []
    for section in document.get("sections") or []:
        members = [by_code.pop(code) for code in section.get("questions", []) if code in by_code]
        if members:
            title = label_text(section.get("title"), language) or section["code"]
            groups.append({"code": section["code"], "title": title, "tables": members})
    if by_code:
        groups.append({"code": "other", "title": _("Questions"), "tables": list(by_code.values())})
    return groups


def score_rows(document: dict[str, Any], language: str) -> list[Row]:
    """Derived scores over all valid responses: label, of, n, mean, sd."""
    rows = []
    for score in document.get("scores") or []:
        total = score.get("total") or {}
        label = label_text(score.get("label"), language) or score["code"]
        rows.append(
            [
                label,
                score.get("of", ""),
                str(total.get("n", 0)),
                _number(total.get("mean")),
                _number(total.get("sd")),
            ]
        )
    return rows


def segment_rows(document: dict[str, Any], language: str) -> dict[str, Any]:
    """Segment sizes (a table and a chart of their shares of the valid responses)."""
    rows, bars = [], []
    for segment in document.get("segments") or []:
        label = label_text(segment.get("label"), language) or segment["code"]
        share = segment.get("share")
        computed = segment.get("computed", True)
        rows.append([label, str(segment.get("n", 0)) if computed else "–", percent_text(share)])
        bars.append(Bar(label=label, value=share, text=percent_text(share)))
    chart = bar_chart_svg(
        title=_("Segment sizes"),
        bars=bars,
        maximum=1.0,
        axes=Axes(labels=_("Segment"), values=_("Share of valid responses")),
    )
    return {"rows": rows, "chart": chart}


def _column_label(entry: dict[str, Any], column: dict[str, Any], language: str) -> str:
    if column.get("code") == "rest":
        return _("Everyone else")
    return label_text(column.get("label"), language) or column.get("code", "")


def _correction_name(correction: str | None) -> str:
    names = {
        "holm": _("Holm"),
        "bonferroni": _("Bonferroni"),
        "none": _("no correction"),
    }
    return names.get(correction or "", _("no correction"))


def _pick_banner(document: dict[str, Any], key: str) -> tuple[dict[str, Any] | None, str]:
    """The banner entry ``key`` (default: the first one) and a notice for an unknown key."""
    entries = document.get("banner") or []
    chosen = next((entry for entry in entries if entry["key"] == key), None)
    notice = ""
    if chosen is None and key:
        notice = _("There is no banner “%(key)s” in these results; showing the first.") % {
            "key": key
        }
    return chosen or (entries[0] if entries else None), notice


Cell = dict[str, Any]  # {"text": "43.2%", "letters": "BC"}: a cross-tab cell and its letters


def _share_cells(shares: list[dict[str, Any]]) -> list[Cell]:
    return [
        {"text": percent_text(share.get("share")), "letters": "".join(share.get("letters") or [])}
        for share in shares
    ]


def _mean_cells(stats: list[dict[str, Any]]) -> list[Cell]:
    return [
        {"text": _number(s.get("mean")), "letters": "".join(s.get("mean_letters") or [])}
        for s in stats
    ]


def _base_cells(stats: list[dict[str, Any]], key: str = "n") -> list[Cell]:
    return [{"text": str(s.get(key, "–")), "letters": ""} for s in stats]


def _crosstab_rows(question: dict[str, Any], keys: list[str], language: str) -> list[list[Any]]:
    """The rows of one question cut by one banner entry: a label, then the total's cell and
    each column's, each cell with the letters of the columns it is significantly above."""
    columns = [question.get("total") or {}] + [
        (question.get("by") or {}).get(k) or {} for k in keys
    ]
    kind = question.get("type")
    rows: list[list[Any]] = [[_("Base (n)"), *_base_cells(columns)]]
    if kind in ("single", "multiple"):
        for option in question.get("options") or []:
            label = label_text(option.get("label"), language) or option["code"]
            shares = [((c.get("options") or {}).get(option["code"]) or {}) for c in columns]
            rows.append([label, *_share_cells(shares)])
        if "mean" in columns[0]:
            rows.append([_("Mean score"), *_mean_cells(columns)])
    elif kind in ("matrix", "number_grid"):
        rows = []
        for item in question.get("items") or []:
            label = label_text(item.get("label"), language) or item["code"]
            stats = [(c.get("items") or {}).get(item["code"]) or {} for c in columns]
            rows.append([_("%(item)s: base (n)") % {"item": label}, *_base_cells(stats)])
            if kind == "matrix" and (question.get("top2") or []):
                top2 = [s.get("top2") or {} for s in stats]
                rows.append([_("%(item)s: top-2") % {"item": label}, *_share_cells(top2)])
            rows.append([_("%(item)s: mean") % {"item": label}, *_mean_cells(stats)])
    elif kind == "number":
        rows.append([_("Mean"), *_mean_cells(columns)])
    return rows


def _score_chart(
    score: dict[str, Any], entry: dict[str, Any], labels: list[str], ranked: bool, language: str
) -> str:
    by = score.get("by") or {}
    bars = []
    for column, label in zip(entry["columns"], labels, strict=True):
        stats = by.get(column["key"]) or {}
        text = f"{_number(stats.get('mean'))} (n={stats.get('n', 0)})"
        bars.append(Bar(label=label, value=stats.get("mean"), text=text))
    if ranked:
        bars.sort(key=lambda bar: (bar.value is None, -(bar.value or 0.0)))
    score_name = label_text(score.get("label"), language) or score["code"]
    banner_name = label_text(entry.get("label"), language) or entry["key"]
    title = _("%(score)s by %(banner)s") % {"score": score_name, "banner": banner_name}
    axes = Axes(labels=banner_name, values=_("Mean of %(score)s") % {"score": score_name})
    return bar_chart_svg(title=title, bars=bars, axes=axes)


def crosstab_context(
    document: dict[str, Any], language: str, *, banner: str, ranked: bool
) -> dict[str, Any]:
    """The chosen banner's cross-tabs: column n and shares / top-2 / means for every question,
    each score's mean by column (with a chart, best first when ``ranked``)."""
    entries = document.get("banner") or []
    choices = [(e["key"], label_text(e.get("label"), language) or e["key"]) for e in entries]
    entry, notice = _pick_banner(document, banner)
    if entry is None:
        return {"choices": choices, "notice": notice, "entry": None}
    keys = [column["key"] for column in entry["columns"]]
    labels = [_column_label(entry, column, language) for column in entry["columns"]]
    own = entry["key"] if entry.get("kind") == "question" else None
    questions = [
        {
            "code": question["code"],
            "label": label_text(question.get("label"), language) or question["code"],
            "rows": _crosstab_rows(question, keys, language),
        }
        for question in document.get("questions") or []
        if question.get("type") != "text"
        and question.get("by") is not None
        and question["code"] != own  # a banner never cuts its own question
    ]
    scores = []
    for score in document.get("scores") or []:
        if keys[0] not in (score.get("by") or {}):
            continue  # the score of the banner's own question
        columns = [score.get("total") or {}] + [(score.get("by") or {}).get(k) or {} for k in keys]
        cells = [
            {
                "text": f"{_number(c.get('mean'))} (n={c.get('n', 0)})",
                "letters": "".join(c.get("mean_letters") or []),
            }
            for c in columns
        ]
        scores.append(
            {
                "label": label_text(score.get("label"), language) or score["code"],
                "cells": cells,
                "chart": _score_chart(score, entry, labels, ranked, language),
            }
        )
    return {
        "choices": choices,
        "notice": notice,
        "entry": entry,
        "key": entry["key"],
        "label": label_text(entry.get("label"), language) or entry["key"],
        "headers": [{"label": _("Total"), "letter": "", "n": None, "low_base": False}]
        + [
            {
                "label": label,
                "letter": column.get("letter", ""),
                "n": column.get("n"),
                "low_base": bool(column.get("low_base")),
            }
            for label, column in zip(labels, entry["columns"], strict=True)
        ],
        "low_base": any(column.get("low_base") for column in entry["columns"]),
        "correction_name": _correction_name(document.get("correction")),
        "questions": questions,
        "scores": scores,
    }


def compare_context(
    document: dict[str, Any], language: str, *, first: str, second: str, ranked: bool
) -> dict[str, Any]:
    """Two segments of the banner side by side: every question's and score's columns of the
    two, lettered against each other (A and B), as a cross-tab of its own."""
    segments = [
        (entry["key"].removeprefix("segment:"), label_text(entry.get("label"), language))
        for entry in document.get("banner") or []
        if entry.get("kind") == "segment"
    ]
    context: dict[str, Any] = {"choices": segments, "first": first, "second": second}
    known = dict(segments)
    if not first or not second:
        return context
    if first not in known or second not in known or first == second:
        context["notice"] = _("Choose two different segments of the banner.")
        return context
    keys = [f"segment:{first}", f"segment:{second}"]
    columns = {
        key: column
        for entry in document.get("banner") or []
        for column in entry["columns"]
        for key in keys
        if column["key"] == key
    }
    tests = Letters(
        alpha=float(document.get("significance") or 0.05),
        correction=document.get("correction") or "none",
    )
    questions = []
    for table in document.get("questions") or []:
        by = table.get("by") or {}
        if table.get("type") == "text" or any(key not in by for key in keys):
            continue
        cut = [copy.deepcopy(by[key]) for key in keys]
        shape = SimpleNamespace(
            type=table["type"],
            options=[o["code"] for o in table.get("options") or table.get("scale") or []],
            items=[i["code"] for i in table.get("items") or []],
        )
        mark_question(shape, cut, ["A", "B"], tests)
        questions.append({**table, "by": dict(zip(keys, cut, strict=True))})
    scores = []
    for score in document.get("scores") or []:
        by = score.get("by") or {}
        if any(key not in by for key in keys):
            continue
        cut = [dict(by[key]) for key in keys]
        tests.means(cut, ["A", "B"])
        scores.append({**score, "by": dict(zip(keys, cut, strict=True))})
    entry = {
        "key": "compare",
        "kind": "compare",
        "label": f"{known[first]} / {known[second]}",
        "columns": [
            {**columns[key], "letter": letter} for key, letter in zip(keys, "AB", strict=True)
        ],
    }
    paired = {**document, "banner": [entry], "questions": questions, "scores": scores}
    context["table"] = crosstab_context(paired, language, banner="compare", ranked=ranked)
    return context


def _option_labels(
    document: dict[str, Any], language: str
) -> dict[tuple[str, str], tuple[str, str]]:
    labels = {}
    for question in document.get("questions") or []:
        title = label_text(question.get("label"), language) or question["code"]
        for option in question.get("options") or []:
            option_label = label_text(option.get("label"), language) or option["code"]
            labels[(question["code"], option["code"])] = (title, option_label)
    return labels


def _test_row(test: dict[str, Any], what: str, detail: str, share: bool) -> dict[str, Any]:
    """One segment-vs-rest comparison, ready to show: values, difference, p and the marker."""
    shown = percent_text if share else _number
    key = "share" if share else "mean"
    difference = test.get("difference")
    p = test.get("p")
    if difference is None:
        difference_text = "–"
    elif share:
        difference_text = f"{difference * 100:+.1f} pp"
    else:
        difference_text = f"{difference:+.2f}"
    return {
        "what": what,
        "detail": detail,
        "segment": shown((test.get("segment") or {}).get(key)),
        "rest": shown((test.get("rest") or {}).get(key)),
        "difference": difference_text,
        "p_text": _p_text(p)
        if p is not None
        else _("not tested (%(reason)s)") % {"reason": test.get("reason") or "–"},
        "p_exact": "" if p is None else f"p = {p:.3g}",
        "significant": test.get("significant") is True,
        "higher": (difference or 0) > 0,
        "sort": difference if difference is not None else 0.0,
    }


def profiles_context(
    document: dict[str, Any], language: str, *, ranked: bool
) -> list[dict[str, Any]]:
    """Each computable segment against the rest of the valid sample: scores, and the option
    shares that differ significantly (best first when ``ranked``), then every option share."""
    segments = {s["code"]: s for s in document.get("segments") or []}
    option_labels = _option_labels(document, language)
    scores = {s["code"]: s for s in document.get("scores") or []}
    profiles = []
    for comparison in document.get("comparisons") or []:
        segment = segments.get(comparison["segment"]) or {}
        options = []
        for test in comparison.get("options") or []:
            what, detail = option_labels.get(
                (test["question"], test["option"]), (test["question"], test["option"])
            )
            options.append(_test_row(test, what, detail, share=True))
        score_tests = [
            _test_row(
                test,
                label_text((scores.get(test["score"]) or {}).get("label"), language)
                or test["score"],
                "",
                share=False,
            )
            for test in comparison.get("scores") or []
        ]
        significant = [row for row in options if row["significant"]]
        if ranked:
            significant.sort(key=lambda row: -row["sort"])
            score_tests.sort(key=lambda row: -row["sort"])
        profiles.append(
            {
                "code": comparison["segment"],
                "label": label_text(segment.get("label"), language) or comparison["segment"],
                "n": comparison.get("n"),
                "rest_n": comparison.get("rest_n"),
                "scores": score_tests,
                "significant": significant,
                "options": options,
            }
        )
    return profiles


def results_present(
    document: dict[str, Any], *, banner: str, ranked: bool, compare: tuple[str, str] = ("", "")
) -> dict[str, Any]:
    """Everything the results page shows of a results document, as rows and SVG charts."""
    language = get_language() or settings.LANGUAGE_CODE
    return {
        "validity": validity_context(document.get("validity") or {}),
        "base": (document.get("base") or {}).get("valid"),
        "sections": section_groups(document, question_tables(document, language), language),
        "scores": score_rows(document, language),
        "segments": segment_rows(document, language),
        "crosstab": crosstab_context(document, language, banner=banner, ranked=ranked),
        "compare": compare_context(
            document, language, first=compare[0], second=compare[1], ranked=ranked
        ),
        "profiles": profiles_context(document, language, ranked=ranked),
        "problems": document.get("problems") or [],
        "significance": document.get("significance"),
    }


def response_sections(structure: Any, answers: dict[str, Any], language: str) -> list[dict]:
    """One response as the respondent answered it, by section: each question's label and its
    answer in words (option and scale labels, never codes), "other" texts beside the choice;
    a question not answered (skipped, or hidden by its show_if) says so."""
    sections: list[dict[str, Any]] = []
    for question in structure.questions.values():
        if not sections or sections[-1]["code"] != question.section_code:
            title = label_text(structure.section_titles.get(question.section_code), language)
            sections.append({"code": question.section_code, "title": title, "questions": []})
        other = answers.get(f"{question.code}.other")
        by_value = {}
        for option in question.options.values():
            shown = label_text(option.label, language) or option.code
            if option.is_other and other:
                shown = _("%(option)s: %(text)s") % {"option": shown, "text": other}
            by_value[option.value] = shown
        value = answers.get(question.code)
        lines: list[str] = []
        if value is None or value == [] or value == {}:
            lines = []
        elif question.type == "single":
            lines = [by_value.get(value, str(value))]
        elif question.type == "multiple":
            lines = [by_value.get(choice, str(choice)) for choice in value]
        elif question.type in ("matrix", "number_grid"):
            for item in question.items.values():
                if item.code in value:
                    cell = value[item.code]
                    shown = (
                        by_value.get(cell, str(cell)) if question.type == "matrix" else f"{cell}"
                    )
                    lines.append(f"{label_text(item.label, language) or item.code}: {shown}")
        else:
            lines = [str(value)]
        sections[-1]["questions"].append(
            {
                "code": question.code,
                "label": label_text(question.label, language) or question.code,
                "lines": lines,
                "hidden": question.hidden,
            }
        )
    return sections
