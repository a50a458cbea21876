"""Edits of a questionnaire/v1 document, as the studio makes them: pure functions from one
document to the next.

Promises:
- Each edit returns a new document and leaves its argument untouched; it changes only what
  it names, so labels in languages the studio does not show, and keys it does not know, stay.
- Edits check only what they need to find their place (``EditRefused``: no such question or
  section). Whether the result is a valid questionnaire is the rulebook's one verdict
  (``definition_problems``), asked by ``survey.services.drafts.definition_draft_save`` when
  the studio stores the draft: no rule of the format is written again here.
- New codes never collide: a question gets the next free ``Q<n>``, a section the next free
  letter-and-number code, options the next whole numbers, items the next letters.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import ExpressionError, parse, references
from wenji.errors import DomainError

Document = dict[str, Any]
QUESTION_TYPES = ("single", "multiple", "matrix", "number", "number_grid", "text")


class EditRefused(DomainError):
    code = "edit_refused"


def document_questions(document: Document) -> Iterator[tuple[dict, dict]]:
    """Each (section, question) of the document, in the order respondents meet them."""
    for section in document.get("sections") or []:
        for question in section.get("questions") or []:
            yield section, question


def question_codes(document: Document) -> list[str]:
    return [str(question.get("code")) for _section, question in document_questions(document)]


def question_find(document: Document, code: str) -> tuple[dict, dict]:
    """The section and the question ``code`` of ``document``; ``EditRefused`` if none."""
    for section, question in document_questions(document):
        if str(question.get("code")) == code:
            return section, question
    raise EditRefused(_("There is no question %(code)s.") % {"code": code})


def question_path(document: Document, code: str) -> str:
    """Where question ``code`` is, as the rulebook's problems name it:
    ``sections[i].questions[j]``; empty when it is not there."""
    for i, section in enumerate(document.get("sections") or []):
        for j, question in enumerate(section.get("questions") or []):
            if str(question.get("code")) == code:
                return f"sections[{i}].questions[{j}]"
    return ""


def expression_reads(source: str) -> set[str]:
    """The question codes an expression reads (none when it does not parse: the rulebook
    says what is wrong with it)."""
    if not source.strip():
        return set()
    try:
        return {code for code, _item in references(parse(source))}
    except ExpressionError:
        return set()


def _section_find(document: Document, code: str) -> dict:
    for section in document.get("sections") or []:
        if str(section.get("code")) == code:
            return section
    raise EditRefused(_("There is no section %(code)s.") % {"code": code})


def _next_code(taken: set[str], prefix: str) -> str:
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def _letters(count: int, taken: set[str]) -> list[str]:
    found, index = [], 0
    while len(found) < count:
        index += 1
        code, n = "", index
        while n:
            n, rest = divmod(n - 1, 26)
            code = chr(ord("a") + rest) + code
        if code not in taken:
            found.append(code)
    return found


def _label(text: str, language: str) -> dict[str, str]:
    return {language: text}


def blank_question(type_: str, code: str, language: str) -> dict[str, Any]:
    """A new question of ``type_`` with the least an admin must then change."""
    if type_ not in QUESTION_TYPES:
        raise EditRefused(_("There is no question type %(type)s.") % {"type": type_})
    question: dict[str, Any] = {
        "code": code,
        "type": type_,
        "label": _label(_("New question"), language),
    }
    if type_ in ("single", "multiple"):
        question["options"] = [
            {"code": n, "label": _label(_("Option %(n)s") % {"n": n}, language)} for n in (1, 2)
        ]
    elif type_ == "matrix":
        points = [_("Very satisfied"), _("Satisfied"), _("Neutral"), _("Dissatisfied")]
        points.append(_("Very dissatisfied"))
        question["scale"] = [
            {"code": n, "score": 6 - n, "label": _label(text, language)}
            for n, text in enumerate(points, start=1)
        ]
        question["items"] = [
            {"code": c, "label": _label(_("Item %(code)s") % {"code": c}, language)}
            for c in ("a", "b")
        ]
    elif type_ == "number":
        question.update({"min": 0, "max": 100})
    elif type_ == "number_grid":
        question.update({"min": 0, "max": 100})
        question["items"] = [
            {"code": c, "label": _label(_("Item %(code)s") % {"code": c}, language)}
            for c in ("a", "b")
        ]
    return question


def question_add(
    document: Document, *, section: str, type_: str, language: str, after: str = ""
) -> tuple[Document, str]:
    """``document`` with a new question of ``type_`` at the end of ``section`` (or right
    after question ``after``); and the new question's code."""
    changed = copy.deepcopy(document)
    code = _next_code(set(question_codes(changed)), "Q")
    target = _section_find(changed, section)
    questions = target.setdefault("questions", [])
    position = len(questions)
    if after:
        codes = [str(q.get("code")) for q in questions]
        position = codes.index(after) + 1 if after in codes else position
    questions.insert(position, blank_question(type_, code, language))
    return changed, code


def question_replace(document: Document, *, code: str, question: dict[str, Any]) -> Document:
    """``document`` with question ``code`` replaced by ``question`` (which may recode it)."""
    changed = copy.deepcopy(document)
    section, old = question_find(changed, code)
    questions = section["questions"]
    questions[questions.index(old)] = question
    return changed


def question_delete(document: Document, *, code: str) -> Document:
    changed = copy.deepcopy(document)
    section, question = question_find(changed, code)
    section["questions"].remove(question)
    return changed


def question_move(document: Document, *, code: str, step: int) -> Document:
    """``document`` with question ``code`` one place up (``step`` -1) or down (+1); at the
    edge of its section it moves to the end of the section before, or the start of the next."""
    changed = copy.deepcopy(document)
    section, question = question_find(changed, code)
    sections = changed["sections"]
    questions = section["questions"]
    index = questions.index(question)
    target = index + step
    if 0 <= target < len(questions):
        questions[index], questions[target] = questions[target], questions[index]
        return changed
    neighbour = sections.index(section) + step
    if not 0 <= neighbour < len(sections):
        return changed  # already first (or last) of all
    questions.remove(question)
    into = sections[neighbour].setdefault("questions", [])
    if step < 0:
        into.append(question)
    else:
        into.insert(0, question)
    return changed


def questions_arrange(document: Document, *, layout: dict[str, list[str]]) -> Document:
    """``document`` with its questions placed as ``layout`` says (section code → question
    codes, in order), as a drag and drop leaves them. Every question must be placed once, in
    a section that exists; ``EditRefused`` otherwise (the page was outdated)."""
    changed = copy.deepcopy(document)
    by_code = {str(q.get("code")): q for _s, q in document_questions(changed)}
    placed = [code for codes in layout.values() for code in codes]
    sections = {str(s.get("code")): s for s in changed.get("sections") or []}
    if sorted(placed) != sorted(by_code) or set(layout) - set(sections):
        raise EditRefused(_("The questions changed meanwhile; reload the page and move again."))
    for code, section in sections.items():
        section["questions"] = [by_code[q] for q in layout.get(code, [])]
    return changed


def section_add(document: Document, *, title: str, language: str) -> tuple[Document, str]:
    changed = copy.deepcopy(document)
    sections = changed.setdefault("sections", [])
    code = _next_code({str(s.get("code")) for s in sections}, "S")
    sections.append({"code": code, "title": _label(title, language), "questions": []})
    return changed, code


def section_retitle(document: Document, *, code: str, title: dict[str, str]) -> Document:
    changed = copy.deepcopy(document)
    section = _section_find(changed, code)
    kept = section.get("title") if isinstance(section.get("title"), dict) else {}
    section["title"] = {**{k: v for k, v in kept.items() if k not in title}, **title}
    return changed


def section_delete(document: Document, *, code: str) -> Document:
    """``document`` without section ``code``; refused while it holds questions."""
    changed = copy.deepcopy(document)
    section = _section_find(changed, code)
    if section.get("questions"):
        raise EditRefused(
            _("Section %(code)s still holds questions: move or delete them first.") % {"code": code}
        )
    changed["sections"].remove(section)
    return changed


_CODED_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*[=:：]\s*(.+?)\s*$")


def entries_from_lines(
    text: str, *, existing: list[dict], language: str, letters: bool = False
) -> list[dict]:
    """New options (or items, with ``letters``) from pasted lines, one per non-empty line:
    ``label``, or ``code=label`` to choose the code. Codes not given follow the existing ones
    (whole numbers, or letters for items)."""
    taken = {str(entry.get("code")) for entry in existing}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    added: list[dict] = []
    for line in lines:
        coded = _CODED_LINE.match(line)
        if coded and coded.group(1) not in taken:
            code: int | str = coded.group(1)
            label = coded.group(2)
        else:
            label = line
            if letters:
                code = _letters(1, taken)[0]
            else:
                numbers = [int(c) for c in taken if c.isdigit()]
                code = max(numbers, default=0) + 1
        code = int(code) if isinstance(code, str) and code.isdigit() else code
        taken.add(str(code))
        added.append({"code": code, "label": _label(label, language)})
    return added
