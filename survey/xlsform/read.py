"""Reading an XLSForm into a questionnaire/v1 document (see the package's promises)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import to_source
from survey.interchange import XLSFORM_SUFFIXES, DefinitionError
from survey.interchange_problems import FORMAT, ITEM_CODE_RE, MAX_CODE_LENGTH
from survey.xlsform.columns import (
    CHINESE,
    DEFAULT_LANGUAGE,
    EXCLUSIVE_COLUMN,
    EXTRA_COLUMN,
    HIDDEN_COLUMN,
    ITEM_COLUMN,
    LANGUAGE_CODE,
    NAMED_LANGUAGES,
    OTHER_COLUMN,
    OWN_SHEET,
    SCORE_COLUMN,
    SHOW_IF_COLUMN,
    TYPE_COLUMN,
    as_code,
    as_number,
    join_labels,
    normal_row,
    other_label,
    own_sheet,
    slug_of,
    truthy,
)
from survey.xlsform.xpath import _Untranslatable, _XPath

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

    _refuse_zip_bomb(data)
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


# An .xlsx is a zip: a small upload may unpack to gigabytes. Real forms unpack to well under
# a megabyte; the reference questionnaire's to 60 KB.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024


def _refuse_zip_bomb(data: bytes) -> None:
    if not data.startswith(b"PK\x03\x04"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        message = _("file: not a readable XLSForm (%(reason)s)") % {"reason": exc}
        raise DefinitionError([message]) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        message = _("file: the workbook unpacks to %(size)s MB, more than %(limit)s MB")
        values = {"size": unpacked // 2**20, "limit": MAX_UNPACKED_BYTES // 2**20}
        raise DefinitionError([message % values])


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
    return suffix if suffix in XLSFORM_SUFFIXES else None


class _Reader:
    def __init__(self, workbook: Any, survey: dict, own_rows: list[dict]) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.rows: dict[str, deque[tuple[int, dict]]] = defaultdict(deque)
        for number, raw in enumerate(workbook.survey or [], start=2):
            row = normal_row(raw)
            name = row.get("name")
            if name:
                self.rows[str(name)].append((number, row))
        self.choice_rows: dict[tuple[str, str], dict] = {}
        for raw in workbook.choices or []:
            row = normal_row(raw)
            list_name, name = row.get("list_name"), row.get("name")
            if list_name is not None and name is not None:
                self.choice_rows[(str(list_name), str(name))] = row
        self.own = own_sheet(own_rows, self.problems)
        self.survey = survey
        self.default_language = self._default_language(survey.get("default_language"))
        self.languages: list[str] = []
        # XLSForm name → (question code, item code or None, question type), for expressions.
        self.names: dict[str, tuple[str, str | None, str]] = {}
        self.pending: list[tuple[str, dict, str]] = []  # (where, question, relevant)
        self.section_codes: set[str] = set()
        self.question_codes: set[str] = set()
        self.last_question: dict | None = None  # where a trailing note goes

    # -- the document --

    def read(self) -> XLSFormImport:
        sections = self._sections(self.survey.get("children") or [])
        for where, question, relevant in self.pending:
            self._translate_relevant(where, question, relevant)
        if self.problems:
            raise DefinitionError(self.problems)
        document: dict[str, Any] = {"format": FORMAT}
        document["slug"] = self.own.get("slug") or slug_of(self.survey.get("id_string"))
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
            return DEFAULT_LANGUAGE
        return self._language_code(str(name), "settings.default_language") or DEFAULT_LANGUAGE

    def _language_code(self, name: str, where: str) -> str | None:
        if name == "default":
            return self.default_language
        match = re.search(r"\(([^()]+)\)\s*$", name)
        code = (match.group(1) if match else name).strip()
        if code.lower() in CHINESE:
            return "zh-hans"
        if code.lower() in NAMED_LANGUAGES:
            return NAMED_LANGUAGES[code.lower()]
        if LANGUAGE_CODE.fullmatch(code):
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
        own = [question["hint"]] if "hint" in question else []
        question["hint"] = join_labels([*own, *texts] if after else [*texts, *own])

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
        if not truthy(bind.get("required")):
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
        self._show_if(question, row, bind.get("relevant"), relevants, where)
        return question

    def _select(self, child: dict, question: dict, where: str) -> bool:
        choices = child.get("choices")
        if not isinstance(choices, list) or not choices:
            self._refuse(where, _("choices from a file or another form are not supported"))
            return False
        list_name = str(child.get("list_name") or child.get("itemset") or "")
        options = []
        for choice in choices:
            choice_name = str(choice.get("name", ""))
            row = self.choice_rows.get((list_name, choice_name), {})
            option: dict[str, Any] = {"code": as_code(choice_name)}
            option["label"] = self._text(row, "label", choice.get("label"), where)
            if choice_name == "other" and not row:  # added by or_other, labelled in English
                option["label"] = other_label(option["label"])
            score = row.get(SCORE_COLUMN)
            if score not in (None, ""):
                number = as_number(score)
                if number is None:
                    message = _("choice %(choice)s: %(column)s must be a number, not %(value)s")
                    shown = {"choice": choice_name, "column": SCORE_COLUMN, "value": repr(score)}
                    self._refuse(where, message % shown)
                else:
                    option["score"] = number
            if truthy(row.get(OTHER_COLUMN)) or (choice_name == "other" and not row):
                option["other"] = True
            if truthy(row.get(EXCLUSIVE_COLUMN)):
                option["exclusive"] = True
            if truthy(row.get(HIDDEN_COLUMN)):
                option["hidden"] = True
            options.append(option)
        question["options"] = options
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
                "code": as_code(str(item_code)),
                "label": self._text(child_row, "label", child.get("label"), child_where),
            }
            if self._text(child_row, "hint", child.get("hint"), child_where):
                message = _("%(where)s: the hint of a matrix or grid row is not imported")
                self.notes.append(message % {"where": child_where})
            items.append(item)
            required.append(truthy((child.get("bind") or {}).get("required")))
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
        self._show_if(question, row, (group.get("bind") or {}).get("relevant"), relevants, where)
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
                    question[key] = as_number(match.group(2))
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
    ) -> None:
        own = row.get(SHOW_IF_COLUMN)
        if own not in (None, "") and not relevants:
            question["show_if"] = str(own)
            return
        parts = [*relevants, relevant] if relevant else list(relevants)
        if len(parts) == 1:
            self.pending.append((where, question, str(parts[0])))
        elif parts:
            self.pending.append((where, question, " and ".join(f"({p})" for p in parts)))
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
