"""Responses, wide: one row per response, one column per answer cell.

Columns, in this order: ``response_id``, ``status``, ``reasons`` (the broken validity rules,
``;``-separated), ``started`` and ``submitted`` (date-times in ``settings.TIME_ZONE``: ISO 8601
with the offset in CSV, real date-times in XLSX), ``duration_seconds``; ``weight`` when the
questionnaire is weighted (the latest run's raking; empty for invalid responses: weight the rows
by it to reproduce the weighted shares); ``over_quota`` (1/0) when it has quotas; with the
identity option ``respondent`` (the hashed identity) and ``ip_hash``; then the questions in
questionnaire order:

    single        Q3            the option's label (values=labels, the default) or code
                                (values=codes; a number when every code is a number)
    multiple      Q9.1 … Q9.7   1 chosen / 0 not chosen; all empty when the question was not
                                answered (hidden or skipped), so 0 never means "not asked"
    matrix        Q5.a …        the scale point's label or code per item
    number        Qn            the number
    number_grid   Q2.a …        the number per item
    text          Q18           the text
    other option  D6.other      the "please specify" text, after the question's columns

Unanswered and hidden questions are empty cells. With values=labels, status and reasons are
in the export's language too (有效 / 答题过快); with values=codes they are the codes (valid /
speeder). In SPSS files (always codes), single and matrix columns whose codes are all numbers
are numeric with value labels; others are strings.

Every value comes from ``Response.answers`` (the normalised answers as accepted), read with
one streamed query ordered by id: no query per row, so memory and queries do not grow with
the number of responses. On PostgreSQL the CSV lines themselves are made by the database
(``csv_lines``, see ``exports.exporters.wide_sql``): the same bytes. The times' and answers'
cells are read back where a job stored them (``exports.cells``) and made from the answers
where not, so an export after the job runs at about the speed of reading the answers' JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg.adapt import Loader

from exports.exporters import wide_sql
from exports.exporters.base import NUMBER, TEXT, Column, Exporter, Row
from survey.labels import label_text, reason_labels
from survey.models import Quota, Response
from survey.structure import QuestionDef, structure_for

OTHER_SUFFIX = ".other"
REASON_SEPARATOR = ";"
_REASONS = tuple(Response.REASON_FIELDS)  # rule kinds, in reporting order
_META_FIELDS = (
    "id",
    "answers",
    "status",
    *Response.REASON_FIELDS.values(),  # record[3:7]: the flags, in _REASONS' order
    "started_at",
    "submitted_at",
    "duration_seconds",
)
_IDENTITY_FIELDS = ("respondent__identity_hash", "ip_hash")

Filler = Callable[[dict[str, Any], list], None]


def _all_numeric(question: QuestionDef) -> bool:
    return all(isinstance(option.value, int) for option in question.options.values())


def _option_label(option: Any, language: str) -> str:
    """An option's label; one no longer offered (hidden) says so, its answers being older."""
    text = label_text(option.label, language)
    return _("%(label)s (no longer offered)") % {"label": text} if option.hidden else text


def _value_labels(question: QuestionDef, language: str) -> dict[int, str]:
    if not _all_numeric(question):
        return {}
    return {option.value: _option_label(option, language) for option in question.options.values()}


def _other_label(question: QuestionDef, language: str) -> str:
    other = next(option for option in question.options.values() if option.is_other)
    return f"{label_text(question.label, language)}: {_option_label(other, language)}"


class QuestionColumns:
    """The columns of one question and the function that fills its cells from answers."""

    def __init__(self, question: QuestionDef, language: str, as_labels: bool = False) -> None:
        self.question = question
        self.language = language
        self.as_labels = as_labels
        # answer value → label, for the columns that show labels (single and matrix)
        self.labels = (
            {o.value: _option_label(o, language) for o in question.options.values()}
            if as_labels and question.type in ("single", "matrix")
            else {}
        )

    def columns(self) -> list[Column]:
        q, language = self.question, self.language
        title = label_text(q.label, language)
        if q.type == "single":
            numeric = _all_numeric(q) and not self.as_labels
            columns = [
                Column(
                    q.code,
                    title,
                    NUMBER if numeric else TEXT,
                    _value_labels(q, language),
                    "nominal",
                    whole=numeric,
                )
            ]
        elif q.type == "multiple":
            chosen = {0: _("not chosen"), 1: _("chosen")}
            columns = [
                Column(
                    f"{q.code}.{option.code}",
                    f"{title}: {_option_label(option, language)}",
                    NUMBER,
                    chosen,
                    "nominal",
                    whole=True,
                )
                for option in q.options.values()
            ]
        elif q.type in ("matrix", "number_grid"):
            matrix = q.type == "matrix"
            numeric = not matrix or (_all_numeric(q) and not self.as_labels)
            columns = [
                Column(
                    f"{q.code}.{item.code}",
                    f"{title}: {label_text(item.label, language)}",
                    NUMBER if numeric else TEXT,
                    _value_labels(q, language) if matrix else {},
                    "ordinal" if matrix else "scale",
                    whole=matrix or q.integer,
                )
                for item in q.items.values()
            ]
        elif q.type == "number":
            columns = [Column(q.code, title, NUMBER, measure="scale", whole=q.integer)]
        else:
            columns = [Column(q.code, title, TEXT)]
        if q.has_other:
            columns.append(Column(f"{q.code}{OTHER_SUFFIX}", _other_label(q, language), TEXT))
        return columns

    def filler(self) -> Filler:
        """A function appending this question's cells for one answers object to a row."""
        q = self.question
        code = q.code
        labels = self.labels
        if q.type == "multiple":
            fill = _multiple_filler(code, [option.value for option in q.options.values()])
        elif q.type in ("matrix", "number_grid"):
            fill = _items_filler(code, list(q.items), labels)
        elif labels:

            def fill(answers: dict[str, Any], row: list) -> None:
                value = answers.get(code)
                row.append(labels.get(value, value))

        else:

            def fill(answers: dict[str, Any], row: list) -> None:
                row.append(answers.get(code))

        if not q.has_other:
            return fill
        other_key = f"{code}{OTHER_SUFFIX}"

        def fill_with_other(answers: dict[str, Any], row: list) -> None:
            fill(answers, row)
            row.append(answers.get(other_key))

        return fill_with_other

    def add_sql(self, lines: wide_sql.WideLines) -> None:
        """This question's cells as SQL (``wide_sql``): what ``filler`` writes, in the database."""
        q = self.question
        finished = {value: wide_sql.csv_cell(label) for value, label in self.labels.items()}
        if q.type == "multiple":
            # The chosen options' array, or NULL when none is (all cells blank, not 0).
            chosen = lines.value(
                q.code,
                sql="(CASE WHEN jsonb_typeof({}) = 'array' AND jsonb_array_length({}) > 0 "
                "THEN {} END)",
            )
            for option in q.options.values():
                lines.cell(
                    f"(CASE WHEN {chosen} @> %s::jsonb THEN '1' WHEN {chosen} IS NOT NULL "
                    "THEN '0' END)",
                    json.dumps([option.value], ensure_ascii=False),
                )
        elif q.type in ("matrix", "number_grid"):
            for item in q.items:
                self._mapped(lines, finished, q.code, item)
        elif q.type == "text":
            lines.cell(wide_sql.text_cell(lines.value(q.code, text=True)))
        else:
            self._mapped(lines, finished, q.code)
        if q.has_other:
            lines.cell(wide_sql.text_cell(lines.value(f"{q.code}{OTHER_SUFFIX}", text=True)))

    @staticmethod
    def _mapped(lines: wide_sql.WideLines, finished: dict[Any, str], *path: str) -> None:
        if finished:
            lines.mapped(lines.value(*path), lines.value(*path, text=True), finished)
        else:
            lines.cell(wide_sql.json_cell(lines.value(*path)))


def _multiple_filler(code: str, option_values: list[int | str]) -> Filler:
    # Stored answers hold each chosen option's value as the structure has it (1, not "1"):
    # response_submit normalises them, so a set lookup is exact.
    blanks = [None] * len(option_values)

    def fill(answers: dict[str, Any], row: list) -> None:
        chosen = answers.get(code)
        if not chosen:
            row.extend(blanks)
            return
        picked = set(chosen)
        row.extend([1 if value in picked else 0 for value in option_values])

    return fill


def _items_filler(code: str, item_codes: list[str], labels: dict[Any, str]) -> Filler:
    blanks = [None] * len(item_codes)

    def fill(answers: dict[str, Any], row: list) -> None:
        cells = answers.get(code)
        if not cells:
            row.extend(blanks)
            return
        get = cells.get
        if labels:
            row.extend([labels.get(value, value) for value in map(get, item_codes)])
        else:
            row.extend([get(item) for item in item_codes])

    return fill


class ResponsesWide(Exporter):
    id = "responses_wide"
    label = gettext_lazy("Responses, one row per response")

    def _questions(self) -> list[QuestionColumns]:
        structure = structure_for(self.questionnaire)
        # In the export's language: a hidden option's label says so in it, as the header does.
        with translation.override(self.options.language):
            return [
                QuestionColumns(q, self.options.language, self.options.as_labels)
                for q in structure.questions.values()
            ]

    def columns(self) -> list[Column]:
        with translation.override(self.options.language):
            return self._columns()

    def _columns(self) -> list[Column]:
        meta = [
            Column("response_id", _("Response"), NUMBER, whole=True),
            Column("status", _("Status"), TEXT),
            Column("reasons", _("Validity rules broken"), TEXT),
            Column("started", _("Started (%s)") % settings.TIME_ZONE, TEXT),
            Column("submitted", _("Submitted (%s)") % settings.TIME_ZONE, TEXT),
            Column("duration_seconds", _("Duration (seconds)"), NUMBER, measure="scale"),
        ]
        if "weight" in self._extra_fields():
            meta.append(Column("weight", _("Weight"), NUMBER, measure="scale"))
        if "over_quota" in self._extra_fields():
            meta.append(Column("over_quota", _("Over quota (1 yes, 0 no)"), NUMBER, whole=True))
        if self.options.identity:
            meta.append(Column("respondent", _("Respondent (hashed identity)"), TEXT))
            meta.append(Column("ip_hash", _("IP address (hashed)"), TEXT))
        return meta + [column for q in self._questions() for column in q.columns()]

    def _extra_fields(self) -> tuple[str, ...]:
        """``weight`` when the questionnaire is weighted, ``over_quota`` when it has quotas."""
        if not hasattr(self, "_extras"):
            extras = []
            if self.questionnaire.weighted:
                extras.append("weight")
            if Quota.objects.filter(questionnaire=self.questionnaire).exists():
                extras.append("over_quota")
            self._extras = tuple(extras)
        return self._extras

    def _status_words(self) -> tuple[dict[str, str], dict[str, str], str]:
        """Status and reason names as written (codes, or words in the export's language)."""
        if not self.options.as_labels:
            return {}, {name: name for name in _REASONS}, REASON_SEPARATOR
        with translation.override(self.options.language):
            statuses = {value: str(label) for value, label in Response.Status.choices}
            return statuses, reason_labels(), _("; ")

    def rows(self) -> Iterator[Row]:
        fillers = [q.filler() for q in self._questions()]
        identity = self.options.identity
        extras = self._extra_fields()
        fields = _META_FIELDS + extras + (_IDENTITY_FIELDS if identity else ())
        at = len(_META_FIELDS)
        statuses, reasons, separator = self._status_words()
        rows = (
            self.responses.order_by("id")
            .values_list(*fields)
            .iterator(chunk_size=settings.EXPORT_CHUNK_SIZE)
        )
        for record in rows:
            answers = record[1] or {}
            flags = record[3:7]
            started, submitted = record[7], record[8]
            row: list = [
                record[0],
                statuses.get(record[2], record[2]),
                separator.join(
                    [reasons[name] for name, flag in zip(_REASONS, flags, strict=True) if flag]
                ),
                started,
                submitted,
                record[9],
            ]
            for index, name in enumerate(extras, start=at):
                row.append(int(record[index]) if name == "over_quota" else record[index])
            if identity:
                row.append(record[at + len(extras)])
                row.append(record[at + len(extras) + 1] or None)
            for fill in fillers:
                fill(answers, row)
            self.responses_done += 1
            yield row

    def expected_rows(self) -> int:
        return self.responses.count()

    def csv_lines(self) -> Iterator[bytes] | None:
        """The data lines of the CSV (CRLF included), made by PostgreSQL; None elsewhere (the
        writer then formats ``rows()``). The same bytes either way."""
        connection = connections[self.responses.db]
        if connection.vendor != "postgresql":
            return None
        try:
            lines, spans = self._lines()
        except EmptyResultSet:  # filters no response can pass
            return iter(())
        if settings.EXPORT_STORED_CELLS:
            statement = lines.stored_statement(spans)
        else:
            statement = lines.statement()
        return _stream(connection, statement, self)

    def store_statement(self) -> tuple[wide_sql.Paged, str] | None:
        """The statement storing these responses' cells a page at a time
        (``WideLines.store_statement``) and the stamp it stores them under; None when no
        response can pass the filters."""
        try:
            lines, spans = self._lines()
        except EmptyResultSet:
            return None
        return lines.store_statement(spans)

    def _lines(self) -> tuple[wide_sql.WideLines, wide_sql.StoredSpans]:
        """The cells of a line, in SQL, and which of them can be stored (``exports.cells``):
        the times (never changed once a response is in) and the answers' cells (changed only
        with the answers, which the answers' digest follows). The id, status, reasons, weight,
        quota and identity cells are made at each export."""
        identity = self.options.identity
        extras = self._extra_fields()
        fields = {
            "c_id": "id",
            "c_answers": "answers",
            "c_digest": "answers_digest",
            "c_status": "status",
            **{f"c_flag{i}": name for i, name in enumerate(Response.REASON_FIELDS.values())},
            "c_started": "started_at",
            "c_submitted": "submitted_at",
            "c_duration": "duration_seconds",
            **{f"c_{name}": name for name in extras},
        }
        if identity:
            fields.update(c_respondent="respondent__identity_hash", c_ip="ip_hash")
        base = self.responses.order_by("id").values(**{k: F(v) for k, v in fields.items()})
        base_sql, base_params = base.query.sql_with_params()
        lines = wide_sql.WideLines(base_sql, base_params, "c_answers")
        statuses, reasons, separator = self._status_words()
        cell = wide_sql.csv_cell
        lines.cell("s.c_id::text")
        if statuses:
            branches = " ".join("WHEN %s THEN %s::text" for _status in statuses)
            status_params = [part for code, word in statuses.items() for part in (code, cell(word))]
            lines.cell(
                f"(CASE s.c_status {branches} ELSE {wide_sql.text_cell('s.c_status')} END)",
                *status_params,
            )
        else:
            lines.cell(wide_sql.text_cell("s.c_status"))
        # The reasons cell of every combination of flags, finished here: 2^4 branches.
        bits = " + ".join(
            f"(CASE WHEN s.c_flag{i} THEN {1 << i} ELSE 0 END)" for i in range(len(_REASONS))
        )
        combinations = []
        for mask in range(1 << len(_REASONS)):
            words = [reasons[name] for i, name in enumerate(_REASONS) if mask >> i & 1]
            combinations += [mask, cell(separator.join(words))]
        lines.cell(
            f"(CASE {bits} "
            + " ".join("WHEN %s THEN %s::text" for _mask in range(1 << len(_REASONS)))
            + " END)",
            *combinations,
        )
        head_start = lines.mark()
        lines.cell(wide_sql.iso_cell("s.c_started"))
        lines.cell(wide_sql.iso_cell("s.c_submitted"))
        lines.cell(wide_sql.float_cell("s.c_duration"))
        head_stop = lines.mark()
        for name in extras:
            if name == "over_quota":
                lines.cell("(CASE WHEN s.c_over_quota THEN '1' ELSE '0' END)")
            else:
                lines.cell(wide_sql.float_cell(f"s.c_{name}"))
        if identity:
            lines.cell(wide_sql.text_cell("s.c_respondent"))
            lines.cell(wide_sql.text_cell("NULLIF(s.c_ip, '')"))
        body_start = lines.mark()
        for question in self._questions():
            question.add_sql(lines)
        return lines, wide_sql.StoredSpans(head_start, head_stop, body_start)


class _Utf8(Loader):
    """A text column as the bytes PostgreSQL sends (UTF-8, the connection's encoding): the
    lines go out as they came, without being decoded and encoded again."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def _stream(connection, statement: wide_sql.Paged, exporter: ResponsesWide) -> Iterator[bytes]:
    """The statement's lines, a page at a time: each page starts after the last id of the one
    before, so no cursor or transaction stays open while the lines are written out."""
    after, size = 0, settings.EXPORT_PAGE_SIZE
    while True:
        with connection.cursor() as cursor:
            cursor.cursor.adapters.register_loader("text", _Utf8)  # this cursor only
            # The statement is long but each row's work small: JIT-compiling it (for the cost
            # the planner foresees) took longer than running it.
            cursor.execute("SET jit = off")
            try:
                cursor.execute(statement.sql, statement.params(after, size))
                rows = cursor.fetchall()
            finally:
                cursor.execute("RESET jit")
        exporter.responses_done += len(rows)
        for line, _id in rows:
            yield line
        if len(rows) < size:
            return
        after = rows[-1][1]
