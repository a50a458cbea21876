"""Helpers of the respondent form that are not HTTP: reading POSTed fields into an answers
object, the signed start token, show_if as JSON for the form's script, and the "has this
respondent answered already" read.

Field names of the form (and so of a POST): ``Q3`` (single: one option code; multiple: one
value per chosen option; number; text), ``Q5.a`` (a matrix item's scale code, a grid item's
number) and ``D6.other`` (the text of an "other, please specify" option). Errors use the same
keys as ``survey.services.answers``, so both kinds show next to the same question.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from survey.expressions import And, Compare, Expr, ListLiteral, Literal, Not, Or, Ref, evaluate
from survey.models import Questionnaire, Response
from survey.services.answers import OTHER_SUFFIX
from survey.services.identity import Identity, identity_hash
from survey.structure import QuestionDef, Structure

START_TOKEN_SALT = "wenji.form.start"
# What a number box accepts (after NFKC, so full-width digits from a Chinese keyboard work).
NUMBER_TEXT = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


# --- show_if for the browser -------------------------------------------------------------------


def expression_to_json(expr: Expr) -> list[Any]:
    """A compiled expression as a small JSON tree that static/survey/form.js evaluates.

    ``["or", e, …]``, ``["and", e, …]``, ``["not", e]``, ``["cmp", op, left, right]``; an operand
    is ``["ref", question, item-or-null]``, ``["list", [literal, …]]`` or a literal:
    ``["int", "3"]``, ``["dec", "2.5"]`` or ``["str", "text"]``. Numbers travel as decimal text
    so the script compares them exactly, as ``survey.expressions.evaluate`` does.
    """
    if isinstance(expr, Or):
        return ["or", *(expression_to_json(operand) for operand in expr.operands)]
    if isinstance(expr, And):
        return ["and", *(expression_to_json(operand) for operand in expr.operands)]
    if isinstance(expr, Not):
        return ["not", expression_to_json(expr.operand)]
    if isinstance(expr, Compare):
        return ["cmp", expr.op, _operand_json(expr.left), _operand_json(expr.right)]
    raise TypeError(f"not an expression node: {expr!r}")


def _operand_json(operand: Ref | Literal | ListLiteral) -> list[Any]:
    if isinstance(operand, Ref):
        return ["ref", operand.question, operand.item]
    if isinstance(operand, ListLiteral):
        return ["list", [_literal_json(literal.value) for literal in operand.values]]
    return _literal_json(operand.value)


def _literal_json(value: int | Decimal | str) -> list[str]:
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, Decimal):
        return ["dec", format(value, "f")]
    if isinstance(value, int) and not isinstance(value, bool):
        return ["int", str(value)]
    raise TypeError(f"not a literal value: {value!r}")


def show_if_json(structure: Structure) -> dict[str, list[Any]]:
    """Question code → its show_if as JSON, for the questions that have one."""
    return {
        question.code: expression_to_json(question.show_if)
        for question in structure.questions.values()
        if question.show_if is not None
    }


# --- reading a POST ---------------------------------------------------------------------------


@dataclass
class PostedForm:
    """A POST read against a questionnaire: the answers object and the fields that could not
    be read (a number box holding "abc"), keyed like ``AnswersInvalid.fields``."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def answers_from_post(*, structure: Structure, data: Mapping[str, Any]) -> PostedForm:
    """Read the form's fields (a QueryDict, or any mapping with ``getlist``) into answers.

    Only the questionnaire's own field names are read; empty fields are unanswered. Option
    codes stay text (``response_submit`` reads ``"1"`` as option 1). Numbers become int or
    Decimal; text that is not a number is an error under the field's key.
    """
    posted = PostedForm()
    for question in structure.questions.values():
        if question.hidden:  # no longer asked: the page has no field for it
            continue
        code = question.code
        if question.type == "multiple":
            chosen = [value for value in data.getlist(code) if value != ""]
            if chosen:
                posted.answers[code] = chosen
        elif question.type in ("matrix", "number_grid"):
            cells = {}
            for item in question.items:
                raw = data.get(f"{code}.{item}", "")
                if raw.strip() == "":
                    continue
                cells[item] = _cell(question, raw, f"{code}.{item}", posted)
            cells = {item: value for item, value in cells.items() if value is not None}
            if cells:
                posted.answers[code] = cells
        else:
            raw = data.get(code, "")
            if raw.strip() != "":
                value = _cell(question, raw, code, posted)
                if value is not None:
                    posted.answers[code] = value
        other = data.get(f"{code}{OTHER_SUFFIX}", "")
        if question.offers_other and other.strip() != "":
            posted.answers[f"{code}{OTHER_SUFFIX}"] = other
    return posted


def _cell(question: QuestionDef, raw: str, key: str, posted: PostedForm) -> Any | None:
    if question.type not in ("number", "number_grid"):
        return raw
    number = number_from_text(raw)
    if number is None:
        posted.errors.setdefault(key, []).append(_("Enter a number, such as 12."))
    return number


def number_from_text(raw: str) -> int | Decimal | None:
    """``"12"`` → 12, ``"2.5"`` or ``"2,5"`` → Decimal("2.5"); anything else → None."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if not NUMBER_TEXT.fullmatch(text):
        return None
    text = text.replace(",", ".")
    return Decimal(text) if "." in text else int(text)


def visible_questions(*, structure: Structure, answers: Mapping[str, Any]) -> set[str]:
    """Codes of the questions asked, given the normalised answers, in the service's way:
    each show_if is read against the answers to the visible questions before it."""
    seen: dict[str, Any] = {}
    visible = set()
    for question in structure.questions.values():
        if question.hidden:  # no longer asked
            continue
        if question.show_if is None or evaluate(question.show_if, seen):
            visible.add(question.code)
            if question.code in answers:
                seen[question.code] = answers[question.code]
    return visible


def errors_merge(
    *, structure: Structure, check_errors: Mapping[str, list[str]], posted: PostedForm
) -> dict[str, list[str]]:
    """The service's errors plus the unreadable fields of visible questions; a field that
    could not be read shows that, not also "required"."""
    merged = {key: list(messages) for key, messages in check_errors.items()}
    visible = visible_questions(structure=structure, answers=posted.answers)
    for key, messages in posted.errors.items():
        if key.split(".", 1)[0] in visible:
            merged[key] = list(messages)
    for key in posted.errors:
        code, _dot, item = key.partition(".")
        if item and code in merged and code not in posted.errors:
            # A grid whose only problem is an unreadable cell needs no "required" line too.
            merged[code] = [m for m in merged[code] if m != _("This question is required.")]
            if not merged[code]:
                del merged[code]
    return merged


# --- the start token ---------------------------------------------------------------------------


class StartTokenInvalid(Exception):
    """The token was changed or is not for this questionnaire. Nothing about it is trusted."""


class StartTokenExpired(Exception):
    """A genuine token, older than FORM_START_TOKEN_MAX_AGE; its contents are still ours."""

    def __init__(self, token: StartToken) -> None:
        super().__init__("the form was opened too long ago")
        self.token = token


@dataclass(frozen=True)
class StartToken:
    slug: str
    submission_id: uuid.UUID
    started_at: datetime

    def dumps(self) -> str:
        payload = {
            "s": self.slug,
            "i": self.submission_id.hex,
            "t": int(self.started_at.timestamp()),
        }
        return signing.dumps(payload, salt=START_TOKEN_SALT, compress=False)


def start_token_new(*, questionnaire: Questionnaire, now: datetime) -> StartToken:
    return StartToken(slug=questionnaire.slug, submission_id=uuid.uuid4(), started_at=now)


def start_token_read(*, token: str, questionnaire: Questionnaire) -> StartToken:
    """The token's contents; raises StartTokenInvalid or StartTokenExpired."""
    try:
        payload = signing.loads(
            token, salt=START_TOKEN_SALT, max_age=settings.FORM_START_TOKEN_MAX_AGE
        )
    except signing.SignatureExpired:
        expired = _payload_token(signing.loads(token, salt=START_TOKEN_SALT), questionnaire)
        raise StartTokenExpired(expired) from None
    except signing.BadSignature:
        raise StartTokenInvalid("bad signature") from None
    return _payload_token(payload, questionnaire)


def _payload_token(payload: Any, questionnaire: Questionnaire) -> StartToken:
    try:
        token = StartToken(
            slug=payload["s"],
            submission_id=uuid.UUID(hex=payload["i"]),
            started_at=datetime.fromtimestamp(int(payload["t"]), tz=UTC),
        )
    except (KeyError, TypeError, ValueError):
        raise StartTokenInvalid("malformed payload") from None
    if token.slug != questionnaire.slug:
        raise StartTokenInvalid("token of another questionnaire")
    return token


# --- reads --------------------------------------------------------------------------------------


def respondent_has_answered(
    *, questionnaire: Questionnaire, identity: Identity, except_submission: uuid.UUID | None = None
) -> bool:
    """Whether this identity already has a response to the questionnaire (one query)."""
    responses = Response.objects.filter(
        questionnaire=questionnaire, respondent__identity_hash=identity_hash(identity)
    )
    if except_submission is not None:
        responses = responses.exclude(submission_id=except_submission)
    return responses.exists()
