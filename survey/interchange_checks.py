"""Validation of questionnaire/v1 definitions (QUESTIONNAIRE-FORMAT.md); see survey.interchange.

``validate_definition`` checks the whole structure and returns every problem found (``[]``
when valid), each as ``"place: message"`` with 0-based indexes, e.g.
``sections[1].questions[3] (Q4).options: duplicate code 2``. It never raises on bad input, and
a problem is reported once: what refers to a broken question (show_if, scores, banner) does not
repeat it as "unknown question".

Choices the format page leaves open, made here:
- ``format``, ``slug``, ``languages``, ``title`` and ``sections`` are required; every section
  lists at least one question. Labels may only use the questionnaire's ``languages``.
- Unknown top-level keys and unknown keys of a question are kept (the project may add keys);
  unknown keys anywhere else are refused, so that a typo never silently drops a setting.
- Option and scale codes are unique by canonical code (``1`` and ``"1"`` are the same code);
  item codes must be names or digits, because expressions read them as ``Q2.a``.
- Several ``exclusive`` options in one question are fine; only one option may be ``other``
  (its text travels as ``"CODE.other"``, one per question).
- A question's ``show_if`` may only read questions before it in the file.
- A validity rule that can never fire is refused: ``duplicate`` needs ``one_response_per:
  respondent``, ``attention`` an ``attention_check`` question, ``straightlining`` a matrix
  with ``straightlining_check`` and at least ``min_items`` items.
- Numbers must fit their database columns (scores: 4 decimals; min/max: 6 decimals;
  significance: 4 decimals), so that an import never fails halfway on a column limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import ExpressionError, QuestionSpec, canonical_code, compile_expression
from survey.expressions import references as expression_references
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
    "sections",
    "scores",
    "segments",
    "validity",
    "analysis",
)
COMMON_QUESTION_KEYS = ("code", "type", "label", "required", "show_if")
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
OPTION_KEYS = ("code", "label", "score", "other", "exclusive")
ITEM_KEYS = ("code", "label")
VALIDITY_PARAMS: dict[str, tuple[str, ...]] = {
    "speeder": ("below_fraction_of_median",),
    "attention": (),
    "duplicate": (),
    "straightlining": ("min_items",),
}
VALIDITY_ACTIONS = ("invalidate", "flag")
ONE_RESPONSE_PER = ("respondent", "none")
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
        value = self.value if _json_problem(self.value) is None else repr(self.value)
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


def _json_problem(value: Any) -> str | None:
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


def _annotated(path: str, entry: Any) -> str:
    """``path`` and the entry's code when it has one: ``sections[1].questions[3] (Q4)``."""
    code = entry.get("code") if isinstance(entry, dict) else None
    if isinstance(code, str | int) and not isinstance(code, bool) and str(code):
        return f"{path} ({code})"
    return path


class _Checker:
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
        self.add(path, "not_mapping", _("must be a mapping, not %(kind)s") % _kind(value), value)
        return False

    def listing(self, path: str, value: Any, *, empty_ok: bool = False) -> bool:
        if not isinstance(value, list):
            self.add(path, "not_list", _("must be a list, not %(kind)s") % _kind(value), value)
            return False
        if not value and not empty_ok:
            self.add(path, "empty", _("must not be empty"), value)
            return False
        return True

    def boolean(self, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            message = _("must be true or false, not %(kind)s") % _kind(value)
            self.add(path, "not_boolean", message, value)

    def missing(self, path: str, hint: str = "") -> None:
        self.add(path, "missing", hint or _("missing"))

    def label(self, path: str, value: Any, *, required: bool = True) -> None:
        if value is _MISSING:
            if required:
                self.missing(path)
            return
        if isinstance(value, str):
            if not value.strip() and required:
                self.add(path, "empty_label", _("must not be empty"), value)
            return
        if not isinstance(value, dict):
            message = _("must be text or a map of language to text, not %(kind)s") % _kind(value)
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
                message = _("must be text, not %(kind)s") % _kind(text)
                self.add(f"{path}.{language}", "invalid_label", message, text)

    def code(self, path: str, value: Any, seen: dict[str, str], what: str = "") -> str | None:
        """A code of the ``[A-Za-z][A-Za-z0-9_]*`` kind, unique among ``seen`` (code → place)."""
        if value is _MISSING:
            self.missing(path)
            return None
        if not isinstance(value, str) or not CODE_RE.fullmatch(value):
            message = _("%(value)s is not a valid %(what)s (a letter, then letters, digits or _)")
            shown = {"value": _shown(value), "what": what or _("code")}
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
            self.add(path, "not_number", _("must be a number, not %(kind)s") % _kind(value), value)
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
            message = _("must be a whole number, not %(kind)s") % _kind(value)
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


_MISSING: Any = object()


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else kind_of(value)


def _kind(value: Any) -> dict[str, str]:
    return {"kind": kind_of(value)}


# --- top level --------------------------------------------------------------------------------


def validate_definition(data: object) -> list[str]:
    """Every problem of ``data`` as a questionnaire/v1 definition, in file order, as
    ``"place: message"`` in the active language; [] if valid."""
    return [str(problem) for problem in definition_problems(data)]


def definition_problems(data: object) -> list[Problem]:
    """Every problem of ``data`` as a questionnaire/v1 definition, in file order; [] if valid."""
    if not isinstance(data, dict):
        message = _("must be a mapping (format: ..., slug: ..., ...), not %(kind)s") % _kind(data)
        return [Problem(code="not_mapping", place="definition", message=message, value=None)]
    checker = _Checker(data)
    for key in data:
        if not isinstance(key, str):
            message = _("key %(key)s must be text") % {"key": repr(key)}
            checker.add("definition", "invalid_key", message, repr(key))
    _check_header(checker, data)
    _check_settings(checker, data.get("settings", _MISSING))
    _check_sections(checker, data.get("sections", _MISSING))
    if checker.sections_ok:  # else every reference to a question would be reported too
        _check_show_if(checker)
        _check_scores(checker, data.get("scores", _MISSING))
        _check_segments(checker, data.get("segments", _MISSING))
        _check_validity(checker, data.get("validity", _MISSING))
        _check_analysis(checker, data.get("analysis", _MISSING))
    for key, value in data.items():
        if key not in TOP_KEYS and (problem := _json_problem(value)):
            checker.add(str(key), "not_storable", problem)
    return checker.problems


def _check_header(checker: _Checker, data: dict) -> None:
    fmt = data.get("format", _MISSING)
    if fmt is _MISSING:
        hint = _("missing (the first line should be 'format: %(format)s')") % {"format": FORMAT}
        checker.missing("format", hint)
    elif fmt != FORMAT:
        message = _("%(value)s is not supported (expected %(format)s)")
        checker.add(
            "format", "unsupported_format", message % {"value": _shown(fmt), "format": FORMAT}, fmt
        )
    slug = data.get("slug", _MISSING)
    if slug is _MISSING:
        checker.missing("slug")
    elif not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
        message = _("%(value)s is not valid (use lowercase letters, digits and -)")
        checker.add("slug", "invalid_slug", message % {"value": _shown(slug)}, slug)
    elif len(slug) > MAX_SLUG_LENGTH:
        message = _("longer than %(limit)s characters") % {"limit": MAX_SLUG_LENGTH}
        checker.add("slug", "too_long", message, slug)
    _check_languages(checker, data.get("languages", _MISSING))
    checker.label("title", data.get("title", _MISSING))
    checker.label("intro", data.get("intro", _MISSING), required=False)


def _check_languages(checker: _Checker, languages: Any) -> None:
    if languages is _MISSING:
        checker.missing("languages", _("missing (a list, the default language first)"))
        return
    if not checker.listing("languages", languages):
        return
    seen: set[str] = set()
    for index, language in enumerate(languages):
        path = f"languages[{index}]"
        if not isinstance(language, str) or not LANGUAGE_RE.fullmatch(language):
            message = _("%(value)s is not a language code (like zh-hans or en)")
            checker.add(path, "invalid_language", message % {"value": _shown(language)}, language)
        elif language in seen:
            message = _("duplicate language %(language)s") % {"language": language}
            checker.add(path, "duplicate_language", message, language)
        else:
            seen.add(language)


def _check_settings(checker: _Checker, settings: Any) -> None:
    if settings is _MISSING or not checker.mapping("settings", settings):
        return
    checker.keys("settings", settings, ("one_response_per",))
    value = settings.get("one_response_per", _MISSING)
    if value is not _MISSING and value not in ONE_RESPONSE_PER:
        message = _("%(value)s is not %(expected)s")
        shown = {"value": _shown(value), "expected": " or ".join(ONE_RESPONSE_PER)}
        checker.add("settings.one_response_per", "not_allowed", message % shown, value)


# --- sections and questions -------------------------------------------------------------------


def _check_sections(checker: _Checker, sections: Any) -> None:
    if sections is _MISSING:
        checker.missing("sections", _("missing (a list of {code, title, questions})"))
        checker.sections_ok = False
        return
    if not checker.listing("sections", sections):
        checker.sections_ok = False
        return
    section_codes: dict[str, str] = {}
    question_codes: dict[str, str] = {}
    for index, section in enumerate(sections):
        path = f"sections[{index}]"
        if not checker.mapping(path, section):
            continue
        checker.keys(path, section, ("code", "title", "questions"))
        checker.code(f"{path}.code", section.get("code", _MISSING), section_codes)
        checker.label(f"{path}.title", section.get("title", _MISSING), required=False)
        questions = section.get("questions", _MISSING)
        if questions is _MISSING:
            checker.missing(f"{path}.questions")
            continue
        if not checker.listing(f"{path}.questions", questions):
            continue
        for number, question in enumerate(questions):
            _check_question(checker, f"{path}.questions[{number}]", question, question_codes)


def _check_question(checker: _Checker, path: str, question: Any, codes: dict[str, str]) -> None:
    if not checker.mapping(path, question):
        return
    known_problems = len(checker.problems)
    checker.every_question.append(question)
    code = checker.code(f"{path}.code", question.get("code", _MISSING), codes, _("question code"))
    path = _annotated(path, question)
    qtype = question.get("type", _MISSING)
    types = ", ".join(QUESTION_TYPES)
    if qtype is _MISSING:
        checker.missing(f"{path}.type", _("missing (one of %(types)s)") % {"types": types})
    elif qtype not in QUESTION_TYPES:
        message = _("unknown type %(value)s (%(types)s)") % {"value": _shown(qtype), "types": types}
        checker.add(f"{path}.type", "unknown_type", message, qtype)
    checker.label(f"{path}.label", question.get("label", _MISSING))
    if "required" in question:
        checker.boolean(f"{path}.required", question["required"])
    show_if = question.get("show_if", _MISSING)
    if show_if is not _MISSING and (not isinstance(show_if, str) or not show_if.strip()):
        message = _("must be an expression, not %(kind)s") % _kind(show_if)
        checker.add(f"{path}.show_if", "not_expression", message, show_if)
    if qtype not in QUESTION_TYPES:
        if isinstance(code, str):
            checker.invalid_codes.add(code)
        return
    _check_misplaced_keys(checker, path, question, qtype)
    for key in question:
        if not isinstance(key, str):
            message = _("key %(key)s must be text") % {"key": repr(key)}
            checker.add(path, "invalid_key", message, repr(key))
    TYPE_CHECKS[qtype](checker, path, question)
    for key, value in question.items():
        if key not in KNOWN_QUESTION_KEYS and (problem := _json_problem(value)):
            checker.add(f"{path}.{key}", "not_storable", problem)
    if code is None:
        return
    if len(checker.problems) > known_problems:
        checker.invalid_codes.add(code)
    else:
        checker.questions.append((path, question))
        checker.specs[code] = _spec(code, qtype, question)


def _check_misplaced_keys(checker: _Checker, path: str, question: dict, qtype: str) -> None:
    for key in question:
        if key in OPTION_ONLY_KEYS:
            message = _("belongs on an option, not on a %(type)s question") % {"type": qtype}
            checker.add(f"{path}.{key}", "misplaced_key", message, key)
        elif key in KNOWN_QUESTION_KEYS and key not in COMMON_QUESTION_KEYS + TYPE_KEYS[qtype]:
            owners = [t for t, keys in TYPE_KEYS.items() if key in keys]
            message = _("not allowed on a %(type)s question (only on %(owners)s)")
            shown = {"type": qtype, "owners": " and ".join(owners)}
            checker.add(f"{path}.{key}", "misplaced_key", message % shown, key)


def _spec(code: str, qtype: str, question: dict) -> QuestionSpec:
    choices = question.get("scale" if qtype == "matrix" else "options")
    items = question.get("items")
    return QuestionSpec(
        code=code,
        type=qtype,
        options=frozenset(_entry_codes(choices)),
        items=frozenset(_entry_codes(items)),
    )


def _entry_codes(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return []
    codes = (code_of(e.get("code")) for e in entries if isinstance(e, dict))
    return [code for code in codes if code is not None]


def _check_entries(checker: _Checker, path: str, question: dict, key: str) -> list[dict]:
    """The ``options``, ``scale`` or ``items`` list: each entry's keys, code and label.

    Returns the entries with a usable, unique code.
    """
    entries = question.get(key, _MISSING)
    if entries is _MISSING:
        checker.missing(f"{path}.{key}")
        return []
    if not checker.listing(f"{path}.{key}", entries):
        return []
    seen: set[str] = set()
    good = []
    for index, entry in enumerate(entries):
        entry_path = f"{path}.{key}[{index}]"
        if not checker.mapping(entry_path, entry):
            continue
        checker.keys(entry_path, entry, ITEM_KEYS if key == "items" else OPTION_KEYS)
        if _check_entry_code(checker, entry_path, entry, f"{path}.{key}", seen) is not None:
            good.append(entry)
        checker.label(f"{entry_path}.label", entry.get("label", _MISSING))
        if key != "items":
            _check_option_values(checker, entry_path, entry, question["type"])
    return good


def _check_option_values(checker: _Checker, path: str, entry: dict, qtype: str) -> None:
    if "score" in entry:
        checker.number(f"{path}.score", entry["score"], SCORE_LIMITS)
    for flag in ("other", "exclusive"):
        if flag in entry:
            checker.boolean(f"{path}.{flag}", entry[flag])
    if entry.get("other") is True and qtype == "matrix":
        message = _("a matrix scale point cannot be 'other'")
        checker.add(f"{path}.other", "other_on_scale", message, True)
    if entry.get("exclusive") is True and qtype != "multiple":
        message = _("only options of a multiple can be exclusive")
        checker.add(f"{path}.exclusive", "exclusive_not_multiple", message, True)


def _check_options(checker: _Checker, path: str, question: dict) -> list[dict]:
    options = _check_entries(checker, path, question, "options")
    others = [str(o["code"]) for o in options if o.get("other") is True]
    if len(others) > 1:
        message = _("only one option can be 'other' (found %(found)s)") % {
            "found": ", ".join(others)
        }
        checker.add(f"{path}.options", "several_other", message, others)
    return options


def _check_entry_code(
    checker: _Checker, path: str, entry: dict, list_path: str, seen: set[str]
) -> str | None:
    value = entry.get("code", _MISSING)
    if value is _MISSING:
        checker.missing(f"{path}.code")
        return None
    code = code_of(value)
    if code is None:
        message = _("must be an integer or text, not %(kind)s") % _kind(value)
        checker.add(f"{path}.code", "invalid_code", message, value)
        return None
    if list_path.endswith(".items") and not ITEM_CODE_RE.fullmatch(code):
        message = _(
            "%(value)s is not a valid item code (a letter, then letters, digits or _; or "
            "digits only)"
        )
        checker.add(f"{path}.code", "invalid_code", message % {"value": repr(value)}, value)
        return None
    if not code.strip() or code != code.strip() or len(code) > MAX_CODE_LENGTH:
        message = _("%(value)s is not a valid code (1 to %(limit)s characters, no spaces around)")
        shown = {"value": repr(value), "limit": MAX_CODE_LENGTH}
        checker.add(f"{path}.code", "invalid_code", message % shown, value)
        return None
    if code in seen:
        message = _("duplicate code %(code)s") % {"code": code}
        checker.add(list_path, "duplicate_code", message, value)
        return None
    seen.add(code)
    return code


def _check_single(checker: _Checker, path: str, question: dict) -> None:
    options = _check_options(checker, path, question)
    check = question.get("attention_check", _MISSING)
    if check is _MISSING or not checker.mapping(f"{path}.attention_check", check):
        return
    checker.keys(f"{path}.attention_check", check, ("expect",))
    expect = check.get("expect", _MISSING)
    where = f"{path}.attention_check.expect"
    if expect is _MISSING:
        checker.missing(where, _("missing (the option to choose)"))
    elif code_of(expect) is None:
        message = _("not an option code: %(kind)s") % _kind(expect)
        checker.add(where, "invalid_code", message, expect)
    elif options and code_of(expect) not in {code_of(o["code"]) for o in options}:
        message = _("there is no option %(code)s") % {"code": expect}
        checker.add(where, "unknown_reference", message, expect)


def _check_multiple(checker: _Checker, path: str, question: dict) -> None:
    options = _check_options(checker, path, question)
    given = {}
    for key in ("min_choices", "max_choices"):
        if key in question:
            minimum = 0 if key == "min_choices" else 1
            if checker.count(f"{path}.{key}", question[key], minimum=minimum):
                given[key] = question[key]
    low, high = given.get("min_choices"), given.get("max_choices")
    if low is not None and high is not None and low > high:
        message = _("%(low)s is more than max_choices (%(high)s)") % {"low": low, "high": high}
        checker.add(f"{path}.min_choices", "min_above_max", message, low)
    total = len(question["options"]) if isinstance(question.get("options"), list) else 0
    if options and total:
        for key, value in given.items():
            if value > total:
                message = _("%(value)s is more than the %(total)s options")
                shown = {"value": value, "total": total}
                checker.add(f"{path}.{key}", "more_than_options", message % shown, value)


def _check_matrix(checker: _Checker, path: str, question: dict) -> None:
    _check_entries(checker, path, question, "scale")
    _check_entries(checker, path, question, "items")
    if "straightlining_check" in question:
        checker.boolean(f"{path}.straightlining_check", question["straightlining_check"])


def _check_number(checker: _Checker, path: str, question: dict) -> None:
    integer = question.get("integer", True)
    if "integer" in question:
        checker.boolean(f"{path}.integer", integer)
    bounds = {}
    for key in ("min", "max"):
        if key in question and checker.number(f"{path}.{key}", question[key], NUMBER_LIMITS):
            bounds[key] = question[key]
            if integer is True and not is_integral(question[key]):
                message = _("%(value)s is not a whole number (set integer: false to allow)")
                shown = {"value": question[key]}
                checker.add(f"{path}.{key}", "not_whole_number", message % shown, question[key])
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        message = _("%(low)s is more than max (%(high)s)")
        shown = {"low": bounds["min"], "high": bounds["max"]}
        checker.add(f"{path}.min", "min_above_max", message % shown, bounds["min"])


def _check_number_grid(checker: _Checker, path: str, question: dict) -> None:
    _check_entries(checker, path, question, "items")
    _check_number(checker, path, question)


def _check_text(checker: _Checker, path: str, question: dict) -> None:
    if "max_length" in question:
        value = question["max_length"]
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            message = _("must be a positive whole number, not %(value)s") % {"value": value}
            checker.add(f"{path}.max_length", "too_small", message, value)
        else:
            checker.count(f"{path}.max_length", value, minimum=1, maximum=MAX_LENGTH_LIMIT)


TYPE_CHECKS: dict[str, Callable[[_Checker, str, dict], None]] = {
    "single": _check_single,
    "multiple": _check_multiple,
    "matrix": _check_matrix,
    "number": _check_number,
    "number_grid": _check_number_grid,
    "text": _check_text,
}
KNOWN_QUESTION_KEYS = frozenset(
    COMMON_QUESTION_KEYS + OPTION_ONLY_KEYS + tuple(k for keys in TYPE_KEYS.values() for k in keys)
)


# --- expressions ------------------------------------------------------------------------------


def _compile(checker: _Checker, path: str, source: str) -> set[str] | None:
    """Check ``source`` against the questions; the question codes it reads, or None if bad."""
    try:
        codes = {code for code, _item in expression_references(compile_expression(source))}
        if codes & checker.invalid_codes:
            return None  # those questions' own problems are reported already
        compile_expression(source, checker.specs)
    except ExpressionError as exc:
        message = _('"%(source)s" %(error)s') % {"source": source, "error": exc}
        checker.add(path, exc.code, message, source)
        return None
    return codes


def _check_show_if(checker: _Checker) -> None:
    order = {path: index for index, (path, _q) in enumerate(checker.questions)}
    position = {q["code"]: order[path] for path, q in checker.questions}
    for path, question in checker.questions:
        source = question.get("show_if")
        if not isinstance(source, str) or not source.strip():
            continue
        codes = _compile(checker, f"{path}.show_if", source)
        for code in sorted(codes or ()):
            if code == question["code"]:
                message = _("refers to the question itself (%(code)s)") % {"code": code}
                checker.add(f"{path}.show_if", "refers_to_itself", message, source)
            elif position[code] > order[path]:
                message = _(
                    "refers to %(code)s, which comes later (a question can only depend on "
                    "questions before it)"
                )
                checker.add(f"{path}.show_if", "refers_to_later", message % {"code": code}, source)


# --- scores, segments, validity, analysis -----------------------------------------------------


def _entries(checker: _Checker, name: str, value: Any) -> list[tuple[str, dict]]:
    if value is _MISSING or not checker.listing(name, value, empty_ok=True):
        return []
    return [(f"{name}[{i}]", e) for i, e in enumerate(value) if checker.mapping(f"{name}[{i}]", e)]


def _check_scores(checker: _Checker, scores: Any) -> None:
    seen: dict[str, str] = {}
    for path, score in _entries(checker, "scores", scores):
        checker.keys(path, score, ("code", "of", "label"))
        checker.code(f"{path}.code", score.get("code", _MISSING), seen, _("score code"))
        path = _annotated(path, score)
        checker.label(f"{path}.label", score.get("label", _MISSING))
        of = score.get("of", _MISSING)
        if of is _MISSING:
            checker.missing(f"{path}.of", _("missing (the code of a single or matrix question)"))
        elif of in checker.invalid_codes:
            continue
        elif not isinstance(of, str) or of not in checker.specs:
            message = _("unknown question %(value)s") % {"value": _shown(of)}
            checker.add(f"{path}.of", "unknown_reference", message, of)
        elif (problem := _unscorable(checker, of)) is not None:
            checker.add(f"{path}.of", problem[0], problem[1], of)


def _unscorable(checker: _Checker, code: str) -> tuple[str, str] | None:
    """(problem code, message) when question ``code`` cannot carry a score, else None."""
    spec = checker.specs[code]
    if spec.type not in ("single", "matrix"):
        message = _("%(code)s is a %(type)s question; only single and matrix questions have scores")
        kind = "score_on_text" if spec.type == "text" else "score_on_unscorable"
        return kind, message % {"code": code, "type": spec.type}
    question = next(q for _p, q in checker.questions if q["code"] == code)
    entries = question.get("scale" if spec.type == "matrix" else "options") or []
    if not any(isinstance(e, dict) and "score" in e for e in entries):
        message = _("%(code)s has no scored options (give its options a score)")
        return "no_scored_options", message % {"code": code}
    return None


def _check_segments(checker: _Checker, segments: Any) -> None:
    seen: dict[str, str] = {}
    for path, segment in _entries(checker, "segments", segments):
        checker.keys(path, segment, ("code", "label", "rule"))
        code = checker.code(f"{path}.code", segment.get("code", _MISSING), seen, _("segment code"))
        path = _annotated(path, segment)
        checker.label(f"{path}.label", segment.get("label", _MISSING))
        rule = segment.get("rule", _MISSING)
        if rule is _MISSING:
            checker.missing(f"{path}.rule", _("missing (an expression over answers)"))
        elif not isinstance(rule, str) or not rule.strip():
            message = _("must be an expression, not %(kind)s") % _kind(rule)
            checker.add(f"{path}.rule", "not_expression", message, rule)
        else:
            _compile(checker, f"{path}.rule", rule)
        if code is not None:
            checker.segment_codes.add(code)


def _check_validity(checker: _Checker, validity: Any) -> None:
    if validity is _MISSING or not checker.mapping("validity", validity):
        return
    for kind, rule in validity.items():
        path = f"validity.{kind}"
        if kind not in VALIDITY_PARAMS:
            message = _("unknown rule (expected %(known)s)") % {"known": ", ".join(VALIDITY_PARAMS)}
            checker.add(path, "unknown_rule", message, kind)
            continue
        if not checker.mapping(path, rule):
            continue
        checker.keys(path, rule, ("action", *VALIDITY_PARAMS[kind]))
        action = rule.get("action", _MISSING)
        if action is _MISSING:
            checker.missing(f"{path}.action", _("missing (invalidate or flag)"))
        elif action not in VALIDITY_ACTIONS:
            message = _("%(value)s is not invalidate or flag") % {"value": _shown(action)}
            checker.add(f"{path}.action", "not_allowed", message, action)
        RULE_CHECKS[kind](checker, path, rule)


def _check_speeder(checker: _Checker, path: str, rule: dict) -> None:
    fraction = rule.get("below_fraction_of_median", _MISSING)
    path = f"{path}.below_fraction_of_median"
    if fraction is _MISSING:
        checker.missing(path, _("missing (a fraction between 0 and 1, such as 0.33)"))
    elif not is_number(fraction) or not 0 < fraction < 1:
        message = _("must be a number between 0 and 1, not %(kind)s") % _kind(fraction)
        checker.add(path, "not_fraction", message, fraction)


def _check_attention(checker: _Checker, path: str, rule: dict) -> None:
    if not any(
        q.get("type") == "single" and "attention_check" in q for q in checker.every_question
    ):
        message = _("no question has an attention_check, so this rule can never apply")
        checker.add(path, "rule_never_applies", message)


def _check_duplicate(checker: _Checker, path: str, rule: dict) -> None:
    settings = checker.data.get("settings")
    per = settings.get("one_response_per", "none") if isinstance(settings, dict) else "none"
    if per == "none":
        message = _("needs settings.one_response_per: respondent (with none it can never apply)")
        checker.add(path, "rule_never_applies", message)


def _check_straightlining(checker: _Checker, path: str, rule: dict) -> None:
    min_items = rule.get("min_items", _MISSING)
    if min_items is _MISSING:
        checker.missing(f"{path}.min_items", _("missing (a whole number, 2 or more)"))
        return
    if not checker.count(f"{path}.min_items", min_items, minimum=2):
        return
    checked = [
        q
        for q in checker.every_question
        if q.get("type") == "matrix" and q.get("straightlining_check")
    ]
    if not checked:
        message = _("no matrix has straightlining_check: true, so this rule can never apply")
        checker.add(path, "rule_never_applies", message)
    elif all(len(_as_list(q.get("items"))) < min_items for q in checked):
        message = _(
            "no matrix with straightlining_check has %(count)s items, so this rule can never apply"
        )
        checker.add(
            f"{path}.min_items", "rule_never_applies", message % {"count": min_items}, min_items
        )


RULE_CHECKS: dict[str, Callable[[_Checker, str, dict], None]] = {
    "speeder": _check_speeder,
    "attention": _check_attention,
    "duplicate": _check_duplicate,
    "straightlining": _check_straightlining,
}


def _check_analysis(checker: _Checker, analysis: Any) -> None:
    if analysis is _MISSING or not checker.mapping("analysis", analysis):
        return
    checker.keys("analysis", analysis, ("banner", "significance"))
    banner = analysis.get("banner", _MISSING)
    if banner is not _MISSING and checker.listing("analysis.banner", banner, empty_ok=True):
        seen: set[str] = set()
        for index, entry in enumerate(banner):
            path = f"analysis.banner[{index}]"
            if entry in seen:
                message = _("%(entry)s is listed twice") % {"entry": entry}
                checker.add(path, "duplicate_entry", message, entry)
                continue
            if isinstance(entry, str):
                seen.add(entry)
            if problem := _banner_problem(checker, entry):
                checker.add(path, problem[0], problem[1], entry)
    significance = analysis.get("significance", _MISSING)
    if significance is not _MISSING:
        path = "analysis.significance"
        if not is_number(significance) or not 0 < significance < 1:
            message = _("must be a number between 0 and 1, not %(kind)s") % _kind(significance)
            checker.add(path, "not_fraction", message, significance)
        else:
            checker.number(path, significance, (SIGNIFICANCE_PLACES, Decimal(1)))


def _banner_problem(checker: _Checker, entry: Any) -> tuple[str, str] | None:
    """(problem code, message) for a banner entry that cannot be used, else None."""
    if not isinstance(entry, str):
        message = _("must be a question code or segment:CODE, not %(kind)s") % _kind(entry)
        return "invalid_banner", message
    if entry.startswith(SEGMENT_PREFIX):
        code = entry.removeprefix(SEGMENT_PREFIX)
        if code in checker.segment_codes:
            return None
        return "unknown_reference", _("unknown segment %(code)s") % {"code": repr(code)}
    spec = checker.specs.get(entry)
    if entry in checker.invalid_codes:
        return None
    if spec is None:
        return "unknown_reference", _("unknown question %(code)s") % {"code": repr(entry)}
    if spec.type != "single":
        message = _("%(code)s is a %(type)s question; a banner breaks down by single questions")
        return "banner_not_single", message % {"code": entry, "type": spec.type}
    return None
