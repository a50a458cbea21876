"""The one contract every export follows, and the one base that writes it as CSV, XLSX or SAV.

An exporter has an ``id``, a ``label``, ``options`` (``ExportOptions``), ``columns()`` (codes,
labels, kinds, value labels) and ``rows()``, an iterator of lists of cells. A cell is ``None``
(empty), an ``int`` or ``float`` (a number, negative ones included), a ``str``, or an aware
``datetime``: CSV writes it as ISO 8601 with its offset, XLSX as a real Excel date-time
(``yyyy-mm-dd hh:mm:ss``), both in the site's time zone (``settings.TIME_ZONE``, by default
Asia/Shanghai).

Promises of the writers (``write_csv``/``csv_chunks``, ``write_xlsx``, ``write_sav``):
- every text cell a spreadsheet would run as a formula (first character ``=``, ``+``, ``-``,
  ``@``, tab or carriage return) is written with a leading ``'``, by the one implementation in
  ``survey.resources.escape_formula``, in the header rows too; numbers are never touched;
- CSV follows RFC 4180 (CRLF line ends, fields with commas, quotes or line breaks quoted,
  quotes doubled) and is UTF-8 with a BOM unless asked otherwise (Excel on a Chinese Windows
  reads a BOM-less file as GBK);
- CSV and XLSX need memory independent of the row count (rows are streamed; XLSX uses
  openpyxl's write-only mode). SAV does not: pyreadstat writes a whole DataFrame, so it holds
  every row (numbers as float64 arrays, filled chunk by chunk; ~2.8 KB per response of the
  reference questionnaire at the peak, see bench/export/README.md), and ``write_sav`` refuses
  more than ``max_rows`` rows with ``ExportTooLarge`` (the message suggests CSV);
- ``progress(rows_written)`` is called every ``PROGRESS_EVERY`` rows and at the end.
"""

from __future__ import annotations

import csv
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ClassVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from exports.exporters.sav_weight import sav_weight_set
from survey.models import Questionnaire
from wenji.cells import FORMULA_TRIGGERS, escape_formula

NUMBER = "number"
TEXT = "text"
PROGRESS_EVERY = 5000
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit, header rows included
# A first character that may need escaping: the triggers, and a quote (escape_formula keeps
# quoted text reversible). Checked inline before calling escape_formula, for speed.
_ESCAPE_FIRST = frozenset((*FORMULA_TRIGGERS, "'"))

VALUES_LABELS = "labels"
VALUES_CODES = "codes"
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

Cell = int | float | str | datetime | None
Row = list[Cell]
Progress = Callable[[int], None]


class ExportError(Exception):
    """An export that cannot be made as asked; ``message`` says why, for a person."""

    code = "export_refused"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ExportTooLarge(ExportError):
    code = "export_too_large"


@dataclass(frozen=True)
class ExportOptions:
    """How an export is written. ``identity`` is honoured only for users allowed to see
    respondent identities; the service checks that before an exporter is built."""

    language: str = "zh-hans"
    # A second header row of labels (CSV, XLSX); a label column (long). None: the format's
    # default: yes in XLSX and the long export, no in CSV (one header row reads back anywhere).
    labels: bool | None = None
    # Answers as their option labels ("labels", for reading) or codes ("codes", for analysis
    # software); SAV always has codes, with value labels.
    values: str = VALUES_LABELS
    bom: bool = True  # CSV: UTF-8 with a byte-order mark
    identity: bool = False  # the hashed respondent identity and IP hash columns
    weighted: bool = True  # analysis tables of a weighted questionnaire: its weighted tables

    @property
    def as_labels(self) -> bool:
        return self.values == VALUES_LABELS

    def as_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "labels": self.labels,
            "values": self.values,
            "bom": self.bom,
            "identity": self.identity,
            "weighted": self.weighted,
        }


@dataclass(frozen=True)
class Column:
    code: str  # the header cell: a question code, "Q5.a", "Q9.7", "D6.other", "status"
    label: str = ""  # in the export's language
    kind: str = TEXT  # NUMBER or TEXT: how SAV stores it (CSV and XLSX write cells as they are)
    value_labels: dict[int, str] = field(default_factory=dict)  # SAV value labels (numbers)
    measure: str = "unknown"  # SAV: nominal, ordinal, scale or unknown
    whole: bool = False  # SAV: shown without decimals (codes, 0/1, counts)


class Exporter(ABC):
    """One kind of export. Subclasses set ``id`` and ``label`` and implement ``columns`` and
    ``rows``; ``responses_done`` counts the responses read so far (for progress)."""

    id: ClassVar[str]
    label: ClassVar[Any]
    # False for exports of the analysis results: filters of responses do not apply to them.
    reads_responses: ClassVar[bool] = True

    def __init__(
        self, *, questionnaire: Questionnaire, responses: Any, options: ExportOptions
    ) -> None:
        self.questionnaire = questionnaire
        self.responses = responses  # a QuerySet of Response, already filtered; or None
        self.options = options
        self.responses_done = 0

    @classmethod  # noqa: B027  (an optional hook: most exports can always be made)
    def check(cls, questionnaire: Questionnaire) -> None:
        """Raise ``ExportError`` (saying why) when this export cannot be made now."""

    @abstractmethod
    def columns(self) -> list[Column]: ...

    @abstractmethod
    def rows(self) -> Iterator[Row]: ...

    def expected_rows(self) -> int | None:
        """The number of rows ``rows()`` will give, when known beforehand (None: not known)."""
        return None

    def csv_lines(self) -> Iterator[bytes] | None:
        """The CSV's data lines, finished (quoted, escaped, CRLF-ended, UTF-8), when the
        exporter can have the database make them; None (the default): the writer formats
        ``rows()``."""
        return None

    @property
    def label_row(self) -> bool | None:
        """Whether CSV and XLSX get a second header row of column labels (None: the format's
        default, see ``ExportOptions.labels``)."""
        return self.options.labels

    def write_xlsx(self, path: Path, progress: Progress | None = None) -> int:
        """This export as an XLSX file: one sheet of its rows (``write_xlsx``), unless the
        exporter lays out a workbook of its own. Returns the data rows."""
        return write_xlsx(self, path, progress=progress)

    def filename_stem(self) -> str:
        return f"{self.questionnaire.slug}-{self.id.replace('_', '-')}"

    def sheet_title(self) -> str:
        return self.id[:31]


def safe_row(row: Iterable[Cell]) -> Row:
    """``row`` with every formula-like text cell escaped; other cells unchanged."""
    return [
        escape_formula(cell) if cell.__class__ is str and cell[:1] in _ESCAPE_FIRST else cell
        for cell in row
    ]


def header_rows(exporter: Exporter, columns: Sequence[Column], *, xlsx: bool = False) -> list[Row]:
    rows: list[Row] = [[column.code for column in columns]]
    label_row = exporter.label_row
    if label_row if label_row is not None else xlsx:
        rows.append([column.label for column in columns])
    return [safe_row(row) for row in rows]


# --- CSV ---------------------------------------------------------------------------------------


class _Buffer(io.StringIO):
    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


def csv_chunks(
    exporter: Exporter, *, progress: Progress | None = None, rows_per_chunk: int = 1000
) -> Iterator[bytes]:
    """The export as CSV, in pieces of about ``rows_per_chunk`` rows (for streaming)."""
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    columns = exporter.columns()
    writer.writerows(header_rows(exporter, columns))
    head = buffer.take()
    yield (("\ufeff" + head) if exporter.options.bom else head).encode("utf-8")
    lines = exporter.csv_lines()
    if lines is not None:
        yield from _line_chunks(lines, progress, rows_per_chunk)
        return
    written = 0
    pending = 0
    for row in exporter.rows():
        writer.writerow(
            [
                _iso(cell)
                if cell.__class__ is datetime
                else escape_formula(cell)
                if cell.__class__ is str and cell[:1] in _ESCAPE_FIRST
                else cell
                for cell in row
            ]
        )
        written += 1
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.take().encode("utf-8")
            pending = 0
            if progress is not None and written % PROGRESS_EVERY < rows_per_chunk:
                progress(written)
    tail = buffer.take()
    if tail:
        yield tail.encode("utf-8")
    if progress is not None:
        progress(written)


def _line_chunks(
    lines: Iterator[bytes], progress: Progress | None, rows_per_chunk: int
) -> Iterator[bytes]:
    written = 0
    pending: list[bytes] = []
    for line in lines:
        pending.append(line)
        if len(pending) >= rows_per_chunk:
            written += len(pending)
            yield b"".join(pending)
            pending.clear()
            if progress is not None and written % PROGRESS_EVERY < rows_per_chunk:
                progress(written)
    if pending:
        written += len(pending)
        yield b"".join(pending)
    if progress is not None:
        progress(written)


def write_csv(exporter: Exporter, stream: IO[bytes], *, progress: Progress | None = None) -> int:
    """Write the CSV to a binary stream; returns the number of data rows."""
    rows = 0

    def count(written: int) -> None:
        nonlocal rows
        rows = written
        if progress is not None:
            progress(written)

    for chunk in csv_chunks(exporter, progress=count):
        stream.write(chunk)
    return rows


# --- XLSX --------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry (openpyxl refuses them); text answers never contain them, but
# labels and imported data might.
_XML_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _xlsx_cell(cell: Cell, sheet: Any = None) -> Any:
    """A cell for openpyxl: text without the characters XML cannot carry; a time as a real
    Excel date-time in the site's time zone (Excel has no zones), shown as such."""
    if cell.__class__ is str and _XML_ILLEGAL.search(cell):
        return _XML_ILLEGAL.sub("", cell)
    if isinstance(cell, datetime) and sheet is not None:
        from openpyxl.cell import WriteOnlyCell

        local = cell.astimezone(ZoneInfo(settings.TIME_ZONE)).replace(tzinfo=None)
        written = WriteOnlyCell(sheet, value=local)
        written.number_format = XLSX_DATETIME_FORMAT
        return written
    return cell


def _iso(cell: datetime) -> str:
    """A time as ISO 8601 with its offset, in the site's time zone."""
    return cell.astimezone(ZoneInfo(settings.TIME_ZONE)).isoformat(timespec="seconds")


def write_xlsx(exporter: Exporter, path: Path, *, progress: Progress | None = None) -> int:
    """Write the rows in write-only mode (rows are not kept); returns the data rows.

    A worksheet holds 1,048,576 rows, header rows included: past that the rows go on in a
    second sheet (``title (2)``, with the same header rows), then a third, and so on. When
    the exporter knows its row count beforehand (``expected_rows``) the first sheet says so:
    its title ends with ``(1)`` and its first header cell carries a note naming the sheets.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    columns = exporter.columns()
    headers = header_rows(exporter, columns, xlsx=True)
    per_sheet = XLSX_MAX_ROWS - len(headers)
    expected = exporter.expected_rows()
    sheets = max(1, -(-expected // per_sheet)) if expected is not None else 1
    title = exporter.sheet_title()

    def new_sheet(number: int) -> Any:
        continued = number > 1 or sheets > 1
        sheet = workbook.create_sheet(title=f"{title[:25]} ({number})" if continued else title)
        for index, header in enumerate(headers):
            cells = [_xlsx_cell(cell) for cell in header]
            if index == 0 and number == 1 and sheets > 1:
                cells[0] = _noted_cell(sheet, cells[0], expected, per_sheet, sheets)
            sheet.append(cells)
        return sheet

    sheet = new_sheet(1)
    number, in_sheet, written = 1, 0, 0
    for row in exporter.rows():
        if in_sheet >= per_sheet:
            number += 1
            sheet = new_sheet(number)
            in_sheet = 0
        sheet.append([_xlsx_cell(cell, sheet) for cell in safe_row(row)])
        in_sheet += 1
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    workbook.save(path)
    if progress is not None:
        progress(written)
    return written


def _noted_cell(sheet: Any, value: Any, rows: int, per_sheet: int, sheets: int) -> Any:
    """The first header cell with a note: the rows go on in the next sheets."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment

    cell = WriteOnlyCell(sheet, value=value)
    text = _(
        "%(rows)s rows: more than one worksheet holds (%(limit)s). Rows 1 to %(per_sheet)s "
        "are on this sheet, the rest on the next %(more)s sheet(s), each with the same header."
    ) % {
        "rows": f"{rows:,}",
        "limit": f"{XLSX_MAX_ROWS:,}",
        "per_sheet": f"{per_sheet:,}",
        "more": sheets - 1,
    }
    cell.comment = Comment(text, "Wenji", width=320, height=120)
    return cell


# --- SPSS .sav ---------------------------------------------------------------------------------

SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
SPSS_NAME_BYTES = 64
SPSS_LABEL_BYTES = 255


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def spss_names(codes: Sequence[str]) -> list[str]:
    """Valid, unique SPSS variable names for ``codes``: ``Q5.a`` → ``Q5_a``.

    Letters, digits and ``_`` only, starting with a letter, at most 64 bytes, not a reserved
    word, unique ignoring case (SPSS compares names that way): a clash gets ``_2``, ``_3``...
    """
    names: list[str] = []
    taken: set[str] = set()
    for code in codes:
        base = re.sub(r"[^A-Za-z0-9_]", "_", code.encode("ascii", "replace").decode())
        if not base[:1].isalpha():
            base = "V" + base
        if base.upper() in SPSS_RESERVED:
            base += "_"
        base = base[:SPSS_NAME_BYTES]
        name, counter = base, 1
        while name.upper() in taken:
            counter += 1
            suffix = f"_{counter}"
            name = base[: SPSS_NAME_BYTES - len(suffix)] + suffix
        taken.add(name.upper())
        names.append(name)
    return names


def _sav_columns(
    exporter: Exporter, columns: Sequence[Column], max_rows: int, progress: Progress | None
) -> tuple[list[list[Any]], int]:
    """Every column's values as numpy arrays (numbers) or lists (text), chunk by chunk."""
    import numpy as np

    numeric = [column.kind == NUMBER for column in columns]
    parts: list[list[Any]] = [[] for _column in columns]
    chunk: list[Row] = []
    written = 0

    def flush() -> None:
        for index, values in enumerate(zip(*chunk, strict=True)):
            if numeric[index]:
                parts[index].append(np.array(values, dtype="float64"))
            else:
                parts[index].extend(
                    ""
                    if value is None
                    else _iso(value)
                    if isinstance(value, datetime)
                    else str(value)
                    for value in values
                )
        chunk.clear()

    for row in exporter.rows():
        if written >= max_rows:
            raise ExportTooLarge(
                _(
                    "An SPSS file is built in memory and this server allows at most %(limit)s "
                    "rows; narrow the filters or export CSV instead."
                )
                % {"limit": f"{max_rows:,}"}
            )
        chunk.append(safe_row(row))
        written += 1
        if len(chunk) >= PROGRESS_EVERY:
            flush()
            if progress is not None:
                progress(written)
    if chunk:
        flush()
    values = [
        (np.concatenate(part) if part else np.array([], dtype="float64")) if numeric[i] else part
        for i, part in enumerate(parts)
    ]
    return values, written


def write_sav(
    exporter: Exporter, path: Path, *, max_rows: int, progress: Progress | None = None
) -> int:
    """Write an SPSS .sav with variable labels (``code label``) and value labels; a ``weight``
    column is set as the file's weight variable."""
    import pandas as pd
    import pyreadstat

    columns = exporter.columns()
    names = spss_names([column.code for column in columns])
    values, written = _sav_columns(exporter, columns, max_rows, progress)
    frame = pd.DataFrame(
        {name: pd.Series(column_values) for name, column_values in zip(names, values, strict=True)}
    )
    for name, column in zip(names, columns, strict=True):
        if column.kind != NUMBER:
            frame[name] = frame[name].astype(object)
    labels = {
        name: _truncate_utf8(safe_row([f"{column.code} {column.label}".strip()])[0], 255)
        for name, column in zip(names, columns, strict=True)
    }
    value_labels = {
        name: {float(code): _truncate_utf8(text, 120) for code, text in column.value_labels.items()}
        for name, column in zip(names, columns, strict=True)
        if column.value_labels and column.kind == NUMBER
    }
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=_truncate_utf8(exporter.questionnaire.slug, 64),
        column_labels=labels,
        variable_value_labels=value_labels,
        variable_measure={
            name: column.measure
            for name, column in zip(names, columns, strict=True)
            if column.measure != "unknown"
        },
        variable_format={
            name: "F12.0"
            for name, column in zip(names, columns, strict=True)
            if column.kind == NUMBER and column.whole
        },
    )
    codes = [column.code for column in columns]
    if "weight" in codes:  # opened weighted in SPSS and PSPP
        sav_weight_set(path, names[codes.index("weight")])
    if progress is not None:
        progress(written)
    return written
