"""Validate and normalise an answers object against a questionnaire's structure.

The answers object is the JSON shape of QUESTIONNAIRE-FORMAT.md ("Answers"). Validation
collects every problem, keyed by the question code (``Q5``) or item (``Q5.b``) or other-text
key (``D6.other``), so a form or API client can show each next to its question.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from survey.expressions import evaluate
from survey.labels import label_text
from survey.structure import OptionDef, QuestionDef, Structure
from wenji.text import SURROGATE, unstorable

OTHER_SUFFIX = ".other"
OTHER_TEXT_MAX_LENGTH = 500
# Answer.number is NUMERIC(20, 6): keep every accepted number inside it.
NUMBER_LIMIT = Decimal("1e14")
NUMBER_PLACES = 6
ALLOWED_CONTROL = {"\n", "\r", "\t"}


@dataclass
class AnswersCheck:
    """The outcome of validating one answers object."""

    answers: dict[str, Any] = field(default_factory=dict)  # normalised, visible answers only
    errors: dict[str, list[str]] = field(default_factory=dict)
    hidden: list[str] = field(default_factory=list)  # codes answered although hidden

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors


def answers_check(*, structure: Structure, answers: Any, drop_hidden: bool = False) -> AnswersCheck:
    """Validate ``answers``; the result holds the normalised answers or every problem.

    ``drop_hidden``: answers to questions hidden by ``show_if`` are silently dropped (the form,
    where a respondent may change an earlier answer after filling a later question); without
    it they are refused (the API, where a client sending them has a bug worth hearing about).
    """
    check = AnswersCheck()
    if not isinstance(answers, Mapping):
        check.add("answers", _("Answers must be an object keyed by question code."))
        return check
    _check_keys(structure, answers, check)
    for question in structure.questions.values():
        answered = question.code in answers or f"{question.code}{OTHER_SUFFIX}" in answers
        if question.hidden:  # no longer asked (hidden: true); older answers keep it
            if answered and not drop_hidden:
                check.hidden.append(question.code)
                check.add(question.code, _("This question is no longer asked."))
            continue
        visible = question.show_if is None or evaluate(question.show_if, check.answers)
        if not visible:
            if answered and not drop_hidden:
                check.hidden.append(question.code)
                check.add(
                    question.code,
                    _("This question is not asked with your other answers (shown only if %s).")
                    % question.show_if_source,
                )
            continue
        errors_before = len(check.errors)
        value = _normalise(question, answers.get(question.code), check)
        if value is None:
            # Unanswered; a wrong answer has its own message already, not also "required".
            if question.required and len(check.errors) == errors_before:
                check.add(question.code, _("This question is required."))
            continue
        check.answers[question.code] = value
        other_key = f"{question.code}{OTHER_SUFFIX}"
        if question.offers_other:
            other = _other_text(question, value, answers.get(other_key), check)
            if other:
                check.answers[other_key] = other
    return check


def item_missing(number: int | str, label: Any) -> str:
    """A required matrix or grid item left unanswered, named by its place and its words."""
    return _("Item %(number)s “%(item)s” is not answered yet.") % {
        "number": number,
        "item": label_text(label),
    }


def other_missing(label: Any) -> str:
    """The "other" option chosen without saying what it is."""
    return _("Please say what “%(option)s” is.") % {"option": label_text(label)}


def _check_keys(structure: Structure, answers: Mapping, check: AnswersCheck) -> None:
    for key in answers:
        if not isinstance(key, str):
            check.add("answers", _("Answer keys must be question codes."))
            continue
        code = key.removesuffix(OTHER_SUFFIX)
        question = structure.questions.get(code)
        if question is None:
            check.add(key, _("There is no question %s in this questionnaire.") % code)
        elif key != code and not question.offers_other:
            check.add(key, _("Question %s has no 'other, please specify' option.") % code)


def _normalise(question: QuestionDef, value: Any, check: AnswersCheck) -> Any | None:
    """The normalised answer, or None when unanswered (or wrong, with errors recorded)."""
    if value is None:
        return None
    return _NORMALISERS[question.type](question, value, check)


def _option(question: QuestionDef, value: Any, key: str, check: AnswersCheck) -> OptionDef | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        check.add(key, _("Expected an option code, got %s.") % _describe(value))
        return None
    option = question.options.get(str(value))
    if option is None:
        check.add(key, _("%(value)s is not an option of %(code)s.") % {"value": value, "code": key})
    elif option.hidden:  # no longer offered (hidden: true); older answers keep it
        check.add(
            key,
            _("“%(option)s” is no longer offered in %(code)s.")
            % {"option": label_text(option.label), "code": key},
        )
        return None
    return option


def _single(question: QuestionDef, value: Any, check: AnswersCheck) -> Any | None:
    option = _option(question, value, question.code, check)
    return option.value if option else None


def _multiple(question: QuestionDef, value: Any, check: AnswersCheck) -> list | None:
    if not isinstance(value, list):
        check.add(question.code, _("Expected a list of option codes, got %s.") % _describe(value))
        return None
    chosen: list[OptionDef] = []
    for element in value:
        option = _option(question, element, question.code, check)
        if option is None:
            return None
        if option in chosen:
            check.add(question.code, _("Option %s is chosen twice.") % option.value)
            return None
        chosen.append(option)
    if not chosen:
        return None
    if len(chosen) > 1 and any(option.exclusive for option in chosen):
        exclusive = next(option for option in chosen if option.exclusive)
        check.add(
            question.code,
            _("Option %s cannot be chosen together with other options.") % exclusive.value,
        )
        return None
    minimum, maximum = question.min_choices, question.max_choices
    if minimum and len(chosen) < minimum:
        check.add(question.code, _("Choose at least %d options.") % minimum)
        return None
    if maximum and len(chosen) > maximum:
        check.add(question.code, _("Choose at most %d options.") % maximum)
        return None
    order = list(question.options)
    return [option.value for option in sorted(chosen, key=lambda o: order.index(o.code))]


def _per_item(
    question: QuestionDef, value: Any, check: AnswersCheck, cell: Any
) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        check.add(
            question.code, _("Expected an object keyed by item code, got %s.") % _describe(value)
        )
        return None
    result: dict[str, Any] = {}
    failed = False
    for item_code, item_value in value.items():
        key = f"{question.code}.{item_code}"
        if str(item_code) not in question.items:
            check.add(
                key,
                _("%(code)s has no item %(item)s.") % {"code": question.code, "item": item_code},
            )
            failed = True
            continue
        if item_value is None:
            continue
        normalised = cell(question, item_value, key, check)
        if normalised is None:
            failed = True
        else:
            result[str(item_code)] = normalised
    if failed:
        return None
    if question.required:
        for number, (item_code, item) in enumerate(question.items.items(), start=1):
            if item_code not in result:
                check.add(f"{question.code}.{item_code}", item_missing(number, item.label))
                failed = True
    if failed or not result:
        return None
    return {code: result[code] for code in question.items if code in result}


def _matrix(question: QuestionDef, value: Any, check: AnswersCheck) -> dict | None:
    def cell(q: QuestionDef, v: Any, key: str, c: AnswersCheck) -> Any | None:
        option = _option(q, v, key, c)
        return option.value if option else None

    return _per_item(question, value, check, cell)


def _number_grid(question: QuestionDef, value: Any, check: AnswersCheck) -> dict | None:
    return _per_item(question, value, check, _number_value)


def _number(question: QuestionDef, value: Any, check: AnswersCheck) -> int | float | None:
    return _number_value(question, value, question.code, check)


def _number_value(
    question: QuestionDef, value: Any, key: str, check: AnswersCheck
) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        check.add(key, _("Expected a number, got %s.") % _describe(value))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        check.add(key, _("Expected a finite number."))
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        check.add(key, _("Expected a number, got %s.") % _describe(value))
        return None
    if abs(number) >= NUMBER_LIMIT:
        check.add(key, _("The number is too large."))
        return None
    if question.integer and number != number.to_integral_value():
        check.add(key, _("Enter a whole number."))
        return None
    if number != round(number, NUMBER_PLACES):
        check.add(key, _("Use at most %d decimal places.") % NUMBER_PLACES)
        return None
    if question.min_value is not None and number < question.min_value:
        check.add(key, _("Enter a number of at least %s.") % _plain(question.min_value))
        return None
    if question.max_value is not None and number > question.max_value:
        check.add(key, _("Enter a number of at most %s.") % _plain(question.max_value))
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _text(question: QuestionDef, value: Any, check: AnswersCheck) -> str | None:
    return _clean_text(value, question.code, question.max_length, check)


def _clean_text(value: Any, key: str, max_length: int, check: AnswersCheck) -> str | None:
    if not isinstance(value, str):
        check.add(key, _("Expected text, got %s.") % _describe(value))
        return None
    if unstorable(value) == SURROGATE:  # a lone half of a UTF-16 pair: no text can hold it
        check.add(key, _("The text contains characters that cannot be stored."))
        return None
    text = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROL for ch in text):
        check.add(key, _("The text contains control characters."))
        return None
    if len(text) > max_length:
        check.add(
            key,
            _("At most %(max)d characters (this has %(count)d).")
            % {"max": max_length, "count": len(text)},
        )
        return None
    return text or None


def _other_text(question: QuestionDef, value: Any, raw: Any, check: AnswersCheck) -> str | None:
    """The text of an "other" option: required when it is chosen, refused when it is not."""
    key = f"{question.code}{OTHER_SUFFIX}"
    chosen = value if isinstance(value, list) else [value]
    other = next(option for option in question.options.values() if option.is_other)
    if not any(question.options[str(code)].is_other for code in chosen):
        if raw not in (None, ""):
            check.add(
                key,
                _("Fill this in only when you choose “%(option)s”.")
                % {"option": label_text(other.label)},
            )
        return None
    errors_before = len(check.errors)
    text = None if raw is None else _clean_text(raw, key, OTHER_TEXT_MAX_LENGTH, check)
    if not text and len(check.errors) == errors_before:
        check.add(key, other_missing(other.label))
    return text or None


def _describe(value: Any) -> str:
    names = {bool: "true/false", dict: "an object", list: "a list", str: "text", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


_NORMALISERS = {
    "single": _single,
    "multiple": _multiple,
    "matrix": _matrix,
    "number": _number,
    "number_grid": _number_grid,
    "text": _text,
}
