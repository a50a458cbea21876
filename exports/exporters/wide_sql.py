"""The wide export's CSV lines, made by PostgreSQL: the pivot of ``Response.answers`` into
cells, the labels, the formula escaping and the CSV quoting all happen in one SELECT, and
Python only passes the finished lines on.

Promises:
- Byte for byte the lines the Python writer makes from ``ResponsesWide.rows()`` (``csv_chunks``:
  RFC 4180 quoting, CRLF line ends, ``escape_formula`` on every text cell, numbers as Python
  writes them, times as ISO 8601 in ``settings.TIME_ZONE``); the tests compare the two on the
  reference questionnaire and on answers chosen to be awkward (quotes, commas, line breaks,
  formula triggers, hidden options, values no option has).
- One statement over the already-filtered responses, run a page of ``EXPORT_PAGE_SIZE``
  responses at a time (keyset pagination on the id): constant memory whatever the number of
  responses, the first lines out after one page's work, no transaction held open between
  pages, and no work per cell in Python.
- Everything that varies (answer keys, labels, status words) is a query parameter, never text
  pasted into the SQL.
- With stored cells (``stored_statement``, ``store_statement``; see ``exports.cells``) the
  same bytes: a stored row is read only where its stamp (``stamp``: the stored cells' SQL and
  parameters) and its answers' digest match; the answers are read only where none does.

Labels and codes are known before the query runs, so each is escaped and quoted in Python once
(``csv_cell``) and reaches the SQL as a finished cell. Each answer value is read from the JSON
once per row (a ``LATERAL`` subquery kept apart with ``OFFSET 0``); only free text (text
answers, "please specify", values no option has) is escaped and quoted per row.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from survey.services.definitions import document_hash
from wenji.cells import FORMULA_TRIGGERS, escape_formula

# A text cell's first character, after any leading quotes, that makes it a formula.
_TRIGGERS = ", ".join(
    "E'" + ch.replace("\t", "\\t").replace("\r", "\\r") + "'" for ch in FORMULA_TRIGGERS
)


def csv_cell(value: Any) -> str:
    """One cell as the Python writer writes it (for values known before the query)."""
    if value is None:
        return ""
    if value.__class__ is str:
        value = escape_formula(value)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="", quoting=csv.QUOTE_MINIMAL).writerow([value, ""])
    return buffer.getvalue()[:-1]  # the cell, without the comma before the blank one


def text_cell(text: str) -> str:
    """SQL: a text (NULL stays NULL) escaped as a formula, then quoted for CSV. ``text``
    should be a column reference: it appears several times."""
    escaped = (
        f"(CASE WHEN substr(ltrim({text}, ''''), 1, 1) IN ({_TRIGGERS}) "
        f"THEN '''' || {text} ELSE {text} END)"
    )
    return (
        f"(CASE WHEN {text} ~ '[\",\\r\\n]' "
        f"THEN '\"' || replace({escaped}, '\"', '\"\"') || '\"' ELSE {escaped} END)"
    )


def float_cell(number: str) -> str:
    """SQL: a double precision as Python's ``repr`` writes it (``300.0``, not ``300``)."""
    text = f"({number})::text"
    return f"(CASE WHEN {text} ~ '[.eEnN]' THEN {text} ELSE {text} || '.0' END)"


def json_cell(value: str) -> str:
    """SQL: the cell of a JSON value (``jsonb``), as Python writes the value ``json`` loads."""
    string = f"({value} #>> '{{}}')"
    return (
        f"(CASE jsonb_typeof({value}) "
        f"WHEN 'number' THEN ({value})::text "
        f"WHEN 'string' THEN {text_cell(string)} "
        f"WHEN 'boolean' THEN (CASE WHEN ({value})::text = 'true' THEN 'True' ELSE 'False' END) "
        f"WHEN 'null' THEN NULL "
        f"ELSE {text_cell(f'({value})::text')} END)"
    )


def iso_cell(moment: str) -> str:
    """SQL: a timestamptz as ``isoformat(timespec="seconds")`` in ``settings.TIME_ZONE``."""
    zone = settings.TIME_ZONE.replace("'", "''")
    local = f"({moment} AT TIME ZONE '{zone}')"
    offset = f"extract(epoch FROM {local} - ({moment} AT TIME ZONE 'UTC'))::int"
    sign = f"(CASE WHEN {offset} < 0 THEN '-' ELSE '+' END)"
    hours = f"lpad((abs({offset}) / 3600)::text, 2, '0')"
    minutes = f"lpad((mod(abs({offset}), 3600) / 60)::text, 2, '0')"
    return (
        f"(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || {sign} || {hours} || ':' || {minutes})"
    )


class WideLines:
    """Builds the statement: the responses' columns (``base``: a compiled, filtered, ordered
    query whose columns are aliased), values read from their answers once per row, and the
    cells of one line, in order."""

    def __init__(self, base_sql: str, base_params: tuple[Any, ...], answers: str) -> None:
        self.base_sql = base_sql
        self.base_params = list(base_params)
        self.answers = f"s.{answers}"
        self.values: list[str] = []
        self.value_params: list[Any] = []
        self.cells: list[tuple[str, list[Any]]] = []

    def value(self, *path: str, text: bool = False, sql: str = "{}") -> str:
        """A value read from the answers once per row (``answers -> key [-> key]``; the last
        step ``->>`` with ``text``), optionally wrapped (``sql``, ``{}`` standing for the
        read): the column that holds it."""
        alias = f"a{len(self.values)}"
        steps = ["->"] * len(path)
        if text:
            steps[-1] = "->>"
        read = self.answers + "".join(f" {step} %s::text" for step in steps)
        self.values.append(f"{sql.replace('{}', read)} AS {alias}")
        self.value_params.extend(path * sql.count("{}"))
        return f"v.{alias}"

    def cell(self, sql: str, *params: Any) -> None:
        self.cells.append((sql, list(params)))

    def mark(self) -> int:
        """Where the next cell goes: cells on either side of it can be joined apart."""
        return len(self.cells)

    def joined(self, start: int = 0, stop: int | None = None) -> tuple[str, list[Any]]:
        """SQL: the cells from ``start`` to ``stop`` joined with commas (a NULL cell blank)."""
        cells = self.cells[start:stop]
        sql = "array_to_string(ARRAY[" + ", ".join(c for c, _p in cells) + "]::text[], ',', '')"
        return sql, [param for _c, params in cells for param in params]

    def mapped(self, value: str, text: str, cells: dict[Any, str]) -> None:
        """A cell: the finished cell of a known value (its label, or its code), else the value
        as it is. ``value`` is the JSON value, ``text`` the same read as text (``->>``): known
        values are found by comparing texts, within their JSON type (1 is not "1")."""
        if not cells:
            self.cell(json_cell(value))
            return
        branches: list[str] = []
        params: list[Any] = []
        for kind, keys in (
            (
                "number",
                [k for k in cells if isinstance(k, int | float) and not isinstance(k, bool)],
            ),
            ("string", [k for k in cells if isinstance(k, str)]),
        ):
            if not keys:
                continue
            whens = " ".join("WHEN %s THEN %s::text" for _key in keys)
            for key in keys:
                params += [key if isinstance(key, str) else json.dumps(key), cells[key]]
            otherwise = f"{text}" if kind == "number" else text_cell(text)
            branches.append(f"WHEN '{kind}' THEN (CASE {text} {whens} ELSE {otherwise} END)")
        self.cell(
            f"(CASE jsonb_typeof({value}) {' '.join(branches)} ELSE {json_cell(value)} END)",
            *params,
        )

    def statement(self) -> Paged:
        """The statement of one page of lines: each row is a line (CRLF included) and its
        response's id (PostgreSQL pushes the page's start down to the primary key)."""
        line, params = self.joined()
        sql = (
            f"SELECT {line} || E'\\r\\n', s.c_id FROM ({self.base_sql}) AS s "
            f"CROSS JOIN LATERAL (SELECT {self._values()} OFFSET 0) AS v "
            "WHERE s.c_id > %s ORDER BY s.c_id LIMIT %s"
        )
        return Paged(sql, [*params, *self.base_params, *self.value_params], [])

    def _values(self) -> str:
        return ", ".join(self.values) or "NULL AS a0"

    def _page(self) -> str:
        """SQL: the page's responses (its bounds are the two parameters after the base's)."""
        return f"SELECT * FROM ({self.base_sql}) AS b WHERE b.c_id > %s ORDER BY b.c_id LIMIT %s"

    # --- lines with stored cells (exports.cells) -----------------------------------------

    def stored_statement(self, spans: StoredSpans) -> Paged:
        """``statement`` reading the cells of ``spans`` from ``exports_answercells`` where a
        row made under this stamp (``stamp``) from the same answers (``s.c_digest``) is
        there, and making them as ``statement`` does where not: the same bytes either way.
        The answers are read only for the responses without such a row."""
        head, head_params = self.joined(spans.head_start, spans.head_stop)
        meta, meta_params = self.joined(0, spans.head_start)
        extra, extra_params = self.joined(spans.head_stop, spans.body_start)
        body, body_params = self._body(spans.body_start)
        extra = f" || ',' || {extra}" if spans.body_start > spans.head_stop else ""
        line = f"{meta} || ',' || COALESCE(c.head, {head}){extra} || COALESCE(c.cells, {body})"
        sql = (
            f"SELECT {line} || E'\\r\\n', s.c_id FROM ({self._page()}) AS s "
            f"{_STORED_JOIN} LEFT JOIN LATERAL "
            f"(SELECT {self._values()} WHERE c.response_id IS NULL OFFSET 0) AS v ON true "
            "ORDER BY s.c_id"
        )
        params = [*meta_params, *head_params, *extra_params, *body_params, *self.base_params]
        return Paged(sql, params, [self.stamp(spans), *self.value_params])

    def store_statement(self, spans: StoredSpans) -> tuple[Paged, str]:
        """The statement that stores the cells of ``spans`` for the responses of one page
        that have no row made under their stamp (``stamp``) from their present answers, and
        that stamp. Its one row: how many it stored, how many responses the page has, and the
        page's last id."""
        stamp = self.stamp(spans)
        head, head_params = self.joined(spans.head_start, spans.head_stop)
        body, body_params = self._body(spans.body_start)
        sql = (
            f"WITH page AS MATERIALIZED ({self._page()}), "
            "stored AS (INSERT INTO exports_answercells "
            "(response_id, answers_digest, stamp, head, cells) "
            f"SELECT s.c_id, s.c_digest, %s, {head}, {body} FROM page AS s "
            f"{_STORED_JOIN} CROSS JOIN LATERAL (SELECT {self._values()} OFFSET 0) AS v "
            "WHERE c.response_id IS NULL "
            "ON CONFLICT (response_id) DO UPDATE SET answers_digest = EXCLUDED.answers_digest, "
            "stamp = EXCLUDED.stamp, head = EXCLUDED.head, cells = EXCLUDED.cells "
            "RETURNING 1) "
            "SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM page), "
            "(SELECT max(c_id) FROM page)"
        )
        tail = [stamp, *head_params, *body_params, stamp, *self.value_params]
        return Paged(sql, list(self.base_params), tail), stamp

    def stamp(self, spans: StoredSpans) -> str:
        """What stored cells were made by: the SQL and the parameters of their cells and of
        the reads of the answers (labels, codes, time zone, escaping). Any change to how the
        cells are made changes it, and cells stored under another stamp are not used."""
        head = self.joined(spans.head_start, spans.head_stop)
        body = self._body(spans.body_start)
        return document_hash(
            {"head": head, "body": body, "values": [self.values, self.value_params]}
        )

    def _body(self, start: int) -> tuple[str, list[Any]]:
        """SQL: the cells from ``start`` on, each after a comma ('' when there are none)."""
        if start >= len(self.cells):
            return "''", []
        sql, params = self.joined(start)
        return f"(',' || {sql})", params


# The stored row of each response, if it was made under this stamp from these answers: looked
# up by its key for each response of the page (OFFSET 0 keeps it so: joined, PostgreSQL read
# the table from its start for every page, as much again for each page as for the one before).
_STORED_JOIN = (
    "LEFT JOIN LATERAL (SELECT response_id, head, cells FROM exports_answercells "
    "WHERE response_id = s.c_id AND stamp = %s AND answers_digest = s.c_digest OFFSET 0) AS c "
    "ON true"
)


@dataclass(frozen=True)
class Paged:
    """A statement run a page at a time: its parameters are ``before``, then the id the page
    starts after and the page's size, then ``after`` (``params``)."""

    sql: str
    before: list[Any]
    after: list[Any]

    def params(self, start_after: int, size: int) -> list[Any]:
        return [*self.before, start_after, size, *self.after]


@dataclass(frozen=True)
class StoredSpans:
    """Which cells of a line are stored: ``head`` (``head_start`` to ``head_stop``: cells that
    never change once a response is in) and the body (``body_start`` to the end: the
    answers' cells). Those before, and between the two, are made at each export."""

    head_start: int
    head_stop: int
    body_start: int
