"""The analysis tables of the latest successful run (docs/analysis-results.md), as flat sheets
an analyst pivots or pastes into a report.

``tables`` — one row per figure, one column per breakdown:

    table  type    item  statistic  code  label     total   D1=1  D1=2  …  segment:active
    D1     single        n                您的性别     2114    1203  911
    D1     single        count      1     男          1425    …
    D1     single        share      1     男          0.6741  …
    Q5     matrix  a     share      1     非常好       …
    Q5     matrix  a     mean                         3.36
    usage_effect score   mean                         4.01

Statistics, per type (the document's, unchanged): single and multiple ``n`` then ``count`` and
``share`` per option; matrix per item ``n``, ``count``/``share`` per scale point, ``top2_count``,
``top2_share``, ``score_n``, ``mean``, ``sd``; number (and number_grid per item) ``n``, ``mean``,
``sd``, ``min``, ``q1``, ``median``, ``q3``, ``max``; text ``n``; derived scores ``n``, ``mean``,
``sd``; segments (``total`` column only) ``n`` and ``share`` of valid responses. Shares are
fractions (0.4916), as in the document.

``comparisons`` — one row per segment-vs-rest test: option shares (z-test) and scores
(Welch's t-test), with both groups, the difference, the statistic, p and significance.

Both read the results document, not the responses: filters do not apply (the analysis covers
the valid responses of the run), and they refuse with a message while no run is done. A
weighted questionnaire's are its weighted tables (counts are sums of weights; ``effective_n``
is not written), or with the option ``weighted=false`` the unweighted ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analysis.models import AnalysisRun
from analysis.selectors import latest_successful_run
from analysis.workbook import TablesWorkbook
from exports.exporters.base import (
    NUMBER,
    TEXT,
    Column,
    Exporter,
    ExportError,
    Progress,
    Row,
)
from survey.labels import label_text
from survey.models import Questionnaire

NUMBER_STATISTICS = ("n", "mean", "sd", "min", "q1", "median", "q3", "max")
SCORE_STATISTICS = ("n", "mean", "sd")


class NoResults(ExportError):
    code = "no_results"


class ResultsExporter(Exporter):
    """An exporter of the latest done analysis run's results document."""

    reads_responses = False

    @classmethod
    def check(cls, questionnaire: Questionnaire) -> None:
        if latest_successful_run(questionnaire) is None:
            message = _("%(slug)s has no analysis results yet; run the analysis first.") % {
                "slug": questionnaire.slug
            }
            raise NoResults(message, {"kind": [message]})

    @property
    def run(self) -> AnalysisRun:
        if not hasattr(self, "_run"):
            self.check(self.questionnaire)
            self._run = latest_successful_run(self.questionnaire)
        return self._run

    @property
    def results(self) -> dict[str, Any]:
        document = self.run.results or {}
        if self.options.weighted and document.get("weighted"):
            return {**document, **document["weighted"]}  # the weighted tables, unrounded
        return document

    def text(self, label: Any) -> str:
        return label_text(label, self.options.language)


class AnalysisTables(ResultsExporter):
    """CSV and SAV: one row per figure (below). XLSX: a report workbook instead
    (``analysis.workbook``): an About sheet, frequencies, banner cross-tabs with
    merged headers and significance letters, scores and segments, numbers formatted."""

    id = "tables"
    label = gettext_lazy("Analysis tables, one row per figure")

    def write_xlsx(self, path: Path, progress: Progress | None = None) -> int:
        workbook = TablesWorkbook(
            self.results,
            language=self.options.language,
            questionnaire=self.questionnaire,
            run=self.run,
        )
        workbook.build().save(path)
        written = len(self.results.get("questions") or [])
        self.responses_done = written
        if progress is not None:
            progress(written)
        return written

    def _banner(self) -> list[tuple[str, str]]:
        """(column key, label) of every banner column, in banner order."""
        columns = []
        for entry in self.results.get("banner", []):
            for column in entry["columns"]:
                text = self.text(column["label"]) if column["label"] else _("rest")
                columns.append((column["key"], f"{self.text(entry['label'])}: {text}"))
        return columns

    def columns(self) -> list[Column]:
        with translation.override(self.options.language):
            fixed = [
                Column("table", _("Table"), TEXT),
                Column("type", _("Type"), TEXT),
                Column("item", _("Item"), TEXT),
                Column("statistic", _("Statistic"), TEXT),
                Column("code", _("Code"), TEXT),
                Column("label", _("Label"), TEXT),
                Column("total", _("All valid responses"), NUMBER, measure="scale"),
            ]
            banner = [Column(key, text, NUMBER, measure="scale") for key, text in self._banner()]
        return fixed + banner

    def rows(self) -> Iterator[Row]:
        keys = [key for key, _text in self._banner()]
        for table in self.results.get("questions", []):
            cells = [table["total"], *(table["by"].get(key, {}) for key in keys)]
            yield from self._question_rows(table, cells)
            self.responses_done += 1
        for score in self.results.get("scores", []):
            cells = [score["total"], *(score["by"].get(key, {}) for key in keys)]
            head = [score["code"], "score", None]
            label = self.text(score["label"])
            for statistic in SCORE_STATISTICS:
                yield [*head, statistic, None, label, *(c.get(statistic) for c in cells)]
        blanks = [None] * len(keys)
        for segment in self.results.get("segments", []):
            head = ["segments", "segment", None]
            label = self.text(segment["label"])
            yield [*head, "n", segment["code"], label, segment.get("n"), *blanks]
            yield [*head, "share", segment["code"], label, segment.get("share"), *blanks]

    def _question_rows(self, table: dict[str, Any], cells: list[dict]) -> Iterator[Row]:
        code, kind = table["code"], table["type"]
        if kind in ("single", "multiple"):
            yield [code, kind, None, "n", None, self.text(table["label"]), *_pick(cells, "n")]
            for option in table["options"]:
                counts = [c.get("options", {}).get(option["code"], {}) for c in cells]
                head = [code, kind, None]
                label = self.text(option["label"])
                yield [*head, "count", option["code"], label, *_pick(counts, "count")]
                yield [*head, "share", option["code"], label, *_pick(counts, "share")]
        elif kind == "matrix":
            for item in table["items"]:
                figures = [c.get("items", {}).get(item["code"], {}) for c in cells]
                yield from self._matrix_item(table, item, figures)
        elif kind == "number_grid":
            for item in table["items"]:
                figures = [c.get("items", {}).get(item["code"], {}) for c in cells]
                label = self.text(item["label"])
                head = [code, kind, item["code"]]
                for statistic in NUMBER_STATISTICS:
                    yield [*head, statistic, None, label, *_pick(figures, statistic)]
        else:
            statistics = NUMBER_STATISTICS if kind == "number" else ("n",)
            label = self.text(table["label"])
            for statistic in statistics:
                yield [code, kind, None, statistic, None, label, *_pick(cells, statistic)]

    def _matrix_item(self, table: dict[str, Any], item: dict, figures: list[dict]) -> Iterator[Row]:
        head = [table["code"], "matrix", item["code"]]
        item_label = self.text(item["label"])
        yield [*head, "n", None, item_label, *_pick(figures, "n")]
        for point in table["scale"]:
            counts = [f.get("distribution", {}).get(point["code"], {}) for f in figures]
            label = self.text(point["label"])
            yield [*head, "count", point["code"], label, *_pick(counts, "count")]
            yield [*head, "share", point["code"], label, *_pick(counts, "share")]
        top2 = [f.get("top2", {}) for f in figures]
        yield [*head, "top2_count", None, item_label, *_pick(top2, "count")]
        yield [*head, "top2_share", None, item_label, *_pick(top2, "share")]
        for statistic in ("score_n", "mean", "sd"):
            yield [*head, statistic, None, item_label, *_pick(figures, statistic)]


def _pick(cells: list[dict], key: str) -> list[Any]:
    return [cell.get(key) for cell in cells]


class AnalysisComparisons(ResultsExporter):
    id = "comparisons"
    label = gettext_lazy("Segment comparisons (segment vs rest)")

    def columns(self) -> list[Column]:
        with translation.override(self.options.language):
            text = [
                Column("segment", _("Segment"), TEXT),
                Column("kind", _("Compared"), TEXT),
                Column("question", _("Question or score"), TEXT),
                Column("option", _("Option"), TEXT),
                Column("label", _("Label"), TEXT),
            ]
            numbers = [
                Column(code, label, NUMBER, measure="scale")
                for code, label in (
                    ("segment_n", _("Segment: n")),
                    ("segment_value", _("Segment: share or mean")),
                    ("rest_n", _("Rest: n")),
                    ("rest_value", _("Rest: share or mean")),
                    ("overall_n", _("All valid: n")),
                    ("overall_value", _("All valid: share or mean")),
                    ("difference", _("Difference (segment − rest)")),
                    ("statistic", _("z or t")),
                    ("df", _("Degrees of freedom (t-test)")),
                    ("p", _("p")),
                )
            ]
            tail = [
                Column("significant", _("Significant"), NUMBER, {0: _("no"), 1: _("yes")}),
                Column("reason", _("Why no test"), TEXT),
            ]
        return text + numbers + tail

    def rows(self) -> Iterator[Row]:
        labels = self._labels()
        for comparison in self.results.get("comparisons", []):
            segment = comparison["segment"]
            for test in comparison.get("options", []):
                label = labels.get((test["question"], test["option"]), "")
                head = [segment, "option", test["question"], test["option"], label]
                yield head + _groups(test, "share") + _test(test, test.get("z"))
            for test in comparison.get("scores", []):
                label = labels.get((test["score"], None), "")
                head = [segment, "score", test["score"], None, label]
                yield head + _groups(test, "mean") + _test(test, test.get("t"), test.get("df"))
            self.responses_done += 1

    def _labels(self) -> dict[tuple[str, str | None], str]:
        labels: dict[tuple[str, str | None], str] = {}
        for table in self.results.get("questions", []):
            for option in table.get("options", []):
                labels[(table["code"], option["code"])] = self.text(option["label"])
        for score in self.results.get("scores", []):
            labels[(score["code"], None)] = self.text(score["label"])
        return labels


def _groups(test: dict[str, Any], value: str) -> list[Any]:
    cells: list[Any] = []
    for group in ("segment", "rest", "overall"):
        figures = test.get(group) or {}
        cells += [figures.get("n"), figures.get(value)]
    return cells


def _test(test: dict[str, Any], statistic: Any, df: Any = None) -> list[Any]:
    significant = test.get("significant")
    return [
        test.get("difference"),
        statistic,
        df,
        test.get("p"),
        None if significant is None else int(significant),
        test.get("reason"),
    ]
