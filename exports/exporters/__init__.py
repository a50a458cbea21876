"""Exports of a questionnaire's data. One contract (``base.Exporter``), one base that writes
CSV, XLSX and SPSS .sav, and this registry of the kinds, by id."""

from __future__ import annotations

from exports.exporters.base import Exporter
from exports.exporters.responses_long import ResponsesLong
from exports.exporters.responses_wide import ResponsesWide
from exports.exporters.tables import AnalysisComparisons, AnalysisTables

EXPORTERS: dict[str, type[Exporter]] = {
    ResponsesWide.id: ResponsesWide,
    ResponsesLong.id: ResponsesLong,
    AnalysisTables.id: AnalysisTables,
    AnalysisComparisons.id: AnalysisComparisons,
}
