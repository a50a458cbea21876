"""Writing a questionnaire/v1 document as an XLSForm (see the package's promises)."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from survey.expressions import (
    And,
    Expr,
    ExpressionError,
    ListLiteral,
    Not,
    Or,
    Ref,
    orient,
    parse,
)
from survey.xlsform.columns import (
    DEFAULT_LANGUAGE,
    EXCLUSIVE_COLUMN,
    EXTRA_COLUMN,
    HIDDEN_COLUMN,
    ITEM_COLUMN,
    LANGUAGE_NAMES,
    OTHER_COLUMN,
    OWN_SHEET,
    SCORE_COLUMN,
    SHOW_IF_COLUMN,
    TYPE_COLUMN,
    own_rows,
)

# --- writing ----------------------------------------------------------------------------------


_TYPE_NAMES = {"single": "select_one", "multiple": "select_multiple"}


def xlsform_write(document: dict) -> bytes:
    """An .xlsx XLSForm of a valid questionnaire/v1 document (see the module's promises)."""
    return _Writer(document).write()


class _Writer:
    def __init__(self, document: dict) -> None:
        self.document = document
        self.languages = list(document.get("languages") or [DEFAULT_LANGUAGE])
        self.survey: list[dict[str, Any]] = []
        self.choices: list[dict[str, Any]] = []
        self.kinds: dict[str, str] = {}
        self.names: set[str] = set()
        for section in document.get("sections", []):
            for question in section.get("questions", []):
                self.kinds[str(question["code"])] = question["type"]
                self.names.add(str(question["code"]))

    def column(self, kind: str, language: str) -> str:
        return f"{kind}::{LANGUAGE_NAMES.get(language, language)}"

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
                    self.other_text(code, option)
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

    def other_text(self, code: str, option: dict) -> None:
        """The "please specify" box, for other tools (Wenji stores it with the choice)."""
        name = self.item_name(code, "other")
        row = {
            "type": "text",
            "name": name,
            "relevant": f"selected(${{{code}}}, '{option['code']}')",
            "required": "no",
            TYPE_COLUMN: "other_text",
        }
        specify = {}
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
            for row in own_rows(key, value):
                own.append(row)
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
