"""Responses, long: one row per answered cell.

Columns: ``response_id``, ``question``, ``item``, ``value``, and with the labels option
``label`` (the chosen option's or scale point's label). A single question gives one row, a
multiple one row per chosen option, a matrix or number grid one row per answered item, a
number or text one row; an "other, please specify" text is a row of question ``D6.other``.
Unanswered and hidden questions give no row. Read from ``Response.answers`` with one streamed
query ordered by id, as the wide export.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exports.exporters.base import NUMBER, TEXT, Column, Exporter, Row
from survey.labels import label_text
from survey.structure import QuestionDef, structure_for

OTHER_SUFFIX = ".other"


class ResponsesLong(Exporter):
    id = "responses_long"
    label = gettext_lazy("Responses, one row per answer")

    label_row = False  # labels are a column here

    def columns(self) -> list[Column]:
        with translation.override(self.options.language):
            return self._columns()

    def _columns(self) -> list[Column]:
        columns = [
            Column("response_id", _("Response"), NUMBER, whole=True),
            Column("question", _("Question"), TEXT),
            Column("item", _("Item"), TEXT),
            Column("value", _("Value"), TEXT),
        ]
        if self.options.labels is not False:
            columns.append(Column("label", _("Label"), TEXT))
        return columns

    def _plan(self) -> list[tuple[QuestionDef, dict[str, str]]]:
        language = self.options.language
        structure = structure_for(self.questionnaire)
        return [
            (
                question,
                {code: label_text(o.label, language) for code, o in question.options.items()},
            )
            for question in structure.questions.values()
        ]

    def rows(self) -> Iterator[Row]:
        plan = self._plan()
        with_labels = self.options.labels is not False
        records = (
            self.responses.order_by("id")
            .values_list("id", "answers")
            .iterator(chunk_size=settings.EXPORT_CHUNK_SIZE)
        )
        for response_id, answers in records:
            answers = answers or {}
            for question, labels in plan:
                value = answers.get(question.code)
                if value is not None:
                    for item, cell in _cells(question, value):
                        row: Row = [response_id, question.code, item, cell]
                        if with_labels:
                            row.append(labels.get(str(cell)) if labels else None)
                        yield row
                other = answers.get(question.code + OTHER_SUFFIX)
                if other:
                    row = [response_id, question.code + OTHER_SUFFIX, None, other]
                    if with_labels:
                        row.append(None)
                    yield row
            self.responses_done += 1


def _cells(question: QuestionDef, value: Any) -> list[tuple[str | None, Any]]:
    """(item, value) pairs of one answer, in the questionnaire's order."""
    if question.type == "multiple":
        return [(None, chosen) for chosen in value]
    if question.type in ("matrix", "number_grid"):
        return [(item, value[item]) for item in question.items if value.get(item) is not None]
    return [(None, value)]
