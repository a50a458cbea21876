"""The rulebook's judgement of a definition's ``quotas`` (called by ``survey.interchange_checks``).

    quotas:
      - code: gender_age
        label: {zh-hans: 性别 × 年龄, en: Gender × age}
        of: [D1, D2]              # one or more single-choice questions
        when_full: end            # end (the "full" page) or mark (taken in, marked over quota)
        cells:
          - {when: {D1: 1, D2: 1}, target: 50}
          - {when: {D1: 2, D2: 1}, target: 40}

A cell names one option of each question in ``of`` (no more, no fewer); a combination not
listed has no limit (a quota without cells, as the studio first makes it, limits nothing).
Each problem names its place, like every other part of the rulebook.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import canonical_code
from survey.interchange_problems import MISSING, Checker, annotated, display, kinds

QUOTA_KEYS = ("code", "label", "of", "when_full", "cells")
WHEN_FULL = ("end", "mark")
MAX_TARGET = 10_000_000
MAX_CELLS = 1000


def cell_key(of: list[str], when: dict[str, Any]) -> str:
    """The canonical text of a cell: its option codes in ``of`` order (``1|2``)."""
    return "|".join(canonical_code(when[code]) for code in of)


def check_quotas(checker: Checker, quotas: Any) -> None:
    if quotas is MISSING:
        return
    if not checker.listing("quotas", quotas, empty_ok=True):
        return
    seen: dict[str, str] = {}
    for index, quota in enumerate(quotas):
        path = f"quotas[{index}]"
        if not checker.mapping(path, quota):
            continue
        checker.keys(path, quota, QUOTA_KEYS)
        checker.code(f"{path}.code", quota.get("code", MISSING), seen, _("quota code"))
        path = annotated(path, quota)
        checker.label(f"{path}.label", quota.get("label", MISSING), required=False)
        when_full = quota.get("when_full", MISSING)
        if when_full is not MISSING and when_full not in WHEN_FULL:
            message = _("%(value)s is not %(expected)s") % {
                "value": display(when_full),
                "expected": " or ".join(WHEN_FULL),
            }
            checker.add(f"{path}.when_full", "not_allowed", message, when_full)
        of = _check_of(checker, path, quota.get("of", MISSING))
        _check_cells(checker, path, of, quota.get("cells", MISSING))


def _check_of(checker: Checker, path: str, of: Any) -> list[str] | None:
    """The quota's questions when they are all usable, else None (problems added)."""
    if of is MISSING:
        checker.missing(f"{path}.of", _("missing (a list of single-choice question codes)"))
        return None
    if not checker.listing(f"{path}.of", of):
        return None
    usable = True
    for position, code in enumerate(of):
        where = f"{path}.of[{position}]"
        if isinstance(code, str) and code in checker.invalid_codes:
            usable = False
        elif not isinstance(code, str) or code not in checker.specs:
            message = _("unknown question %(value)s") % {"value": display(code)}
            checker.add(where, "unknown_reference", message, code)
            usable = False
        elif checker.specs[code].type != "single":
            message = _(
                "%(code)s is a %(type)s question; a quota is over single-choice questions"
            ) % {"code": code, "type": checker.specs[code].type}
            checker.add(where, "quota_not_single", message, code)
            usable = False
        elif of.index(code) != position:
            message = _("%(code)s is named twice") % {"code": code}
            checker.add(where, "duplicate_code", message, code)
            usable = False
    return list(of) if usable else None


def _check_cells(checker: Checker, path: str, of: list[str] | None, cells: Any) -> None:
    if cells is MISSING:
        checker.missing(f"{path}.cells", _("missing (a list of cells with when and target)"))
        return
    if not checker.listing(f"{path}.cells", cells, empty_ok=True):
        return
    if len(cells) > MAX_CELLS:
        message = _("has %(n)d cells; at most %(max)d") % {"n": len(cells), "max": MAX_CELLS}
        checker.add(f"{path}.cells", "too_many", message)
        return
    keys: dict[str, str] = {}
    for index, cell in enumerate(cells):
        where = f"{path}.cells[{index}]"
        if not checker.mapping(where, cell):
            continue
        checker.keys(where, cell, ("when", "target"))
        target = cell.get("target", MISSING)
        if target is MISSING:
            checker.missing(f"{where}.target", _("missing (how many responses the cell takes)"))
        elif not (
            isinstance(target, int) and not isinstance(target, bool) and 1 <= target <= MAX_TARGET
        ):
            message = _("must be a whole number from 1 to %(max)s, not %(kind)s") % {
                "max": f"{MAX_TARGET:,}",
                **kinds(target),
            }
            checker.add(f"{where}.target", "not_allowed", message, target)
        when = cell.get("when", MISSING)
        if when is MISSING:
            checker.missing(f"{where}.when", _("missing (an option of each question in of)"))
            continue
        if not checker.mapping(f"{where}.when", when) or of is None:
            continue
        if set(when) != set(of):
            message = _("must name an option of each of %(of)s, and nothing else") % {
                "of": ", ".join(of)
            }
            checker.add(f"{where}.when", "quota_cell_questions", message)
            continue
        usable = True
        for code in of:
            option = when[code]
            try:
                known = canonical_code(option) in checker.specs[code].options
            except TypeError:
                known = False
            if not known:
                shown = option if isinstance(option, int | str) else display(option)
                message = _("%(code)s has no option %(value)s") % {"code": code, "value": shown}
                checker.add(f"{where}.when.{code}", "unknown_option", message, option)
                usable = False
        if usable:
            key = cell_key(of, when)
            if key in keys:
                message = _("the same cell as %(other)s") % {"other": keys[key]}
                checker.add(f"{where}.when", "duplicate_cell", message)
            else:
                keys[key] = where
