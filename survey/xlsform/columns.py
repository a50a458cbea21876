"""What reading and writing XLSForms share: our own columns and sheet, languages, and how a
cell's text becomes a code, a number or a yes/no."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from survey.services.questionnaires import export_code, plain_number

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
LANGUAGE_NAMES = {"zh-hans": "Chinese (zh)", "en": "English (en)"}
CHINESE = frozenset({"zh", "zh-hans", "zh-cn", "zh-sg", "chinese", "中文", "简体中文"})
NAMED_LANGUAGES = {"english": "en", "french": "fr", "spanish": "es", "arabic": "ar"}
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
DEFAULT_LANGUAGE = "zh-hans"


def other_label(label: Any) -> Any:
    if not isinstance(label, dict):
        return label
    return {k: "其他" if k.startswith("zh") else v for k, v in label.items()}


# Excel holds at most 32,767 characters in a cell: a longer value (a brand's pictures, say)
# continues on the next rows under the same key, and is read back joined.
CELL_LIMIT = 32_000


def own_rows(key: str, value: Any) -> list[list[str]]:
    """The ``wenji`` sheet's rows for one key: its JSON, cut into cells Excel can hold."""
    text = json.dumps(value, ensure_ascii=False)
    return [[key, text[at : at + CELL_LIMIT]] for at in range(0, max(len(text), 1), CELL_LIMIT)]


def own_sheet(rows: list[dict], problems: list[str]) -> dict[str, Any]:
    texts: dict[str, tuple[int, list[str]]] = {}
    for number, row in enumerate(rows, start=2):
        key, raw = row.get("key"), row.get("value")
        if not key:
            continue
        _first, parts = texts.setdefault(str(key), (number, []))
        parts.append("" if raw is None else str(raw))
    own: dict[str, Any] = {}
    for key, (number, parts) in texts.items():
        raw = "".join(parts)
        try:
            own[key] = json.loads(raw) if raw else None
        except ValueError:
            message = _("%(sheet)s sheet, row %(row)d (%(key)s): the value is not JSON")
            problems.append(message % {"sheet": OWN_SHEET, "row": number, "key": key})
    return own


def normal_row(row: dict) -> dict:
    """A sheet row with its headers as pyxform reads them: any case, spaces as underscores
    (``LIST NAME`` is ``list_name``); the language after ``::`` is kept as written."""
    normal = {}
    for key, value in row.items():
        head, sep, language = str(key).partition("::")
        normal[head.strip().lower().replace(" ", "_") + sep + language.strip()] = value
    return normal


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("yes", "true", "true()", "1")


def as_code(text: str) -> int | str:
    """A cell's option or item code as definition files write it: ``"1"`` → ``1``."""
    return export_code(text)


def as_number(value: Any) -> int | float | None:
    """A cell's number as definition files write it, or None when it is not a number."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return plain_number(number) if number.is_finite() else None


def join_labels(parts: list[Any]) -> Any:
    if all(isinstance(p, str) for p in parts):
        return "\n".join(parts)
    languages = list(dict.fromkeys(k for p in parts if isinstance(p, dict) for k in p))
    return {
        language: "\n".join(p if isinstance(p, str) else p.get(language, "") for p in parts).strip()
        for language in languages
    }


def slug_of(form_id: Any) -> str:
    text = re.sub(r"[^a-z0-9-]+", "-", str(form_id or "").lower()).strip("-")
    return text[:100] or "xlsform"
