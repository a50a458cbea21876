"""Validity marks that can be decided from one response alone (attention, straight-lining),
and the status that a set of broken rules gives.

The speeder rule needs the median of all submissions and the duplicate rule the order of all
of a respondent's submissions; the analysis jobs recompute those over everything collected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from survey.models import Response, ValidityRule
from survey.structure import Structure

Kind = ValidityRule.Kind


def attention_failed(structure: Structure, answers: Mapping[str, Any]) -> bool:
    """An attention question was answered other than expected (unanswered counts as failed)."""
    for question in structure.questions.values():
        if not question.attention_expect:
            continue
        if question.code not in answers and question.show_if is not None:
            continue  # hidden by show_if: it was never asked
        if str(answers.get(question.code)) != question.attention_expect:
            return True
    return False


def straightlined(structure: Structure, answers: Mapping[str, Any], min_items: int) -> bool:
    """A checked matrix with at least ``min_items`` items got one scale point on every item."""
    for question in structure.questions.values():
        if not question.straightlining_check or len(question.items) < min_items:
            continue
        cells = answers.get(question.code)
        if (
            isinstance(cells, Mapping)
            and len(cells) == len(question.items)
            and len({str(v) for v in cells.values()}) == 1
        ):
            return True
    return False


def single_response_reasons(structure: Structure, answers: Mapping[str, Any]) -> list[str]:
    """The rules this response breaks on its own, in a stable order."""
    reasons = []
    if Kind.ATTENTION in structure.validity and attention_failed(structure, answers):
        reasons.append(Kind.ATTENTION.value)
    if Kind.STRAIGHTLINING in structure.validity:
        _, params = structure.validity[Kind.STRAIGHTLINING]
        if straightlined(structure, answers, int(params.get("min_items", 2))):
            reasons.append(Kind.STRAIGHTLINING.value)
    return reasons


def status_for(validity: Mapping[str, tuple[str, dict]], reasons: Iterable[str]) -> str:
    """invalid if any broken rule invalidates, flagged if any only flags, else valid."""
    actions = {validity[reason][0] for reason in reasons if reason in validity}
    if ValidityRule.Action.INVALIDATE in actions:
        return Response.Status.INVALID
    if ValidityRule.Action.FLAG in actions:
        return Response.Status.FLAGGED
    return Response.Status.VALID
