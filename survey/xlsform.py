"""XLSForm in and out: the spreadsheet format of KoboToolbox and ODK, mapped onto questionnaire/v1.

Promises:
- ``xlsform_read(data, filename=...)`` turns an XLSForm (.xlsx, .xls, .csv or pyxform's
  markdown) into a questionnaire/v1 document, or raises ``DefinitionError`` listing every row
  it cannot map, each as ``row N (name): reason``. The sheets are read and the survey structure
  is built by pyxform's own parser (``get_xlsform`` and ``workbook_to_json``); only the mapping
  onto our format is done here. Nothing is dropped silently: what Wenji cannot express (an
  XPath function it lacks, repeats, geopoints, calculations, defaults, choice filters…) is
  refused; what it does not need (metadata fields such as ``start``/``end``, constraint
  messages, media) is listed in ``XLSFormImport.notes``.
- ``xlsform_write(document)`` writes a document as an .xlsx that pyxform converts without
  errors. What XLSForm says natively travels natively (types, labels per language, hints,
  ``required``, ``relevant``, ``constraint``, groups, ``table-list`` matrices, ``or_other``);
  the rest (scores, exclusive and "other" options, number grids, the exact ``show_if``, derived
  scores, segments, validity rules, banner, the title's translations) travels in ``wenji_*``
  columns and a ``wenji`` sheet, which other tools ignore. So ``xlsform_read(xlsform_write(d))``
  gives ``d`` back for every valid document in the form ``questionnaire_export`` writes, with
  one exception pyxform imposes on every cell: a no-break space reads back as a space.

The document that comes out of ``xlsform_read`` has not been checked by the rulebook yet:
importing it goes through ``validate_definition`` like every other path.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from survey.expressions import (
    And,
    Compare,
    Expr,
    ExpressionError,
    ListLiteral,
    Literal,
    Not,
    Or,
    Ref,
    orient,
    parse,
    to_source,
)
from survey.interchange import DefinitionError
from survey.interchange_problems import FORMAT, ITEM_CODE_RE, MAX_CODE_LENGTH

__all__ = ["XLSFormImport", "xlsform_read", "xlsform_write"]

OWN_SHEET = "wenji"
TYPE_COLUMN = "wenji_type"  # matrix | number_grid | other_text
ITEM_COLUMN = "wenji_item"  # a matrix or grid row's item code
SHOW_IF_COLUMN = "wenji_show_if"  # the exact show_if, beside its XPath translation
EXTRA_COLUMN = "wenji_settings"  # JSON: what a question has beyond XLSForm's columns
SCORE_COLUMN = "wenji_score"
OTHER_COLUMN = "wenji_other"
EXCLUSIVE_COLUMN = "wenji_exclusive"
HIDDEN_COLUMN = "wenji_hidden"

# Language codes as XLSForm columns name them (``label::Chinese (zh-Hans)``), and back.
_LANGUAGE_NAMES = {"zh-hans": "Chinese (zh)", "en": "English (en)"}
_CHINESE = frozenset({"zh", "zh-hans", "zh-cn", "zh-sg", "chinese", "中文", "简体中文"})
_NAMED_LANGUAGES = {"english": "en", "french": "fr", "spanish": "es", "arabic": "ar"}
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_INT_TEXT = re.compile(r"0|-?[1-9][0-9]*")
_DEFAULT_LANGUAGE = "zh-hans"

# Metadata fields: the platform records start/end itself, and collects no device ids.
_METADATA = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "start-geopoint",
        "background-audio",
    }
)
_QUESTION_TYPES = {
    "select one": "single",
    "select all that apply": "multiple",
    "integer": "number",
    "decimal": "number",
    "text": "text",
}
# Columns whose values would be lost; a row that uses one is refused.
_REFUSED_COLUMNS = {
    "default": "a default answer",
    "calculation": "a calculation",
    "choice_filter": "a choice filter",
    "repeat_count": "a repeat count",
    "read_only": "a read-only field",
    "trigger": "a trigger",
}
# Columns that only say how another tool shows or words something; noted, not kept.
_NOTED_COLUMNS = ("constraint_message", "required_message", "image", "audio", "video", "media")


@dataclass
class XLSFormImport:
    """What ``xlsform_read`` gives: the document, and notes on what it did not keep."""

    document: dict
    notes: list[str] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------------


def xlsform_read(data: bytes, *, filename: str = "form.xlsx") -> XLSFormImport:
    """The questionnaire/v1 document of an XLSForm; ``DefinitionError`` lists what cannot map."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    warnings: list[str] = []
    try:
        workbook = get_xlsform(xlsform=data, file_type=_file_type(filename))
        survey = workbook_to_json(
            workbook_dict=workbook,
            form_name="data",
            fallback_form_name=workbook.fallback_form_name,
            default_language="default",
            warnings=warnings,
        )
    except PyXFormError as exc:
        raise DefinitionError([_("file: %(reason)s") % {"reason": str(exc).strip()}]) from exc
    except (ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        message = _("file: not a readable XLSForm (%(reason)s)") % {"reason": exc}
        raise DefinitionError([message]) from exc
    return _Reader(workbook, survey, _own_rows(data)).read()


def _own_rows(data: bytes) -> list[dict]:
    """The rows of our own sheet, when the file is a workbook that has one."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - not an .xlsx (pyxform has read it already): no own sheet
        return []
    try:
        if OWN_SHEET not in book.sheetnames:
            return []
        rows = book[OWN_SHEET].iter_rows(values_only=True)
        header = [str(cell or "") for cell in next(rows, ())]
        return [dict(zip(header, row, strict=False)) for row in rows]
    finally:
        book.close()


def _file_type(filename: str) -> str | None:
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return suffix if suffix in (".xlsx", ".xlsm", ".xls", ".csv", ".md") else None


class _Reader:
    def __init__(self, workbook: Any, survey: dict, own_rows: list[dict]) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.rows: dict[str, deque[tuple[int, dict]]] = defaultdict(deque)
        for number, raw in enumerate(workbook.survey or [], start=2):
            row = _normal_row(raw)
            name = row.get("name")
            if name:
                self.rows[str(name)].append((number, row))
        self.choice_rows: dict[tuple[str, str], dict] = {}
        for raw in workbook.choices or []:
            row = _normal_row(raw)
            list_name, name = row.get("list_name"), row.get("name")
            if list_name is not None and name is not None:
                self.choice_rows[(str(list_name), str(name))] = row
        self.own = _own_sheet(own_rows, self.problems)
        self.survey = survey
        self.default_language = self._default_language(survey.get("default_language"))
        self.languages: list[str] = []
        # XLSForm name → (question code, item code or None, question type), for expressions.
        self.names: dict[str, tuple[str, str | None, str]] = {}
        self.pending: list[tuple[str, dict, str, str]] = []  # (where, question, relevant, name)
        self.section_codes: set[str] = set()
        self.question_codes: set[str] = set()
        self.last_question: dict | None = None  # where a trailing note goes

    # -- the document --

    def read(self) -> XLSFormImport:
        sections = self._sections(self.survey.get("children") or [])
        for where, question, relevant, _name in self.pending:
            self._translate_relevant(where, question, relevant)
        if self.problems:
            raise DefinitionError(self.problems)
        document: dict[str, Any] = {"format": FORMAT}
        document["slug"] = self.own.get("slug") or _slug(self.survey.get("id_string"))
        languages = self.own.get("languages") or self._used_languages()
        document["languages"] = languages
        title = self.own.get("title")
        if title is None:
            title = self.survey.get("title") or document["slug"]
        document["title"] = title
        for key, value in self.own.items():
            if key not in ("format", "slug", "languages", "title", "sections"):
                document[key] = value
        document["sections"] = sections
        order = ["format", "slug", "languages", "title", "intro", "settings", "sections"]
        ordered = {key: document[key] for key in order if key in document}
        ordered.update((k, v) for k, v in document.items() if k not in ordered)
        return XLSFormImport(ordered, self.notes)

    def _default_language(self, name: Any) -> str:
        if not name or name == "default":
            return _DEFAULT_LANGUAGE
        return self._language_code(str(name), "settings.default_language") or _DEFAULT_LANGUAGE

    def _language_code(self, name: str, where: str) -> str | None:
        if name == "default":
            return self.default_language
        match = re.search(r"\(([^()]+)\)\s*$", name)
        code = (match.group(1) if match else name).strip()
        if code.lower() in _CHINESE:
            return "zh-hans"
        if code.lower() in _NAMED_LANGUAGES:
            return _NAMED_LANGUAGES[code.lower()]
        if _LANGUAGE_CODE.fullmatch(code):
            return code.lower().replace("_", "-")
        message = _("%(where)s: the language %(name)s has no code; name it like 'English (en)'") % {
            "where": where,
            "name": repr(name),
        }
        self.problems.append(message)
        return None

    def _used_languages(self) -> list[str]:
        """The labels' languages, the form's default_language first; a form that names none
        and labels only in other languages (``label::English (en)``) is in those."""
        languages = list(dict.fromkeys(self.languages))
        named = self.survey.get("default_language") not in (None, "", "default")
        if languages and not named and self.default_language not in languages:
            return languages
        if self.default_language in languages:
            languages.remove(self.default_language)
        return [self.default_language, *languages]

    def _text(self, row: dict, kind: str, parsed: Any, where: str) -> Any:
        """A label or hint as the sheet has it (pyxform's own copy has “curly quotes” made
        straight, which would change Chinese text), else as pyxform parsed it."""
        raw = {}
        for column, value in row.items():
            head, _sep, language = str(column).partition("::")
            if head.strip().lower() == kind and value not in (None, ""):
                raw[language.strip() or "default"] = str(value)
        label = self._label(raw or parsed, where)
        texts = label.values() if isinstance(label, dict) else [label]
        if any("${" in text for text in texts):
            message = _("%(where)s: ${…} is shown as written (answers are not piped into text)")
            self.notes.append(message % {"where": where})
        return label

    def _label(self, value: Any, where: str) -> Any:
        """A label: the text, or ``{language: text}`` when it has translations."""
        if value is None:
            return ""
        if not isinstance(value, dict):
            return str(value)
        if set(value) == {"default"}:  # the plain label column: the same in every language
            return str(value["default"] or "")
        label = {}
        for name, text in value.items():
            code = self._language_code(str(name), where)
            if code is not None and text not in (None, ""):
                self.languages.append(code)
                label[code] = str(text)
        return label

    # -- where a row is --

    def _row(self, name: str) -> tuple[int, dict]:
        queue = self.rows.get(name)
        if queue:
            return queue.popleft()
        return 0, {}

    @staticmethod
    def _where(number: int, name: str) -> str:
        if number:
            return _("row %(row)d (%(name)s)") % {"row": number, "name": name}
        return str(name)

    def _refuse(self, where: str, reason: str) -> None:
        self.problems.append(f"{where}: {reason}")

    # -- structure --

    def _sections(self, children: list[dict]) -> list[dict]:
        sections: list[dict] = []
        loose: list[dict] = []  # a run of questions outside any group

        def close_loose() -> None:
            questions = self._questions(list(loose), [])
            loose.clear()
            if questions:
                number = len(sections) + 1
                while f"S{number}" in self.section_codes:
                    number += 1
                self.section_codes.add(f"S{number}")
                sections.append({"code": f"S{number}", "questions": questions})

        for child in children:
            kind = child.get("type")
            name = str(child.get("name", ""))
            if kind == "group" and name == "meta" and (child.get("control") or {}).get("bodyless"):
                self._metadata(child.get("children") or [])
                continue
            if kind != "group" or self._is_matrix_or_grid(child):
                loose.append(child)
                continue
            close_loose()
            number, row = self._row(name)
            where = self._where(number, name)
            section: dict[str, Any] = {"code": self._code(name, where, self.section_codes, "S")}
            title = self._text(row, "label", child.get("label"), where)
            if title:
                section["title"] = title
            self._refuse_columns(where, row)
            relevant = (child.get("bind") or {}).get("relevant")
            section["questions"] = self._questions(
                child.get("children") or [], [relevant] if relevant else []
            )
            if section["questions"]:
                sections.append(section)
        close_loose()
        if not sections and not self.problems:
            self.problems.append(_("file: the form has no question Wenji can import"))
        return sections

    def _code(self, name: str, where: str, used: set[str], prefix: str) -> str:
        """``name`` as a code (letters, digits and _, starting with a letter), unique in
        ``used``; a changed name is noted."""
        code = re.sub(r"[^A-Za-z0-9_]", "_", name)[:MAX_CODE_LENGTH] or prefix
        if not code[0].isalpha() or not code.isascii():
            code = f"{prefix}{code}"[:MAX_CODE_LENGTH]
        base, number = code, 2
        while code in used:
            suffix = f"_{number}"
            code = base[: MAX_CODE_LENGTH - len(suffix)] + suffix
            number += 1
        used.add(code)
        if code != name:
            message = _(
                "%(where)s: the name %(name)s is now %(code)s "
                "(a code takes letters, digits and _, and is unique)"
            )
            self.notes.append(message % {"where": where, "name": repr(name), "code": code})
        return code

    def _metadata(self, children: list[dict]) -> None:
        for child in children:
            if child.get("name") != "instanceID":
                self.notes.append(
                    _("%(name)s: a metadata field (%(type)s), not imported")
                    % {"name": child.get("name"), "type": child.get("type")}
                )

    def _is_matrix_or_grid(self, group: dict) -> bool:
        rows = self.rows.get(str(group.get("name", "")))
        own_type = rows[0][1].get(TYPE_COLUMN) if rows else None
        if own_type in ("matrix", "number_grid"):
            return True
        children = group.get("children") or []
        return any(
            str(c.get("name", "")).startswith("reserved_name_for_field_list_labels_")
            for c in children
        )

    @staticmethod
    def _is_same_list_block(group: dict) -> bool:
        """A field-list group (inside a section) of select_one rows that all use one list and
        have no logic of their own: the XLSForm way to write a matrix without table-list."""
        appearance = str((group.get("control") or {}).get("appearance", ""))
        children = group.get("children") or []
        if "field-list" not in appearance.split() or len(children) < 2:
            return False
        lists = {c.get("list_name") for c in children}
        return (
            all(c.get("type") == "select one" and c.get("choices") for c in children)
            and len(lists) == 1
            and not any((c.get("bind") or {}).get("relevant") for c in children)
        )

    def _questions(self, children: list[dict], relevants: list[str]) -> list[dict]:
        questions: list[dict] = []
        notes: list[Any] = []
        for child in children:
            kind = child.get("type")
            name = str(child.get("name", ""))
            if kind == "group":
                if self._is_matrix_or_grid(child) or self._is_same_list_block(child):
                    question = self._matrix_or_grid(child, relevants)
                    if question is not None:
                        self._attach_notes(question, notes)
                        questions.append(question)
                    continue
                number, row = self._row(name)
                self._refuse_columns(self._where(number, name), row)
                relevant = (child.get("bind") or {}).get("relevant")
                inner = [*relevants, relevant] if relevant else relevants
                questions.extend(self._questions(child.get("children") or [], inner))
                continue
            number, row = self._row(name)
            where = self._where(number, name)
            if kind == "repeat":
                self._refuse(where, _("repeats (a group answered several times) are not supported"))
                continue
            if kind in _METADATA:
                message = _("%(where)s: a metadata field (%(type)s), not imported")
                self.notes.append(message % {"where": where, "type": kind})
                continue
            if kind == "note":
                notes.append(self._text(row, "label", child.get("label"), where))
                continue
            if row.get(TYPE_COLUMN) == "other_text" or self._is_or_other_text(child, children):
                continue
            question = self._question(child, row, where, relevants)
            if question is not None:
                self._attach_notes(question, notes)
                questions.append(question)
        if questions:
            self.last_question = questions[-1]
        if notes:
            if self.last_question is not None:
                self._attach_notes(self.last_question, notes, after=True)
            else:
                where = ", ".join(str(c.get("name")) for c in children if c.get("type") == "note")
                self._refuse(where, _("a note with no question beside it has nowhere to go"))
        return questions

    @staticmethod
    def _is_or_other_text(child: dict, siblings: list[dict]) -> bool:
        name = str(child.get("name", ""))
        if child.get("type") != "text" or not name.endswith("_other"):
            return False
        base = name.removesuffix("_other")
        relevant = (child.get("bind") or {}).get("relevant", "")
        return relevant == f"selected(../{base}, 'other')" and any(
            s.get("name") == base and s.get("type") in ("select one", "select all that apply")
            for s in siblings
        )

    @staticmethod
    def _attach_notes(question: dict, notes: list[Any], *, after: bool = False) -> None:
        """Notes become the question's ``hint`` (shown under its label on the form)."""
        if not notes:
            return
        texts = [n for n in notes if n]
        notes.clear()
        if not texts:
            return
        parts = [question["hint"], *texts] if after and "hint" in question else texts
        if not after and "hint" in question:
            parts = [*texts, question["hint"]]
        question["hint"] = _join_labels(parts)

    def _refuse_columns(self, where: str, row: dict) -> None:
        for column, what in _REFUSED_COLUMNS.items():
            if row.get(column) not in (None, ""):
                message = _("%(what)s (column %(column)s) has no equivalent in Wenji")
                self._refuse(where, message % {"what": what, "column": column})
        for column in _NOTED_COLUMNS:
            for key, value in row.items():
                if (key == column or key.startswith(f"{column}::")) and value not in (None, ""):
                    message = _("%(where)s: column %(column)s not imported")
                    self.notes.append(message % {"where": where, "column": key})

    def _question(self, child: dict, row: dict, where: str, relevants: list[str]) -> dict | None:
        kind = child.get("type")
        name = str(child.get("name", ""))
        if kind not in _QUESTION_TYPES:
            if kind in ("select one", "select all that apply") or child.get("itemset"):
                reason = _("choices from a file or another form are not supported")
            else:
                reason = _("the question type %(type)s has no equivalent in Wenji") % {"type": kind}
            self._refuse(where, reason)
            return None
        self._refuse_columns(where, row)
        qtype = _QUESTION_TYPES[kind]
        code = self._code(name, where, self.question_codes, "Q")
        question: dict[str, Any] = {"code": code, "type": qtype}
        question["label"] = self._text(row, "label", child.get("label"), where)
        hint = self._text(row, "hint", child.get("hint"), where)
        if hint:
            question["hint"] = hint
        bind = child.get("bind") or {}
        if not _truthy(bind.get("required")):
            question["required"] = False
        if qtype in ("single", "multiple") and not self._select(child, question, where):
            return None
        self.names[name] = (code, None, qtype)
        if qtype == "number" and kind == "decimal":
            question["integer"] = False
        constraint = bind.get("constraint")
        if constraint:
            self._constraint(question, str(constraint), where)
        self._own_settings(question, row, where)
        self._show_if(question, row, bind.get("relevant"), relevants, where, name)
        return question

    def _select(self, child: dict, question: dict, where: str) -> bool:
        choices = child.get("choices")
        if not isinstance(choices, list) or not choices:
            self._refuse(where, _("choices from a file or another form are not supported"))
            return False
        list_name = str(child.get("list_name") or child.get("itemset") or "")
        key = "options"
        options = []
        for choice in choices:
            choice_name = str(choice.get("name", ""))
            row = self.choice_rows.get((list_name, choice_name), {})
            option: dict[str, Any] = {"code": _code(choice_name)}
            option["label"] = self._text(row, "label", choice.get("label"), where)
            if choice_name == "other" and not row:  # added by or_other, labelled in English
                option["label"] = _other_label(option["label"])
            score = row.get(SCORE_COLUMN)
            if score not in (None, ""):
                number = _number(score)
                if number is None:
                    message = _("choice %(choice)s: %(column)s must be a number, not %(value)s")
                    shown = {"choice": choice_name, "column": SCORE_COLUMN, "value": repr(score)}
                    self._refuse(where, message % shown)
                else:
                    option["score"] = number
            if _truthy(row.get(OTHER_COLUMN)) or (choice_name == "other" and not row):
                option["other"] = True
            if _truthy(row.get(EXCLUSIVE_COLUMN)):
                option["exclusive"] = True
            if _truthy(row.get(HIDDEN_COLUMN)):
                option["hidden"] = True
            options.append(option)
        question[key] = options
        return True

    def _matrix_or_grid(self, group: dict, relevants: list[str]) -> dict | None:
        name = str(group.get("name", ""))
        number, row = self._row(name)
        where = self._where(number, name)
        self._refuse_columns(where, row)
        own_type = row.get(TYPE_COLUMN)
        qtype = "number_grid" if own_type == "number_grid" else "matrix"
        children = [
            c
            for c in group.get("children") or []
            if not str(c.get("name", "")).startswith(
                ("reserved_name_for_field_list_labels_", "generated_table_list_label_")
            )
        ]
        label = group.get("label")
        if label is None:
            generated = [
                c
                for c in group.get("children") or []
                if str(c.get("name", "")).startswith("generated_table_list_label_")
            ]
            label = generated[0].get("label") if generated else ""
        code = self._code(name, where, self.question_codes, "Q")
        question: dict[str, Any] = {"code": code, "type": qtype}
        question["label"] = self._text(row, "label", label, where)
        hint = self._text(row, "hint", group.get("hint"), where)
        if hint:
            question["hint"] = hint
        expected = ("select one",) if qtype == "matrix" else ("integer", "decimal")
        items: list[dict] = []
        required: list[bool] = []
        child_rows = []
        for child in children:
            child_name = str(child.get("name", ""))
            child_number, child_row = self._row(child_name)
            child_where = self._where(child_number, child_name)
            if child.get("type") not in expected:
                message = _(
                    "a %(kind)s row in %(group)s: every row of a %(what)s must be %(expected)s"
                )
                shown = {
                    "kind": child.get("type"),
                    "group": name,
                    "what": _("matrix") if qtype == "matrix" else _("number grid"),
                    "expected": " / ".join(expected),
                }
                self._refuse(child_where, message % shown)
                continue
            self._refuse_columns(child_where, child_row)
            if (child.get("bind") or {}).get("relevant"):
                self._refuse(
                    child_where, _("a row of a matrix or grid cannot have its own relevant")
                )
            item_code = child_row.get(ITEM_COLUMN)
            if item_code in (None, ""):
                item_code = child_name.removeprefix(f"{name}_")
                if not ITEM_CODE_RE.fullmatch(item_code):
                    item_code = self._code(item_code, child_where, set(), "i")
            item = {
                "code": _code(str(item_code)),
                "label": self._text(child_row, "label", child.get("label"), child_where),
            }
            if self._text(child_row, "hint", child.get("hint"), child_where):
                message = _("%(where)s: the hint of a matrix or grid row is not imported")
                self.notes.append(message % {"where": child_where})
            items.append(item)
            required.append(_truthy((child.get("bind") or {}).get("required")))
            child_rows.append((child, child_where))
            self.names[child_name] = (code, str(item["code"]), qtype)
        if not items:
            self._refuse(where, _("a matrix or grid needs at least one row"))
            return None
        if not all(required):
            question["required"] = False
        first, first_where = child_rows[0]
        if qtype == "matrix":
            lists = {str(c.get("list_name") or c.get("itemset")) for c, _w in child_rows}
            if len(lists) > 1:
                self._refuse(where, _("every row of a matrix must use the same choice list"))
                return None
            holder: dict[str, Any] = {"type": "single"}
            if not self._select(first, holder, first_where):
                return None
            question["scale"] = holder["options"]
            question["items"] = items
        else:
            question["items"] = items
            if first.get("type") == "decimal":
                question["integer"] = False
            constraint = (first.get("bind") or {}).get("constraint")
            if constraint:
                self._constraint(question, str(constraint), first_where)
        self._own_settings(question, row, where)
        self._show_if(
            question, row, (group.get("bind") or {}).get("relevant"), relevants, where, name
        )
        return question

    # -- constraints, own settings, expressions --

    def _constraint(self, question: dict, constraint: str, where: str) -> None:
        qtype = question["type"]
        for clause in re.split(r"\s+and\s+", constraint.strip()):
            clause = clause.strip()
            if clause.startswith("(") and clause.endswith(")"):
                clause = clause[1:-1].strip()
            if qtype in ("number", "number_grid"):
                match = re.fullmatch(r"\.\s*(>=|<=)\s*(-?[0-9]+(?:\.[0-9]+)?)", clause)
                if match:
                    key = "min" if match.group(1) == ">=" else "max"
                    question[key] = _number(match.group(2))
                    continue
            elif qtype == "text":
                match = re.fullmatch(r"string-length\(\s*\.\s*\)\s*<=\s*([0-9]+)", clause)
                if match:
                    question["max_length"] = int(match.group(1))
                    continue
            elif qtype == "multiple":
                match = re.fullmatch(r"count-selected\(\s*\.\s*\)\s*(>=|<=)\s*([0-9]+)", clause)
                if match:
                    key = "min_choices" if match.group(1) == ">=" else "max_choices"
                    question[key] = int(match.group(2))
                    continue
            message = _(
                "the constraint %(clause)s has no equivalent in Wenji "
                "(a %(type)s question takes %(forms)s)"
            )
            forms = {
                "number": ". >= N and . <= N",
                "number_grid": ". >= N and . <= N",
                "text": "string-length(.) <= N",
                "multiple": "count-selected(.) >= N and count-selected(.) <= N",
            }.get(qtype, _("no constraint"))
            self._refuse(where, message % {"clause": repr(clause), "type": qtype, "forms": forms})
            return

    def _own_settings(self, question: dict, row: dict, where: str) -> None:
        raw = row.get(EXTRA_COLUMN)
        if raw in (None, ""):
            return
        try:
            settings = json.loads(str(raw))
        except ValueError:
            settings = None
        if not isinstance(settings, dict):
            message = _("column %(column)s must hold a JSON object")
            self._refuse(where, message % {"column": EXTRA_COLUMN})
            return
        question.update(settings)

    def _show_if(
        self,
        question: dict,
        row: dict,
        relevant: Any,
        relevants: list[str],
        where: str,
        name: str,
    ) -> None:
        own = row.get(SHOW_IF_COLUMN)
        if own not in (None, "") and not relevants:
            question["show_if"] = str(own)
            return
        parts = [*relevants, relevant] if relevant else list(relevants)
        if len(parts) == 1:
            self.pending.append((where, question, str(parts[0]), name))
        elif parts:
            self.pending.append((where, question, " and ".join(f"({p})" for p in parts), name))
        if parts:
            question["show_if"] = ""  # filled in once every name is known

    def _translate_relevant(self, where: str, question: dict, relevant: str) -> None:
        try:
            expression = _XPath(relevant, self.names).expression()
        except _Untranslatable as exc:
            del question["show_if"]
            message = _("relevant %(expression)s cannot be translated: %(reason)s")
            self._refuse(where, message % {"expression": repr(relevant), "reason": exc.reason})
            return
        question["show_if"] = to_source(expression)


def _other_label(label: Any) -> Any:
    if not isinstance(label, dict):
        return label
    return {k: "其他" if k.startswith("zh") else v for k, v in label.items()}


def _own_sheet(rows: list[dict], problems: list[str]) -> dict[str, Any]:
    own: dict[str, Any] = {}
    for number, row in enumerate(rows, start=2):
        key, raw = row.get("key"), row.get("value")
        if not key:
            continue
        try:
            own[str(key)] = json.loads(str(raw)) if raw not in (None, "") else None
        except ValueError:
            message = _("%(sheet)s sheet, row %(row)d (%(key)s): the value is not JSON")
            problems.append(message % {"sheet": OWN_SHEET, "row": number, "key": key})
    return own


def _normal_row(row: dict) -> dict:
    """A sheet row with its headers as pyxform reads them: any case, spaces as underscores
    (``LIST NAME`` is ``list_name``); the language after ``::`` is kept as written."""
    normal = {}
    for key, value in row.items():
        head, sep, language = str(key).partition("::")
        normal[head.strip().lower().replace(" ", "_") + sep + language.strip()] = value
    return normal


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("yes", "true", "true()", "1")


def _code(text: str) -> int | str:
    return int(text) if _INT_TEXT.fullmatch(text) else text


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _join_labels(parts: list[Any]) -> Any:
    if all(isinstance(p, str) for p in parts):
        return "\n".join(parts)
    languages = list(dict.fromkeys(k for p in parts if isinstance(p, dict) for k in p))
    return {
        language: "\n".join(p if isinstance(p, str) else p.get(language, "") for p in parts).strip()
        for language in languages
    }


def _slug(form_id: Any) -> str:
    text = re.sub(r"[^a-z0-9-]+", "-", str(form_id or "").lower()).strip("-")
    return text[:100] or "xlsform"


class _Untranslatable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _XPath:
    """An XLSForm ``relevant`` (XPath, as pyxform's lexer reads it) as a Wenji expression.

    Takes what survey forms use for skip logic: ``${q} = 'v'`` and the other comparisons,
    ``selected(${q}, 'v')``, ``and``, ``or``, ``not(…)`` and parentheses. Anything else (other
    functions, paths, arithmetic, comparing with '' for "unanswered") is refused with the part
    it could not read.
    """

    def __init__(self, text: str, names: dict[str, tuple[str, str | None, str]]) -> None:
        from pyxform.parsing.expression import parse_expression

        self.names = names
        self.tokens: list[tuple[str, str]] = []
        for token in parse_expression(text):
            if token.type == "WHITESPACE":
                continue
            value = str(token.value)
            if token.type == "OPS_COMP" and self.tokens and self.tokens[-1][0] == "OPS_COMP":
                self.tokens[-1] = ("OPS_COMP", self.tokens[-1][1] + value)
                continue
            if token.type == "OPS_BOOL":
                value = value.strip()
            self.tokens.append((token.type, value))
        self.at = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("END", "")

    def _take(self, kind: str, value: str | None = None) -> str:
        token = self._peek()
        if token[0] != kind or (value is not None and token[1] != value):
            self._unsupported(token)
        self.at += 1
        return token[1]

    @staticmethod
    def _unsupported(token: tuple[str, str]) -> None:
        kind, value = token
        if kind == "END":
            raise _Untranslatable(_("it ends too early"))
        if kind == "FUNC_CALL":
            reason = _("the function %(name)s() is not supported") % {"name": value[:-1]}
            raise _Untranslatable(reason)
        raise _Untranslatable(_("%(text)s is not supported there") % {"text": repr(value)})

    def expression(self) -> Expr:
        expr = self._or()
        if self._peek()[0] != "END":
            self._unsupported(self._peek())
        return expr

    def _or(self) -> Expr:
        operands = [self._and()]
        while self._peek() == ("OPS_BOOL", "or"):
            self.at += 1
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Expr:
        operands = [self._unary()]
        while self._peek() == ("OPS_BOOL", "and"):
            self.at += 1
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self) -> Expr:
        kind, value = self._peek()
        if kind == "FUNC_CALL" and value == "not(":
            self.at += 1
            inner = self._or()
            self._take("CLOSE_PAREN")
            return Not(inner)
        if kind == "FUNC_CALL" and value == "selected(":
            self.at += 1
            question, item, qtype = self._reference(self._take("PYXFORM_REF"))
            self._take("COMMA")
            literal = self._literal(self._peek(), qtype)
            self.at += 1
            self._take("CLOSE_PAREN")
            op = "has" if qtype == "multiple" else "=="
            return Compare(Ref(question, item), op, literal)
        if kind == "OPEN_PAREN":
            self.at += 1
            inner = self._or()
            self._take("CLOSE_PAREN")
            return inner
        return self._comparison()

    def _comparison(self) -> Expr:
        left = self._operand(None)
        kind, op = self._peek()
        if kind != "OPS_COMP" or op not in ("=", "!=", "<", "<=", ">", ">="):
            self._unsupported((kind, op))
        self.at += 1
        qtype = left[2] if isinstance(left, tuple) else None
        right = self._operand(qtype)
        if not isinstance(left, tuple) and isinstance(right, tuple):
            left = self._operand_literal(left, right[2])
        op = "==" if op == "=" else op
        left_node = Ref(left[0], left[1]) if isinstance(left, tuple) else left
        right_node = Ref(right[0], right[1]) if isinstance(right, tuple) else right
        return Compare(left_node, op, right_node)

    def _operand(self, qtype: str | None) -> tuple[str, str | None, str] | Literal:
        kind, value = self._peek()
        if kind == "PYXFORM_REF":
            self.at += 1
            return self._reference(value)
        literal = self._literal((kind, value), qtype)
        self.at += 1
        return literal

    def _operand_literal(self, literal: Literal, qtype: str) -> Literal:
        return self._literal(("SYSTEM_LITERAL", f"'{literal.value}'"), qtype)

    def _reference(self, text: str) -> tuple[str, str | None, str]:
        name = text[2:-1]
        if name not in self.names:
            raise _Untranslatable(
                _("${%(name)s} is not a question Wenji imported") % {"name": name}
            )
        return self.names[name]

    @staticmethod
    def _literal(token: tuple[str, str], qtype: str | None) -> Literal:
        kind, value = token
        if kind == "SYSTEM_LITERAL":
            text = value[1:-1]
            if text == "":
                raise _Untranslatable(_("comparing with '' (unanswered) has no equivalent"))
            if qtype in ("number", "number_grid"):
                number = _number(text)
                if number is None:
                    raise _Untranslatable(_("%(text)s is not a number") % {"text": repr(text)})
                return Literal(Decimal(str(number)) if isinstance(number, float) else number)
            if qtype == "text":
                return Literal(text)
            return Literal(_code(text))
        if kind == "NUMBER":
            number = Decimal(value)
            if qtype in ("single", "multiple", "matrix") or number == number.to_integral_value():
                return (
                    Literal(int(number))
                    if number == number.to_integral_value()
                    else Literal(number)
                )
            return Literal(number)
        _XPath._unsupported(token)
        raise AssertionError  # pragma: no cover (_unsupported always raises)


# --- writing ----------------------------------------------------------------------------------


_SURVEY_COLUMNS = ["type", "name"]
_TYPE_NAMES = {"single": "select_one", "multiple": "select_multiple"}


def xlsform_write(document: dict) -> bytes:
    """An .xlsx XLSForm of a valid questionnaire/v1 document (see the module's promises)."""
    return _Writer(document).write()


class _Writer:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.languages = list(document.get("languages") or [_DEFAULT_LANGUAGE])
        self.survey: list[dict[str, Any]] = []
        self.choices: list[dict[str, Any]] = []
        self.kinds: dict[str, str] = {}
        self.names: set[str] = set()
        for section in document.get("sections", []):
            for question in section.get("questions", []):
                self.kinds[str(question["code"])] = question["type"]
                self.names.add(str(question["code"]))

    def column(self, kind: str, language: str) -> str:
        return f"{kind}::{_LANGUAGE_NAMES.get(language, language)}"

    def labels(self, kind: str, label: Any) -> dict[str, str]:
        if isinstance(label, dict):
            return {self.column(kind, k): v for k, v in label.items() if v not in (None, "")}
        if label in (None, ""):
            return {}
        return {kind: str(label)}  # the plain column: the same text in every language

    def write(self) -> bytes:
        for section in self.document.get("sections", []):
            row = {"type": "begin_group", "name": section["code"], "appearance": "field-list"}
            row.update(self.labels("label", section.get("title")))
            self.survey.append(row)
            for question in section.get("questions", []):
                self.question(question)
            self.survey.append({"type": "end_group"})
        return self.workbook()

    def item_name(self, code: str, item: Any) -> str:
        name = f"{code}_{item}"
        while name in self.names:
            name = f"{name}_"
        self.names.add(name)
        return name

    def question(self, question: dict) -> None:
        code = str(question["code"])
        qtype = question["type"]
        common: dict[str, Any] = {"name": code}
        common.update(self.labels("label", question.get("label")))
        common.update(self.labels("hint", question.get("hint")))
        if question.get("show_if"):
            common["relevant"] = self.relevant(question["show_if"])
            common[SHOW_IF_COLUMN] = question["show_if"]
        required = "yes" if question.get("required", True) else "no"
        settings = {
            k: v
            for k, v in question.items()
            if k
            not in (
                "code",
                "type",
                "label",
                "hint",
                "required",
                "show_if",
                "options",
                "scale",
                "items",
                "min",
                "max",
                "integer",
                "max_length",
                "min_choices",
                "max_choices",
            )
        }
        if settings:
            common[EXTRA_COLUMN] = json.dumps(settings, ensure_ascii=False, sort_keys=True)
        if qtype in ("single", "multiple"):
            list_name = f"list_{code}"
            row = {"type": f"{_TYPE_NAMES[qtype]} {list_name}", **common, "required": required}
            constraint = []
            if question.get("min_choices") is not None:
                constraint.append(f"count-selected(.) >= {question['min_choices']}")
            if question.get("max_choices") is not None:
                constraint.append(f"count-selected(.) <= {question['max_choices']}")
            if constraint:
                row["constraint"] = " and ".join(constraint)
            self.survey.append(row)
            self.options(list_name, question["options"])
            for option in question["options"]:
                if option.get("other"):
                    self.other_text(code, qtype, option)
        elif qtype == "matrix":
            list_name = f"list_{code}"
            self.survey.append(
                {"type": "begin_group", **common, "appearance": "table-list", TYPE_COLUMN: "matrix"}
            )
            for item in question["items"]:
                row = {
                    "type": f"select_one {list_name}",
                    "name": self.item_name(code, item["code"]),
                }
                row.update(self.labels("label", item.get("label")))
                row.update({"required": required, ITEM_COLUMN: str(item["code"])})
                self.survey.append(row)
            self.survey.append({"type": "end_group"})
            self.options(list_name, question["scale"])
        elif qtype == "number_grid":
            self.survey.append(
                {
                    "type": "begin_group",
                    **common,
                    "appearance": "field-list",
                    TYPE_COLUMN: "number_grid",
                }
            )
            kind = "integer" if question.get("integer", True) else "decimal"
            constraint = self.bounds(question)
            for item in question["items"]:
                row = {"type": kind, "name": self.item_name(code, item["code"])}
                row.update(self.labels("label", item.get("label")))
                row.update({"required": required, ITEM_COLUMN: str(item["code"])})
                if constraint:
                    row["constraint"] = constraint
                self.survey.append(row)
            self.survey.append({"type": "end_group"})
        elif qtype == "number":
            kind = "integer" if question.get("integer", True) else "decimal"
            row = {"type": kind, **common, "required": required}
            if constraint := self.bounds(question):
                row["constraint"] = constraint
            self.survey.append(row)
        else:  # text
            row = {"type": "text", **common, "required": required}
            if question.get("max_length") is not None:
                row["constraint"] = f"string-length(.) <= {question['max_length']}"
            self.survey.append(row)

    @staticmethod
    def bounds(question: dict) -> str:
        parts = []
        if question.get("min") is not None:
            parts.append(f". >= {_plain(question['min'])}")
        if question.get("max") is not None:
            parts.append(f". <= {_plain(question['max'])}")
        return " and ".join(parts)

    def options(self, list_name: str, options: list[dict]) -> None:
        for option in options:
            row: dict[str, Any] = {"list_name": list_name, "name": str(option["code"])}
            row.update(self.labels("label", option.get("label")))
            if option.get("score") is not None:
                row[SCORE_COLUMN] = option["score"]
            if option.get("other"):
                row[OTHER_COLUMN] = "yes"
            if option.get("exclusive"):
                row[EXCLUSIVE_COLUMN] = "yes"
            if option.get("hidden"):
                row[HIDDEN_COLUMN] = "yes"
            self.choices.append(row)

    def other_text(self, code: str, qtype: str, option: dict) -> None:
        """The "please specify" box, for other tools (Wenji stores it with the choice)."""
        name = self.item_name(code, "other")
        row = {
            "type": "text",
            "name": name,
            "relevant": f"selected(${{{code}}}, '{option['code']}')",
            "required": "no",
            TYPE_COLUMN: "other_text",
        }
        specify = {language: "" for language in self.languages}
        label = option.get("label")
        for language in self.languages:
            text = label.get(language, "") if isinstance(label, dict) else str(label or "")
            specify[language] = f"{text}: …" if text else "…"
        row.update(self.labels("label", specify))
        self.survey.append(row)

    def relevant(self, show_if: str) -> str:
        try:
            return self.xpath(parse(show_if))
        except ExpressionError:
            return ""

    def reference(self, ref: Ref) -> str:
        if ref.item is None:
            return f"${{{ref.question}}}"
        return f"${{{ref.question}_{ref.item}}}"

    def value(self, ref: Ref, literal: Any, op: str = "==") -> str:
        kind = self.kinds.get(ref.question, "")
        if isinstance(literal, Ref):
            return self.reference(literal)
        value = literal.value
        numeric = kind in ("number", "number_grid") or op not in ("==", "!=", "in", "has")
        if numeric and not isinstance(value, str):
            return _plain(value)
        text = str(value).replace("'", "")
        return f"'{text}'"

    def xpath(self, expr: Expr) -> str:
        if isinstance(expr, Or):
            return " or ".join(self.wrapped(op) for op in expr.operands)
        if isinstance(expr, And):
            return " and ".join(self.wrapped(op) for op in expr.operands)
        if isinstance(expr, Not):
            return f"not({self.xpath(expr.operand)})"
        ref, op, right = orient(expr)
        if op == "has":
            return f"selected({self.reference(ref)}, {self.value(ref, right)})"
        if op == "in" and isinstance(right, ListLiteral):
            parts = [f"{self.reference(ref)} = {self.value(ref, v)}" for v in right.values]
            return "(" + " or ".join(parts) + ")"
        xpath_op = "=" if op == "==" else op
        return f"{self.reference(ref)} {xpath_op} {self.value(ref, right, op)}"

    def wrapped(self, expr: Expr) -> str:
        text = self.xpath(expr)
        return f"({text})" if isinstance(expr, And | Or) else text

    def workbook(self) -> bytes:
        book = Workbook()
        survey = book.active
        survey.title = "survey"
        _fill(survey, self.survey, ["type", "name"])
        choices = book.create_sheet("choices")
        _fill(choices, self.choices, ["list_name", "name"])
        settings = book.create_sheet("settings")
        default = self.languages[0]
        title = self.document.get("title")
        title_text = (
            title.get(default) or next(iter(title.values()), "")
            if isinstance(title, dict)
            else title
        )
        # No default_language: pyxform would then file the plain label column under it.
        # clean_text_values no: pyxform would otherwise turn “curly quotes” into straight ones.
        settings.append(["form_title", "form_id", "version", "clean_text_values"])
        settings.append(
            [title_text or self.document.get("slug"), self.document.get("slug"), "1", "no"]
        )
        own = book.create_sheet(OWN_SHEET)
        own.append(["key", "value"])
        for key, value in self.document.items():
            if key in ("format", "sections"):
                continue
            own.append([key, json.dumps(value, ensure_ascii=False)])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


def _fill(sheet: Any, rows: list[dict[str, Any]], first: list[str]) -> None:
    columns = list(first)
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(column) for column in columns])


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text.lower() else text
    return str(value)
