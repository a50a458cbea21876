"""The definition as a document: what the analysis reads of it (one digest), and how two versions
differ (one diff).

Promises:
- ``definition_digest(document)`` is a hash over exactly what the analysis reads: everything
  but labels, titles and intros. A label or typo fix keeps it; a score, rule, segment, option,
  validity or banner change moves it. It alone decides whether an edit raises
  ``definition_version`` and starts a run (``definition_change``), whichever path the edit
  took: a definition file, the admin's pages, a spreadsheet import.
- ``definition_diff(old, new)`` lists every difference of two valid documents, each with what
  changed, where, and whether it is *structural* (answers point at the rows it adds, removes or
  recodes: refused once a questionnaire has responses). Codes compare canonically (``1`` and
  ``"1"`` are one code); the section layout and question order are not structure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from survey.interchange_problems import code_of
from survey.models import Questionnaire

# What respondents read, what they are still asked (hidden), and how collection is steered
# (quotas): not what the analysis reads.
PRESENTATION_KEYS = frozenset({"label", "title", "intro", "hint", "hidden", "brand", "quotas"})


def _analysis_view(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: _analysis_view(v) for k, v in document.items() if k not in PRESENTATION_KEYS}
    if isinstance(document, list):
        return [_analysis_view(v) for v in document]
    return document


def document_hash(document: Any) -> str:
    """A hash of the whole document (key order does not matter)."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def definition_digest(document: Mapping[str, Any]) -> str:
    """A hash over what the analysis reads of a questionnaire/v1 document."""
    return document_hash(_analysis_view(dict(document)))


@contextmanager
def definition_change(*, questionnaire: Questionnaire) -> Iterator[None]:
    """Wrap an edit of ``questionnaire``'s definition rows; when it is done, a changed digest
    raises ``definition_version`` and tells the analysis (on commit)."""
    from survey.services.questionnaires import (  # the writes live there
        questionnaire_definition_changed,
        questionnaire_export,
    )

    before = definition_digest(questionnaire_export(questionnaire=questionnaire, pictures=False))
    yield
    questionnaire.refresh_from_db()
    after = questionnaire_export(questionnaire=questionnaire, pictures=False)
    if definition_digest(after) != before:
        questionnaire_definition_changed(questionnaire=questionnaire)


# --- the diff ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between two documents.

    ``what``: question, option, scale_point, item, question_field, score,
    segment, validity, banner, significance, setting, brand, layout; ``change``: added, removed or
    changed; ``question`` and ``code`` say where; ``field`` the key that changed, with its
    ``old`` and ``new`` values."""

    what: str
    change: str
    question: str | None = None
    code: str | None = None
    field: str | None = None
    old: Any = None
    new: Any = None
    structural: bool = False

    def sentence(self) -> str:
        """The change in words, in the active language."""
        values = {
            "code": self.question or self.code,
            "choice": self.code,
            "noun": _NOUNS.get(self.what, lambda: self.what)(),
            "key": self.field,
            "old": self.old,
            "new": self.new,
            "now": str(self.new).lower(),
        }
        if self.what == "question":
            if self.change == "changed":
                return _("question %(code)s: type changed from %(old)s to %(new)s") % values
            if self.change == "removed":
                return _("question %(code)s: removed") % values
            return _("question %(code)s: added") % values
        if self.what == "layout":
            return _("sections or the order of questions changed")
        if self.what == "brand":
            return _("the look of the respondents' pages changed (brand)")
        if self.what in ("option", "scale_point", "item"):
            if self.change == "removed":
                return _("question %(code)s: %(noun)s %(choice)s removed") % values
            if self.change == "added":
                return _("question %(code)s: %(noun)s %(choice)s added") % values
            return _("question %(code)s: %(noun)s %(choice)s: %(key)s changed to %(now)s") % values
        return _("%(what)s %(code)s: %(key)s changed") % {
            "what": self.what,
            "code": self.question or self.code or "",
            "key": self.field or self.change,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "change": self.change,
            "question": self.question,
            "code": self.code,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "structural": self.structural,
            "description": self.sentence(),
        }


_NOUNS = {
    "option": lambda: _("option"),
    "scale_point": lambda: _("scale point"),
    "item": lambda: _("item"),
}
_STRUCTURAL_FLAGS = (("other", "other"), ("exclusive", "exclusive"))


def _questions(document: Mapping[str, Any]) -> dict[str, dict]:
    return {q["code"]: q for s in document.get("sections", []) for q in s.get("questions", [])}


def _by_code(entries: Any) -> dict[str, dict]:
    return {code_of(e["code"]): e for e in entries or [] if isinstance(e, dict)}


def definition_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference between two valid questionnaire/v1 documents, structural ones first
    in the order people read them: questions removed, added, then question by question."""
    before, after = _questions(old), _questions(new)
    changes = [Change("question", "removed", question=c, structural=True) for c in before]
    changes = [c for c in changes if c.question not in after]
    changes += [
        Change("question", "added", question=c, structural=True) for c in after if c not in before
    ]
    for code, question in before.items():
        if code in after:
            changes += _question_diff(code, question, after[code])
    changes += _keyed_diff("score", old.get("scores"), new.get("scores"))
    changes += _keyed_diff("segment", old.get("segments"), new.get("segments"))
    changes += _validity_diff(old.get("validity") or {}, new.get("validity") or {})
    old_analysis, new_analysis = old.get("analysis") or {}, new.get("analysis") or {}
    for key in ("banner", "significance", "correction"):
        if old_analysis.get(key) != new_analysis.get(key):
            changes.append(
                Change(key, "changed", old=old_analysis.get(key), new=new_analysis.get(key))
            )
    if (old.get("settings") or {}) != (new.get("settings") or {}):
        changes.append(
            Change("setting", "changed", old=old.get("settings"), new=new.get("settings"))
        )
    changes += _keyed_diff("quota", old.get("quotas"), new.get("quotas"))
    if (old.get("brand") or {}) != (new.get("brand") or {}):
        changes.append(Change("brand", "changed"))
    if _layout(old) != _layout(new):
        changes.append(Change("layout", "changed", old=_layout(old), new=_layout(new)))
    return changes


def _question_diff(code: str, old: dict, new: dict) -> list[Change]:
    if old["type"] != new["type"]:
        return [
            Change("question", "changed", question=code, field="type", old=old["type"],
                   new=new["type"], structural=True)
        ]  # fmt: skip
    matrix = old["type"] == "matrix"
    noun = "scale_point" if matrix else "option"
    before = _by_code(old.get("scale" if matrix else "options"))
    after = _by_code(new.get("scale" if matrix else "options"))
    changes = _entries_diff(code, noun, before, after)
    for choice in before.keys() & after.keys():
        for key, _name in _STRUCTURAL_FLAGS:
            now = after[choice].get(key, False)
            if before[choice].get(key, False) != now:
                changes.append(
                    Change(noun, "changed", question=code, code=choice, field=key,
                           old=not now, new=now, structural=True)
                )  # fmt: skip
    for choice in before.keys() & after.keys():
        now = after[choice].get("hidden", False)
        if before[choice].get("hidden", False) != now:  # not structural: answers stay
            changes.append(
                Change(noun, "changed", question=code, code=choice, field="hidden",
                       old=not now, new=now)
            )  # fmt: skip
    changes += _entries_diff(code, "item", _by_code(old.get("items")), _by_code(new.get("items")))
    for choice in sorted(before.keys() & after.keys()):
        if before[choice].get("score") != after[choice].get("score"):
            changes.append(
                Change(noun, "changed", question=code, code=choice, field="score",
                       old=before[choice].get("score"), new=after[choice].get("score"))
            )  # fmt: skip
    skip = {"code", "type", "options", "scale", "items", *PRESENTATION_KEYS} - {"hidden"}
    for key in sorted((old.keys() | new.keys()) - skip):
        if old.get(key) != new.get(key):
            changes.append(
                Change("question_field", "changed", question=code, field=key, old=old.get(key),
                       new=new.get(key))
            )  # fmt: skip
    return changes


def _entries_diff(code: str, noun: str, before: dict, after: dict) -> list[Change]:
    removed = [
        Change(noun, "removed", question=code, code=c, structural=True)
        for c in before
        if c not in after
    ]
    added = [
        Change(noun, "added", question=code, code=c, structural=True)
        for c in after
        if c not in before
    ]
    return removed + added


def _keyed_diff(what: str, old: Any, new: Any) -> list[Change]:
    before, after = _by_code(old), _by_code(new)
    changes = [Change(what, "removed", code=c) for c in before if c not in after]
    changes += [Change(what, "added", code=c) for c in after if c not in before]
    for code in before.keys() & after.keys():
        if _analysis_view(before[code]) != _analysis_view(after[code]):
            changes.append(Change(what, "changed", code=code, old=before[code], new=after[code]))
    return changes


def _validity_diff(old: dict, new: dict) -> list[Change]:
    changes = []
    for kind in sorted(old.keys() | new.keys()):
        if old.get(kind) != new.get(kind):
            change = "added" if kind not in old else "removed" if kind not in new else "changed"
            changes.append(
                Change("validity", change, code=kind, old=old.get(kind), new=new.get(kind))
            )
    return changes


def _layout(document: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        (s.get("code"), [q.get("code") for q in s.get("questions", [])])
        for s in document.get("sections", [])
    ]
