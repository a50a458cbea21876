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

Labels and codes are known before the query runs, so each is escaped and quoted in Python once
(``csv_cell``) and reaches the SQL as a finished cell. Each answer value is read from the JSON
once per row (a ``LATERAL`` subquery kept apart with ``OFFSET 0``); only free text (text
answers, "please specify", values no option has) is escaped and quoted per row.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.conf import settings

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
        self.cells: list[str] = []
        self.cell_params: list[Any] = []

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
        self.cells.append(sql)
        self.cell_params.extend(params)

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

    def statement(self) -> tuple[str, list[Any]]:
        """The statement of one page of lines: each row is a line (CRLF included) and its
        response's id. Two parameters go last: the id the page starts after, and its size
        (the caller appends them; PostgreSQL pushes the first down to the primary key)."""
        line = "array_to_string(ARRAY[" + ", ".join(self.cells) + "]::text[], ',', '')"
        values = ", ".join(self.values) or "NULL AS a0"
        sql = (
            f"SELECT {line} || E'\\r\\n', s.c_id FROM ({self.base_sql}) AS s "
            f"CROSS JOIN LATERAL (SELECT {values} OFFSET 0) AS v "
            "WHERE s.c_id > %s ORDER BY s.c_id LIMIT %s"
        )
        return sql, [*self.cell_params, *self.base_params, *self.value_params]
