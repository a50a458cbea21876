"""The pieces of the response generator's latent-trait model: respondents and their traits,
the model's own answer distributions, and single answers drawn for one respondent.

``demo.model`` hands answers out question by question on top of these;
its docstring describes the model.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from demo.calibration import Calibration, QuestionTargets
from survey.expressions import Expr
from survey.structure import QuestionDef, Structure

VALID, SPEEDER, ATTENTION, DUPLICATE = "valid", "speeder", "attention", "duplicate"
PHRASES = {
    "zh": [
        "希望平台更简洁好用",
        "加强培训",
        "内容再丰富一些",
        "减少形式主义",
        "无",
        "希望加强线下交流",
        "页面加载太慢",
        "建议增加互动功能",
        "没有意见",
        "希望各平台数据互通",
    ],
    "en": [
        "Make it simpler to use",
        "More training please",
        "No comment",
        "Less box-ticking",
        "Faster pages",
        "More face-to-face meetings",
        "Connect the platforms",
    ],
}
OTHER_PHRASES = {
    "zh": ["协会", "事业单位", "其他单位", "个体"],
    "en": ["Association", "Other unit"],
}


@dataclass
class Member:
    """One generated respondent: traits, ladder segments and answers (the format's JSON shape)."""

    index: int
    kind: str
    engagement: float
    positivity: float
    care: float
    segments: frozenset[str] = frozenset()
    straightliner: bool = False
    answers: dict[str, Any] = field(default_factory=dict)

    def trait(self, name: str) -> float:
        return self.positivity if name == "positivity" else self.engagement


def population(*, kinds: Sequence[str], correlation: float, rng: random.Random) -> list[Member]:
    """Members with correlated engagement and positivity, one per entry of ``kinds``."""
    spread = math.sqrt(1 - correlation**2)
    members = []
    for index, kind in enumerate(kinds):
        engagement = rng.gauss(0, 1)
        positivity = correlation * engagement + spread * rng.gauss(0, 1)
        members.append(Member(index, kind, engagement, positivity, rng.gauss(0, 1)))
    return members


@dataclass
class Model:
    structure: Structure
    rules: Mapping[str, Expr]  # segment code → compiled rule
    calibration: Calibration | None
    rng: random.Random
    language: str  # "zh" or "en": of the phrases
    memo: dict[str, Any] = field(default_factory=dict)  # per question: bases, option orders

    def gauss(self) -> float:
        return self.rng.gauss(0, 1)

    def key(self, member: Member, trait: str, rho: float) -> float:
        """A noisy copy of ``trait``: respondents ranked on it get options in score order."""
        return rho * member.trait(trait) + math.sqrt(1 - rho**2) * self.gauss()

    def targets(self, code: str) -> QuestionTargets | None:
        return self.calibration.questions.get(code) if self.calibration else None


# --- the model's own distributions -------------------------------------------------------------


def base_distributions(model: Model, question: QuestionDef) -> list[list[float]]:
    """The model's own distributions for a question (per variable), fixed once per question."""
    if question.code not in model.memo:
        model.memo[question.code] = _make_base(model, question)
    return model.memo[question.code]


def _make_base(model: Model, question: QuestionDef) -> list[list[float]]:
    options = list(question.options.values())
    if question.type == "multiple":
        rates = [_option_rate(model, o) for o in options]
        regular = sum(r for r, o in zip(rates, options, strict=True) if not o.exclusive)
        limit = 0.85 * (question.max_choices or len(options))
        scale = min(1.0, limit / regular) if regular else 1.0
        chosen = [r if o.exclusive else r * scale for r, o in zip(rates, options, strict=True)]
        return [[rate, 1 - rate] for rate in chosen]
    if question.type == "matrix":
        return [_scale_base(model, options) for _item in question.items]
    if question.type == "single":
        return [_scale_base(model, options)]
    return []


def _option_rate(model: Model, option: Any) -> float:
    if option.exclusive:
        return 0.05
    return 0.04 if option.is_other else model.rng.uniform(0.2, 0.55)


def _scale_base(model: Model, options: Sequence[Any]) -> list[float]:
    """Scored: a softmax of the scores leaning positive. Unscored: seeded weights."""
    weights = []
    for option in options:
        if option.score is not None:
            leaning = 0.9 * (2 * unit_score(option.score, options) - 1)
            weight = math.exp(leaning + 0.15 * model.gauss())
        else:
            weight = model.rng.uniform(0.6, 1.4)
        weights.append(weight * (0.25 if option.is_other else 1.0))
    total = sum(weights)
    return [w / total for w in weights]


def complete(
    question: QuestionDef, shares: Mapping[str, float], base: Sequence[float]
) -> list[float]:
    """A full distribution: the given shares, the rest spread over the others like ``base``."""
    codes = list(question.options)
    left = max(0.0, 1.0 - sum(shares.values()))
    free = sum(b for c, b in zip(codes, base, strict=True) if c not in shares)
    full = [
        shares[code] if code in shares else (left * b / free if free else 0.0)
        for code, b in zip(codes, base, strict=True)
    ]
    total = sum(full)
    return [f / total for f in full]


def unit_score(score: Any, options: Iterable[Any]) -> float:
    scores = [float(o.score) for o in options if o.score is not None]
    if score is None or not scores or max(scores) == min(scores):
        return 0.0
    return (float(score) - min(scores)) / (max(scores) - min(scores))


def top2_codes(question: QuestionDef) -> list[str]:
    """The two scale points with the highest scores (ties: the earlier), as the analysis has it."""
    scored = [
        (o.score, -i, o.code)
        for i, o in enumerate(question.options.values())
        if o.score is not None
    ]
    return [code for _s, _i, code in sorted(scored, reverse=True)[:2]]


# --- one answer for one respondent ------------------------------------------------------------


def put(member: Member, question: QuestionDef, value: Any) -> None:
    put_in(member.answers, question, value)


def put_in(answers: dict[str, Any], question: QuestionDef, value: Any) -> None:
    if value is not None:
        answers[question.code] = value


def free_answer(model: Model, question: QuestionDef, member: Member) -> Any:
    if question.type == "number":
        return _number(question, 0.6 * member.engagement + 0.8 * model.gauss())
    if question.type == "number_grid":
        shared = model.gauss()
        return {
            item: _number(question, 0.6 * member.engagement + 0.35 * shared + 0.72 * model.gauss())
            for item in question.items
        }
    answer_rate = 1 / (1 + math.exp(-(member.care - 1.1)))  # about one in four
    if question.required or model.rng.random() < answer_rate:
        return model.rng.choice(PHRASES[model.language])[: question.max_length]
    return None


def _number(question: QuestionDef, z: float) -> int | float:
    """A number within [min, max] from a standard normal ``z``."""
    low = float(question.min_value) if question.min_value is not None else 0.0
    high = float(question.max_value) if question.max_value is not None else low + 100
    span = high - low
    if span <= 12:
        value = low + span * (0.5 * (1 + math.erf(z / math.sqrt(2))))
    else:
        typical = min(max(span * 0.04, 1.0), span / 2)
        value = low + math.expm1(math.log1p(typical) + 0.8 * z)
    value = min(max(value, low), high)
    if question.integer:
        return min(max(round(value), math.ceil(low)), math.floor(high))
    return min(max(round(value, 1), low), high)


def draw_one(model: Model, question: QuestionDef, member: Member, base: list[list[float]]) -> Any:
    """One answer drawn at random from ``base`` (the model's or a cell's distributions)."""
    values = [o.value for o in question.options.values()]
    if question.type == "single":
        return model.rng.choices(values, weights=base[0])[0]
    if question.type == "matrix":
        return {
            item: model.rng.choices(values, weights=b)[0]
            for item, b in zip(question.items, base, strict=True)
        }
    if question.type == "multiple":
        return _draw_multiple(model, question, base)
    return free_answer(model, question, member)


def _draw_multiple(model: Model, question: QuestionDef, base: list[list[float]]) -> list:
    options = list(question.options.values())
    for k, option in enumerate(options):
        if option.exclusive and model.rng.random() < base[k][0]:
            return [option.value]
    regular = [k for k, o in enumerate(options) if not o.exclusive]
    picked = [k for k in regular if model.rng.random() < base[k][0]]
    model.rng.shuffle(picked)
    picked = picked[: question.max_choices or len(picked)]
    need = min(max(question.min_choices or 0, 1), len(regular))
    while len(picked) < need:
        picked.append(model.rng.choice([k for k in regular if k not in picked]))
    return [options[k].value for k in sorted(picked)]
