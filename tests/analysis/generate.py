"""Seeded random responses for any questionnaire, stored through ``response_submit``.

The answers respect the questionnaire (show_if, required, min/max choices, exclusive options,
ranges) so every submission is accepted; a few break validity rules on purpose (attention
checks failed, straight-lined matrices, speeders, repeat respondents whose later submission
may carry an earlier timestamp), so the analysis sees every kind of response.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from survey.expressions import evaluate
from survey.models import Questionnaire, Response
from survey.services.identity import Identity
from survey.services.responses import response_submit
from survey.structure import QuestionDef, Structure, structure_for


@dataclass(frozen=True)
class Mix:
    """How often the generator does each unusual thing (probabilities)."""

    skip_optional: float = 0.3
    attention_fail: float = 0.06
    straightline: float = 0.06
    exclusive: float = 0.1
    other_text: float = 0.5
    partial_matrix: float = 0.3
    repeat_respondent: float = 0.06
    no_duration: float = 0.05
    speeder: float = 0.06
    low_numbers: float = 0.15
    high_numbers: float = 0.35


def random_answers(
    structure: Structure,
    rng: random.Random,
    mix: Mix = Mix(),
    only: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """A valid answers object (the format's JSON shape) for ``structure``.

    ``only`` limits single questions to some of their options, e.g. ``{"tier": [1, 2]}``.
    """
    answers: dict[str, Any] = {}
    tendency = rng.random()
    for question in structure.questions.values():
        if question.show_if is not None and not evaluate(question.show_if, answers):
            continue
        if not question.required and rng.random() < mix.skip_optional:
            continue
        if only and question.code in only:
            answers[question.code] = rng.choice(list(only[question.code]))
            continue
        value = _ANSWER[question.type](question, rng, mix, tendency)
        if value is None:
            continue
        answers[question.code] = value
        chosen = value if isinstance(value, list) else [value]
        if (
            question.type in ("single", "multiple")
            and rng.random() < mix.other_text
            and any(question.options[str(code)].is_other for code in chosen)
        ):
            answers[f"{question.code}.other"] = rng.choice(["协会", "other", "其他单位"])
    return answers


def _single(question: QuestionDef, rng: random.Random, mix: Mix, _tendency: float) -> Any:
    options = list(question.options.values())
    if question.attention_expect and rng.random() >= mix.attention_fail:
        return question.options[question.attention_expect].value
    return rng.choice(options).value


def _multiple(question: QuestionDef, rng: random.Random, mix: Mix, _tendency: float) -> Any:
    options = list(question.options.values())
    exclusive = [o for o in options if o.exclusive]
    regular = [o for o in options if not o.exclusive]
    if exclusive and (not regular or rng.random() < mix.exclusive):
        return [rng.choice(exclusive).value]
    low = max(1, question.min_choices or 1)
    high = min(question.max_choices or len(regular), len(regular))
    picked = rng.sample(regular, rng.randint(low, high))
    return [o.value for o in options if o in picked]


def _matrix(question: QuestionDef, rng: random.Random, mix: Mix, _tendency: float) -> Any:
    points = [o.value for o in question.options.values()]
    items = list(question.items)
    if not question.required and rng.random() < mix.partial_matrix:
        items = rng.sample(items, rng.randint(1, len(items)))
    if rng.random() < mix.straightline:
        point = rng.choice(points)
        return {item: point for item in items}
    return {item: rng.choice(points) for item in items}


def _number(question: QuestionDef, rng: random.Random, mix: Mix, tendency: float) -> Any:
    low = question.min_value if question.min_value is not None else Decimal(0)
    high = question.max_value if question.max_value is not None else low + 100
    if tendency < mix.low_numbers:
        high = min(high, low + 2)
    elif tendency < mix.low_numbers + mix.high_numbers:
        low = min(high, low + 3)
        high = min(high, low + 6)
    if question.integer:
        return rng.randint(math.ceil(low), math.floor(high))
    cents = rng.randint(math.ceil(low * 100), math.floor(high * 100))
    return float(Decimal(cents) / 100)


def _number_grid(question: QuestionDef, rng: random.Random, mix: Mix, tendency: float) -> Any:
    return {item: _number(question, rng, mix, tendency) for item in question.items}


def _text(_question: QuestionDef, rng: random.Random, _mix: Mix, _tendency: float) -> Any:
    return rng.choice(["希望页面更快", "fine", "更多培训", "no comment"])


_ANSWER = {
    "single": _single,
    "multiple": _multiple,
    "matrix": _matrix,
    "number": _number,
    "number_grid": _number_grid,
    "text": _text,
}


def generate_responses(
    *,
    questionnaire: Questionnaire,
    count: int,
    seed: int,
    mix: Mix = Mix(),
    only: Mapping[str, Sequence[Any]] | None = None,
) -> list[Response]:
    """Submit ``count`` random responses (seeded) and return them in submission order."""
    rng = random.Random(seed)
    structure = structure_for(questionnaire)
    start = timezone.now() - timedelta(days=30)
    responses = []
    respondents: list[str] = []
    for index in range(count):
        if respondents and rng.random() < mix.repeat_respondent:
            who = rng.choice(respondents)
        else:
            who = f"{seed}-{index}"
            respondents.append(who)
        # Submission times are not in id order: a repeat may carry an earlier timestamp.
        submitted_at = start + timedelta(minutes=index * 10 + rng.randint(-300, 300))
        responses.append(
            response_submit(
                questionnaire=questionnaire,
                answers=random_answers(structure, rng, mix, only),
                submission_id=uuid.UUID(int=rng.getrandbits(128)),
                channel=Response.Channel.API,
                identity=Identity(kind="device", raw=who),
                started_at=_started(rng, mix, submitted_at),
                submitted_at=submitted_at,
            ).response
        )
    return responses


def _started(rng: random.Random, mix: Mix, submitted_at: datetime) -> datetime | None:
    roll = rng.random()
    if roll < mix.no_duration:
        return None
    seconds = rng.uniform(20, 90) if roll < mix.no_duration + mix.speeder else rng.uniform(240, 900)
    return submitted_at - timedelta(seconds=seconds)


# A small questionnaire with the hard cases of the analysis: optional and hidden questions,
# exclusive and "other" options, an unscored scale point, overlapping segments, a segment of
# one (tier 3, when generated with only={"tier": [1, 2]}) and an empty one.
HARD_CASES = {
    "format": "questionnaire/v1",
    "slug": "hard-cases",
    "languages": ["zh-hans", "en"],
    "title": "Hard cases",
    "settings": {"one_response_per": "respondent"},
    "sections": [
        {
            "code": "S",
            "title": "All",
            "questions": [
                {
                    "code": "tier",
                    "type": "single",
                    "label": "Tier",
                    "options": [
                        {"code": 1, "label": "One", "score": 1},
                        {"code": 2, "label": "Two", "score": 2},
                        {"code": 3, "label": "Three", "score": 3.5},
                        {"code": 4, "label": "Four"},
                    ],
                },
                {
                    "code": "sex",
                    "type": "single",
                    "label": "Sex",
                    "options": [{"code": "m", "label": "M"}, {"code": "f", "label": "F"}],
                },
                {
                    "code": "check",
                    "type": "single",
                    "label": "Choose b",
                    "options": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}],
                    "attention_check": {"expect": "b"},
                },
                {
                    "code": "media",
                    "type": "multiple",
                    "label": "Media",
                    "max_choices": 2,
                    "options": [
                        {"code": 1, "label": "WeChat"},
                        {"code": 2, "label": "Web"},
                        {"code": 3, "label": "Other", "other": True},
                        {"code": 9, "label": "None", "exclusive": True},
                    ],
                },
                {
                    "code": "worry",
                    "type": "multiple",
                    "label": "Worries",
                    "required": False,
                    "show_if": "tier in [1, 2]",
                    "options": [
                        {"code": 1, "label": "Cost"},
                        {"code": 2, "label": "Time"},
                        {"code": 8, "label": "No worries", "exclusive": True},
                    ],
                },
                {
                    "code": "rate",
                    "type": "matrix",
                    "label": "Rate",
                    "straightlining_check": True,
                    "scale": [
                        {"code": 1, "label": "Good", "score": 5},
                        {"code": 2, "label": "Fair", "score": 3},
                        {"code": 3, "label": "Poor", "score": 1},
                        {"code": 9, "label": "n/a"},
                    ],
                    "items": [
                        {"code": "a", "label": "A"},
                        {"code": "b", "label": "B"},
                        {"code": "c", "label": "C"},
                    ],
                },
                {
                    "code": "opt_rate",
                    "type": "matrix",
                    "label": "Optional rating",
                    "required": False,
                    "scale": [
                        {"code": 1, "label": "Yes", "score": 2},
                        {"code": 2, "label": "No", "score": 1},
                    ],
                    "items": [{"code": "x", "label": "X"}, {"code": "y", "label": "Y"}],
                },
                {
                    "code": "hours",
                    "type": "number",
                    "label": "Hours",
                    "required": False,
                    "integer": False,
                    "min": 0,
                    "max": 24,
                },
                {
                    "code": "kids",
                    "type": "number",
                    "label": "Children",
                    "show_if": 'sex == "f"',
                    "min": 0,
                    "max": 10,
                },
                {
                    "code": "counts",
                    "type": "number_grid",
                    "label": "Counts",
                    "min": 0,
                    "max": 50,
                    "items": [{"code": "p", "label": "P"}, {"code": "q", "label": "Q"}],
                },
                {"code": "note", "type": "text", "label": "Note", "required": False},
            ],
        }
    ],
    "scores": [
        {"code": "tier_score", "of": "tier", "label": "Tier score"},
        {"code": "rate_score", "of": "rate", "label": "Rating"},
        {"code": "opt_score", "of": "opt_rate", "label": "Optional rating"},
    ],
    "segments": [
        {"code": "busy", "label": "Busy", "rule": "hours >= 5"},
        {"code": "fans", "label": "Fans", "rule": "rate.a == 1 or media has 1"},
        {"code": "solo", "label": "Only one", "rule": "tier == 3"},
        {"code": "nobody", "label": "Nobody", "rule": "counts.p > 1000"},
        # Compares two answers: computed by EXISTS subqueries, not by the row tests.
        {"code": "more_p", "label": "More P", "rule": 'counts.p > counts.q and not (sex == "f")'},
    ],
    "validity": {
        "speeder": {"action": "invalidate", "below_fraction_of_median": 0.3},
        "attention": {"action": "flag"},
        "duplicate": {"action": "invalidate"},
        "straightlining": {"action": "flag", "min_items": 3},
    },
    "analysis": {
        "banner": [
            "tier",
            "sex",
            "segment:busy",
            "segment:solo",
            "segment:nobody",
            "segment:more_p",
        ],
        "significance": 0.05,
    },
}
