"""How a text cell is written to a spreadsheet: the one rule every writer of a cell follows
(file exports, the tables workbook, the admin's spreadsheet import/export).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
as a formula; such text gets a leading ``'``. ``escape_formula`` and ``unescape_formula`` are
exact inverses, so an exported-then-imported text comes back unchanged.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    return text.lstrip("'")[:1] in FORMULA_TRIGGERS


def escape_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula.

    Text that already starts with quotes before such a character gets one more, so that
    ``unescape_formula(escape_formula(t)) == t`` for every ``t``.
    """
    return "'" + text if _looks_like_formula(text) else text


def unescape_formula(text: str) -> str:
    """The inverse of ``escape_formula``."""
    if text.startswith("'") and _looks_like_formula(text):
        return text[1:]
    return text
