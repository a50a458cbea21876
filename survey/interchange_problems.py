"""The vocabulary of questionnaire/v1 documents and the parts every check is built from:
``Problem`` (a code, a place, a message in the active language, the offending value), the small
value checks, and ``Checker``, which collects every problem of one document. The checks
themselves, section by section, are in ``survey.interchange_checks``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import ExpressionError, QuestionSpec, Text, canonical_code
from survey.models import CODE_PATTERN

FORMAT = "questionnaire/v1"
QUESTION_TYPES = ("single", "multiple", "matrix", "number", "number_grid", "text")
TOP_KEYS = (
    "format",
    "slug",
    "languages",
    "title",
    "intro",
    "settings",
    "brand",
    "sections",
    "scores",
    "segments",
    "quotas",
    "weights",
    "validity",
    "analysis",
)
COMMON_QUESTION_KEYS = ("code", "type", "label", "required", "show_if", "hidden")
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "single": ("options", "attention_check"),
    "multiple": ("options", "min_choices", "max_choices"),
    "matrix": ("scale", "items", "straightlining_check"),
    "number": ("min", "max", "integer"),
    "number_grid": ("items", "min", "max", "integer"),
    "text": ("max_length",),
}
# Keys of options that people put on the question by mistake; refused rather than kept.
OPTION_ONLY_KEYS = ("score", "other", "exclusive")
OPTION_KEYS = ("code", "label", "score", "other", "exclusive", "hidden")
ITEM_KEYS = ("code", "label")
KNOWN_QUESTION_KEYS = frozenset(
    COMMON_QUESTION_KEYS + OPTION_ONLY_KEYS + tuple(k for keys in TYPE_KEYS.values() for k in keys)
)
VALIDITY_PARAMS: dict[str, tuple[str, ...]] = {
    "speeder": ("below_fraction_of_median",),
    "attention": (),
    "duplicate": (),
    "straightlining": ("min_items",),
}
VALIDITY_ACTIONS = ("invalidate", "flag")
ONE_RESPONSE_PER = ("respondent", "none")
# analysis.correction: how the cross-tabs' significance letters correct for many comparisons
CORRECTIONS = ("holm", "bonferroni", "none")
SEGMENT_PREFIX = "segment:"

SLUG_RE = re.compile(r"[a-z0-9-]+")
CODE_RE = re.compile(CODE_PATTERN.strip("^$"))
ITEM_CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+")  # what expressions read after "Q2."
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")
MAX_CODE_LENGTH = 40
MAX_SLUG_LENGTH = 100
# Database column limits (survey.models): digits after the point, and magnitude.
SCORE_LIMITS = (4, Decimal("1e8"))
NUMBER_LIMITS = (6, Decimal("1e14"))
SIGNIFICANCE_PLACES = 4
MAX_LENGTH_LIMIT = 1_000_000
MAX_RETENTION_DAYS = 3650  # settings.identity_retention_days


# --- expression diagnostics in the user's language ---------------------------------------------


def localized(text: str) -> str:
    """An expression diagnostic (``survey.expressions.Text``) in the active language."""
    if not isinstance(text, Text):
        return text
    template = _(text.template)
    if not text.params:
        return template
    return template % {key: localized(value) for key, value in text.params.items()}


def expression_error_text(error: ExpressionError) -> str:
    """``at POSITION: MESSAGE`` as ``str(error)`` reads, in the active language."""
    return _("at %(position)s: %(message)s") % {
        "position": error.position,
        "message": localized(error.message),
    }


# --- problems ---------------------------------------------------------------------------------

_ANNOTATION = re.compile(r" \([^()]*\)")


@dataclass(frozen=True)
class Problem:
    """One problem of a definition: a stable ``code`` (``duplicate_code``, ``unknown_reference``,
    ``score_on_text``…), the ``place`` as people read it (``sections[1].questions[3] (Q4).label``,
    with the entry's code), the ``message`` in the language active when it was found, and the
    offending ``value`` (None when the problem is an absence)."""

    code: str
    place: str
    message: str
    value: Any = None

    @property
    def path(self) -> str:
        """The place without the codes in brackets: ``sections[1].questions[3].label``."""
        return _ANNOTATION.sub("", self.place)

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """The API's shape: code, path, message and value (JSON-safe)."""
        value = self.value if json_problem(self.value) is None else repr(self.value)
        return {"code": self.code, "path": self.path, "message": self.message, "value": value}


# --- small checks -----------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    """How a value reads in a message: ``text ('x')``, ``a list``, ``nothing (null)``."""
    if value is None:
        return _("nothing (null)")
    if isinstance(value, bool):
        return _("true/false (%(value)s)") % {"value": str(value).lower()}
    if isinstance(value, int | float):
        return _("a number (%(value)s)") % {"value": value}
    if isinstance(value, str):
        return _("text (%(value)s)") % {"value": repr(value)}
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a mapping")
    return type(value).__name__


def is_number(value: Any) -> bool:
    """An int or a finite float, not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not (isinstance(value, float) and not math.isfinite(value))


def as_decimal(value: int | float) -> Decimal:
    """The decimal a number was written as (``0.1`` → ``Decimal("0.1")``, not the binary float)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def is_integral(value: int | float) -> bool:
    return isinstance(value, int) or value.is_integer()


def code_of(value: Any) -> str | None:
    """The canonical text of an option or item code, or None when it is neither int nor str."""
    try:
        return canonical_code(value)
    except TypeError:
        return None


def json_problem(value: Any) -> str | None:
    """Why ``value`` cannot be stored as JSON, or None."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if any(not isinstance(k, str) for k in current):
                return _("mapping keys must be text")
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, float) and not math.isfinite(current):
            return _("infinite or NaN numbers cannot be stored")
        elif not (current is None or isinstance(current, str | int | float | bool)):
            return _("%(kind)s values cannot be stored") % {"kind": type(current).__name__}
    return None


def annotated(path: str, entry: Any) -> str:
    """``path`` and the entry's code when it has one: ``sections[1].questions[3] (Q4)``."""
    code = entry.get("code") if isinstance(entry, dict) else None
    if isinstance(code, str | int) and not isinstance(code, bool) and str(code):
        return f"{path} ({code})"
    return path


class Checker:
    """Collects every problem of one definition; each check adds and carries on."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.problems: list[Problem] = []
        languages = data.get("languages")
        # None when ``languages`` itself is wrong: labels are then not checked against it.
        self.languages: list[str] | None = (
            [lang for lang in languages if isinstance(lang, str)]
            if isinstance(languages, list) and languages
            else None
        )
        # Filled by the section walk: each valid question, in file order. Codes of questions
        # with problems of their own are kept apart, so that what refers to them (show_if,
        # scores, banner) does not repeat those problems as "unknown question".
        self.questions: list[tuple[str, dict]] = []
        self.every_question: list[dict] = []  # valid or not, for "can this rule ever apply"
        self.specs: dict[str, QuestionSpec] = {}
        self.invalid_codes: set[str] = set()
        self.segment_codes: set[str] = set()
        self.sections_ok = True

    def add(self, path: str, code: str, message: str, value: Any = None) -> None:
        self.problems.append(Problem(code=code, place=path, message=message, value=value))

    def keys(self, path: str, entry: dict, known: Iterable[str]) -> None:
        known = tuple(known)
        for key in entry:
            if key not in known:
                message = _("unknown key %(key)s (expected %(known)s)")
                self.add(
                    path,
                    "unknown_key",
                    message % {"key": repr(key), "known": ", ".join(known)},
                    key,
                )

    def mapping(self, path: str, value: Any) -> bool:
        if isinstance(value, dict):
            return True
        self.add(path, "not_mapping", _("must be a mapping, not %(kind)s") % kinds(value), value)
        return False

    def listing(self, path: str, value: Any, *, empty_ok: bool = False) -> bool:
        if not isinstance(value, list):
            self.add(path, "not_list", _("must be a list, not %(kind)s") % kinds(value), value)
            return False
        if not value and not empty_ok:
            self.add(path, "empty", _("must not be empty"), value)
            return False
        return True

    def boolean(self, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            message = _("must be true or false, not %(kind)s") % kinds(value)
            self.add(path, "not_boolean", message, value)

    def missing(self, path: str, hint: str = "") -> None:
        self.add(path, "missing", hint or _("missing"))

    def label(self, path: str, value: Any, *, required: bool = True) -> None:
        if value is MISSING:
            if required:
                self.missing(path)
            return
        if isinstance(value, str):
            if not value.strip() and required:
                self.add(path, "empty_label", _("must not be empty"), value)
            return
        if not isinstance(value, dict):
            message = _("must be text or a map of language to text, not %(kind)s") % kinds(value)
            self.add(path, "invalid_label", message, value)
            return
        if not value:
            self.add(path, "empty_label", _("must give the text in at least one language"), value)
        for language, text in value.items():
            if self.languages is not None and language not in self.languages:
                message = _("language %(language)s is not in languages (%(known)s)") % {
                    "language": repr(language),
                    "known": ", ".join(self.languages),
                }
                self.add(path, "unknown_language", message, language)
            elif not isinstance(text, str):
                message = _("must be text, not %(kind)s") % kinds(text)
                self.add(f"{path}.{language}", "invalid_label", message, text)

    def code(self, path: str, value: Any, seen: dict[str, str], what: str = "") -> str | None:
        """A code of the ``[A-Za-z][A-Za-z0-9_]*`` kind, unique among ``seen`` (code → place)."""
        if value is MISSING:
            self.missing(path)
            return None
        if not isinstance(value, str) or not CODE_RE.fullmatch(value):
            message = _("%(value)s is not a valid %(what)s (a letter, then letters, digits or _)")
            shown = {"value": display(value), "what": what or _("code")}
            self.add(path, "invalid_code", message % shown, value)
            return None
        if len(value) > MAX_CODE_LENGTH:
            message = _("longer than %(limit)s characters") % {"limit": MAX_CODE_LENGTH}
            self.add(path, "too_long", message, value)
            return None
        if value in seen:
            message = _("duplicate code %(code)s (already used by %(place)s)")
            self.add(path, "duplicate_code", message % {"code": value, "place": seen[value]}, value)
            return None
        seen[value] = path.removesuffix(".code")
        return value

    def number(self, path: str, value: Any, limits: tuple[int, Decimal]) -> bool:
        if not is_number(value):
            self.add(path, "not_number", _("must be a number, not %(kind)s") % kinds(value), value)
            return False
        places, bound = limits
        decimal = as_decimal(value)
        if decimal.as_tuple().exponent < -places:  # type: ignore[operator]
            message = _("%(value)s has more than %(places)s digits after the decimal point")
            self.add(path, "too_precise", message % {"value": value, "places": places}, value)
            return False
        if abs(decimal) >= bound:
            message = _("%(value)s is too large (must be below %(bound)s in size)")
            self.add(path, "too_large", message % {"value": value, "bound": f"{bound:,.0f}"}, value)
            return False
        return True

    def count(self, path: str, value: Any, *, minimum: int, maximum: int = 32767) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            message = _("must be a whole number, not %(kind)s") % kinds(value)
            self.add(path, "not_whole_number", message, value)
            return False
        if value < minimum:
            message = _("must be at least %(minimum)s, not %(value)s")
            self.add(path, "too_small", message % {"minimum": minimum, "value": value}, value)
            return False
        if value > maximum:
            message = _("must be at most %(maximum)s, not %(value)s")
            self.add(
                path, "too_large", message % {"maximum": f"{maximum:,}", "value": value}, value
            )
            return False
        return True


MISSING: Any = object()


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def display(value: Any) -> str:
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else kind_of(value)


def kinds(value: Any) -> dict[str, str]:
    return {"kind": kind_of(value)}
