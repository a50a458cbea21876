"""Calibration files for the response generator (``wenji-calibration/1``), and the raking that
turns their targets into answer distributions.

A calibration file says what generated data should show, in the figures an analyst reads:
option shares, top-2-box shares and score means, overall, within segments and by the options
of another question; plus the segment sizes, the valid rate and the mix of invalid responses.
``examples/ipb-survey.calibration.yaml`` documents the format by example, key by key.

Promises:
- ``calibration_load`` checks a file against the questionnaire and raises
  ``CalibrationError`` listing every problem as ``"place: message"`` (``questions.Q3.segments.
  active.mean: 7 is outside the scores 1 to 5``); nothing is generated from a file with problems.
- ``rake`` finds per-group answer distributions that meet every target at once (iterative
  proportional fitting, with exponential tilting for means), or raises ``CalibrationError``
  naming the targets that cannot all hold.
- ``quota`` rounds expected counts to whole counts that add up exactly and are each the floor
  or the ceiling of the expectation (systematic rounding): generated shares miss a target by
  rounding, not by sampling noise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from survey.expressions import compile_expression, references
from survey.interchange import DefinitionError, load_definition
from survey.structure import QuestionDef, Structure

FORMAT = "wenji-calibration/1"
TRAITS = ("engagement", "positivity")
INVALID_KINDS = ("speeder", "attention", "duplicate")
TARGET_TYPES = frozenset({"single", "multiple", "matrix"})
_TOP_KEYS = frozenset(
    {
        "format",
        "questionnaire",
        "source",
        "valid_rate",
        "invalid_mix",
        "straightliners",
        "traits",
        "segment_families",
        "questions",
    }
)
_TARGET_KEYS = frozenset({"shares", "top2", "mean", "items"})
_QUESTION_KEYS = _TARGET_KEYS | {"trait", "segments", "by"}
REST = "rest"


class CalibrationError(ValueError):
    """A calibration that cannot be used; ``problems`` lists every ``"place: message"``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Target:
    """What one group's answers to one question (or matrix item) should show.

    ``shares``: option (or scale point) code → share; for a ``multiple`` question, the share
    choosing each option. ``top2``: share on the two highest-scored scale points (a matrix
    item). ``mean``: the mean score (a matrix: of the matrix score, the mean of its items).
    ``items``: a matrix's per-item targets.
    """

    shares: Mapping[str, float] = field(default_factory=dict)
    top2: float | None = None
    mean: float | None = None
    items: Mapping[str, Target] = field(default_factory=dict)


@dataclass(frozen=True)
class QuestionTargets:
    code: str
    trait: str | None
    overall: Target
    segments: Mapping[str, Target]  # segment code → target over its members
    by: Mapping[str, Mapping[str, Target]]  # single question → option code → target


@dataclass(frozen=True)
class Rung:
    segment: str | None  # None: the respondents in no segment of the family
    share: float | None  # None: whatever the other rungs leave


@dataclass(frozen=True)
class Family:
    """Mutually exclusive segments, handed out down a ladder of one latent trait."""

    trait: str
    ladder: tuple[Rung, ...]

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(rung.segment for rung in self.ladder if rung.segment)


@dataclass(frozen=True)
class Calibration:
    name: str
    valid_rate: float | None
    invalid_mix: Mapping[str, float]
    straightliners: float | None
    trait_correlation: float | None
    families: tuple[Family, ...]
    questions: Mapping[str, QuestionTargets]


# --- loading and checking ---------------------------------------------------------------------


def calibration_load(
    *, text: str | bytes, filename: str, structure: Structure, rules: Mapping[str, str]
) -> Calibration:
    """Parse and check a calibration file for the questionnaire of ``structure``.

    ``rules``: the questionnaire's segment rules (code → expression). Raises
    ``CalibrationError`` with every problem found.
    """
    try:
        data = load_definition(text, filename=filename)
    except DefinitionError as error:
        problems = [p.replace("definition:", "calibration:") for p in error.problems]
        raise CalibrationError(problems) from error
    checker = _Checker(structure, rules)
    calibration = checker.calibration(data, filename or "calibration")
    if checker.problems:
        raise CalibrationError(checker.problems)
    return calibration


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class _Checker:
    """Reads a calibration's plain data, collecting ``"place: message"`` problems."""

    def __init__(self, structure: Structure, rules: Mapping[str, str]) -> None:
        self.structure = structure
        self.rules = rules
        self.problems: list[str] = []

    def add(self, place: str, message: str) -> None:
        self.problems.append(f"{place}: {message}")

    def fraction(self, value: Any, place: str, *, low: float = 0.0, high: float = 1.0) -> float:
        number = _number(value)
        if number is None or not low <= number <= high:
            self.add(place, f"must be a number from {low:g} to {high:g}, not {value!r}")
            return low
        return number

    def mapping(self, value: Any, place: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(place, f"must be a mapping, not {value!r}")
            return {}
        return value

    def calibration(self, data: dict, name: str) -> Calibration:
        for key in sorted(set(data) - _TOP_KEYS, key=str):
            self.add(str(key), f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})")
        if data.get("format") != FORMAT:
            self.add("format", f"must be {FORMAT}, not {data.get('format')!r}")
        if data.get("questionnaire") != self.structure.slug:
            self.add(
                "questionnaire",
                f"is {data.get('questionnaire')!r}, but this questionnaire is "
                f"{self.structure.slug!r}",
            )
        valid_rate = None
        if "valid_rate" in data:
            valid_rate = self.fraction(data["valid_rate"], "valid_rate", low=0.5)
        straightliners = None
        if "straightliners" in data:
            straightliners = self.fraction(data["straightliners"], "straightliners", high=0.5)
        traits = self.mapping(data.get("traits"), "traits")
        correlation = None
        if "correlation" in traits:
            correlation = self.fraction(
                traits["correlation"], "traits.correlation", low=-0.9, high=0.9
            )
        families = self.families(data.get("segment_families"))
        questions = self.questions(self.mapping(data.get("questions"), "questions"))
        self.drivers_shares_only(families, questions)
        return Calibration(
            name=name,
            valid_rate=valid_rate,
            invalid_mix=self.invalid_mix(data.get("invalid_mix")),
            straightliners=straightliners,
            trait_correlation=correlation,
            families=families,
            questions=questions,
        )

    def invalid_mix(self, value: Any) -> dict[str, float]:
        mix = {}
        for kind, weight in self.mapping(value, "invalid_mix").items():
            if kind not in INVALID_KINDS:
                self.add(f"invalid_mix.{kind}", f"unknown kind (known: {', '.join(INVALID_KINDS)})")
                continue
            mix[kind] = self.fraction(weight, f"invalid_mix.{kind}")
        if mix and not sum(mix.values()) > 0:
            self.add("invalid_mix", "needs at least one weight above 0")
        return mix

    def families(self, value: Any) -> tuple[Family, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add("segment_families", "must be a list of {trait, ladder}")
            return ()
        families, seen = [], set()
        for index, entry in enumerate(value):
            place = f"segment_families[{index}]"
            entry = self.mapping(entry, place)
            trait = entry.get("trait")
            if trait not in TRAITS:
                self.add(f"{place}.trait", f"must be one of {', '.join(TRAITS)}, not {trait!r}")
            rungs = entry.get("ladder") if isinstance(entry.get("ladder"), list) else []
            ladder = tuple(self.rung(r, f"{place}.ladder[{i}]") for i, r in enumerate(rungs))
            if sum(rung.share is None for rung in ladder) != 1:
                self.add(f"{place}.ladder", "needs exactly one rung with share: rest")
            if sum(rung.share or 0 for rung in ladder) > 1 + 1e-9:
                self.add(f"{place}.ladder", "the shares add up to more than 1")
            for rung in ladder:
                if rung.segment is None:
                    continue
                if rung.segment in seen:
                    self.add(f"{place}.ladder", f"segment {rung.segment} is in two families")
                seen.add(rung.segment)
            families.append(Family(trait=str(trait), ladder=ladder))
        self.drivers_plain(families)
        return tuple(families)

    def rung(self, value: Any, place: str) -> Rung:
        value = self.mapping(value, place)
        segment = value.get("segment")
        if segment is not None and segment not in self.rules:
            self.add(f"{place}.segment", f"the questionnaire has no segment {segment!r}")
            segment = None
        share = value.get("share")
        if share == REST:
            if segment is not None:
                self.add(f"{place}.share", "rest is the rung of no segment")
            return Rung(segment=None, share=None)
        if segment is None:
            self.add(f"{place}.segment", "a rung with a share names its segment")
        return Rung(segment=segment, share=self.fraction(share, f"{place}.share"))

    def drivers_plain(self, families: list[Family]) -> None:
        """A family segment's rule must read answers the generator can draw up front."""
        for family in families:
            for segment in family.segments:
                for code, _item in references(compile_expression(self.rules[segment])):
                    question = self.structure.questions[code]
                    if question.show_if is not None:
                        self.add(
                            f"segment_families: segment {segment}",
                            f"its rule reads {code}, which has a show_if; a ladder cannot "
                            "control a question that may be hidden",
                        )
                    if question.type == "text":
                        self.add(
                            f"segment_families: segment {segment}",
                            f"its rule reads the text question {code}",
                        )

    def drivers_shares_only(
        self, families: Sequence[Family], questions: Mapping[str, QuestionTargets]
    ) -> None:
        """The questions a ladder's rules read are drawn with the ladder, from shares only."""
        drivers = {
            code
            for family in families
            for segment in family.segments
            for code, _item in references(compile_expression(self.rules[segment]))
        }
        for code in sorted(drivers & set(questions)):
            targets = questions[code]
            by_segment = targets.segments.values()
            if (
                targets.by
                or targets.overall.mean is not None
                or any(t.mean is not None for t in by_segment)
            ):
                self.add(
                    f"questions.{code}",
                    "decides a segment of segment_families, so only its shares (overall and "
                    "by segment) can be targets, not means or breakdowns",
                )

    def questions(self, value: dict) -> dict[str, QuestionTargets]:
        result = {}
        for code, spec in value.items():
            place = f"questions.{code}"
            question = self.structure.questions.get(str(code))
            if question is None:
                self.add(place, "the questionnaire has no such question")
                continue
            if question.type not in TARGET_TYPES:
                kinds = "single, multiple and matrix questions"
                self.add(place, f"targets are for {kinds}, not {question.type}")
                continue
            spec = self.mapping(spec, place)
            for key in sorted(set(spec) - _QUESTION_KEYS, key=str):
                self.add(
                    f"{place}.{key}", f"unknown key (known: {', '.join(sorted(_QUESTION_KEYS))})"
                )
            trait = spec.get("trait")
            if trait is not None and trait not in TRAITS:
                self.add(f"{place}.trait", f"must be one of {', '.join(TRAITS)}, not {trait!r}")
            result[question.code] = QuestionTargets(
                code=question.code,
                trait=trait if trait in TRAITS else None,
                overall=self.target(question, spec, place),
                segments=self.segment_targets(question, spec.get("segments"), place),
                by=self.by_targets(question, spec.get("by"), place),
            )
        return result

    def segment_targets(self, question: QuestionDef, value: Any, place: str) -> dict:
        targets = {}
        for segment, spec in self.mapping(value, f"{place}.segments").items():
            where = f"{place}.segments.{segment}"
            if segment not in self.rules:
                self.add(where, "the questionnaire has no such segment")
                continue
            targets[segment] = self.target(question, self.mapping(spec, where), where)
        return targets

    def by_targets(self, question: QuestionDef, value: Any, place: str) -> dict:
        targets: dict[str, dict[str, Target]] = {}
        for code, per_option in self.mapping(value, f"{place}.by").items():
            where = f"{place}.by.{code}"
            banner = self.structure.questions.get(str(code))
            if banner is None or banner.type != "single" or banner.code == question.code:
                self.add(where, "must name another single question")
                continue
            targets[banner.code] = {}
            for option, spec in self.mapping(per_option, where).items():
                if str(option) not in banner.options:
                    self.add(f"{where}.{option}", f"{banner.code} has no option {option}")
                    continue
                at = f"{where}.{option}"
                targets[banner.code][str(option)] = self.target(
                    question, self.mapping(spec, at), at
                )
        return targets

    def target(
        self, question: QuestionDef, spec: dict, place: str, *, item: bool = False
    ) -> Target:
        for key in sorted(
            set(spec) & {"shares", "top2", "mean", "items"} - self.allowed(question, item)
        ):
            what = f"{question.type} {'item' if item else 'question'}"
            self.add(f"{place}.{key}", f"not a target for a {what}")
            spec = {k: v for k, v in spec.items() if k != key}
        shares = self.shares(question, spec.get("shares"), f"{place}.shares")
        top2 = None
        if "top2" in spec:
            top2 = self.fraction(spec["top2"], f"{place}.top2")
            if sum(o.score is not None for o in question.options.values()) < 2:
                self.add(f"{place}.top2", f"{question.code} has fewer than two scored points")
        mean = None
        if "mean" in spec:
            mean = self.mean(question, spec["mean"], f"{place}.mean")
        items = {}
        for code, item_spec in self.mapping(spec.get("items"), f"{place}.items").items():
            where = f"{place}.items.{code}"
            if str(code) not in question.items:
                self.add(where, f"{question.code} has no item {code}")
                continue
            items[str(code)] = self.target(
                question, self.mapping(item_spec, where), where, item=True
            )
        return Target(shares=shares, top2=top2, mean=mean, items=items)

    @staticmethod
    def allowed(question: QuestionDef, item: bool) -> set[str]:
        if question.type == "multiple":
            return {"shares"}
        if question.type == "single":
            return {"shares", "mean"}
        return {"shares", "top2", "mean"} if item else {"mean", "items"}

    def shares(self, question: QuestionDef, value: Any, place: str) -> dict[str, float]:
        shares = {}
        for code, share in self.mapping(value, place).items():
            if str(code) not in question.options:
                self.add(f"{place}.{code}", f"{question.code} has no option {code}")
                continue
            shares[str(code)] = self.fraction(share, f"{place}.{code}")
        if question.type != "multiple" and sum(shares.values()) > 1 + 1e-6:
            self.add(place, f"the shares add up to {sum(shares.values()):.4f}, more than 1")
        regular = sum(v for c, v in shares.items() if not question.options[c].exclusive)
        if question.type == "multiple" and question.max_choices and regular > question.max_choices:
            self.add(
                place,
                f"the shares add up to {regular:.4f}: more choices than max_choices "
                f"({question.max_choices}) allows",
            )
        return shares

    def mean(self, question: QuestionDef, value: Any, place: str) -> float | None:
        scores = [float(o.score) for o in question.options.values() if o.score is not None]
        number = _number(value)
        if not scores:
            self.add(place, f"{question.code} has no scores")
        elif number is None or not min(scores) < number < max(scores):
            self.add(place, f"{value!r} is outside the scores {min(scores):g} to {max(scores):g}")
        else:
            return number
        return None


# --- raking -----------------------------------------------------------------------------------

MAX_SWEEPS = 400
TOLERANCE = 1e-6  # stop when every target is met this closely
ACCEPTABLE = 2e-3  # after MAX_SWEEPS, a gap this small is rounding between near-equal targets


@dataclass(frozen=True)
class Variable:
    """One categorical answer: a single question, a matrix item, or one option of a multiple
    question (categories: chosen, not chosen)."""

    categories: tuple[str, ...]
    scores: tuple[float | None, ...]
    base: tuple[float, ...]


@dataclass(frozen=True)
class Constraint:
    """Over the respondents of ``groups`` (atom indexes): ``shares`` puts each share on its set
    of categories of the one variable; ``mean`` is the mean score averaged over ``variables``."""

    place: str
    groups: tuple[int, ...]
    variables: tuple[int, ...]
    shares: tuple[tuple[frozenset[int], float], ...] = ()
    mean: float | None = None


Distributions = list[list[list[float]]]  # [variable][atom][category]


def rake(
    *, variables: Sequence[Variable], weights: Sequence[int], constraints: Sequence[Constraint]
) -> Distributions:
    """Distributions per variable and atom (a group of ``weights[a]`` respondents) that meet
    every constraint, starting from each variable's base (so, the closest such to it).

    Raises ``CalibrationError`` naming a constraint that stays off when they cannot all hold.
    """
    raking = _Raking(variables, weights)
    if not constraints:
        return raking.dist
    for _sweep in range(MAX_SWEEPS):
        for constraint in constraints:
            if constraint.mean is None:
                raking.fit_shares(constraint)
            else:
                raking.fit_mean(constraint)
        if max(raking.gap(c) for c in constraints) < TOLERANCE:
            return raking.dist
    # Not met exactly: fine while every gap is below what one respondent more or less in the
    # group changes anyway (small groups), or plain rounding between near-equal targets.
    for constraint in constraints:
        gap = raking.gap(constraint)
        if gap > max(ACCEPTABLE, raking.one_respondent(constraint)):
            raise CalibrationError(
                [
                    f"{constraint.place}: the targets cannot all hold at once (this one stays "
                    f"{gap:.4f} off); leave one group of a breakdown without a target, or make "
                    "the overall and the group targets agree"
                ]
            )
    return raking.dist


class _Raking:
    """Iterative proportional fitting; means by exponential tilting of scores scaled to 0..1."""

    def __init__(self, variables: Sequence[Variable], weights: Sequence[int]) -> None:
        self.weights = weights
        self.dist: Distributions = [[list(v.base) for _ in weights] for v in variables]
        self.ranges: list[tuple[float, float]] = []
        self.units: list[list[float | None]] = []
        for variable in variables:
            scored = [s for s in variable.scores if s is not None] or [0.0]
            low, high = min(scored), max(scored)
            span = (high - low) or 1.0
            self.ranges.append((low, span))
            self.units.append([None if s is None else (s - low) / span for s in variable.scores])

    def shares(self, constraint: Constraint) -> list[float]:
        variable = self.dist[constraint.variables[0]]
        total = sum(self.weights[a] for a in constraint.groups)
        shares = [0.0] * len(variable[constraint.groups[0]])
        for a in constraint.groups:
            weight = self.weights[a]
            for k, p in enumerate(variable[a]):
                shares[k] += weight * p
        return [share / total for share in shares]

    def fit_shares(self, constraint: Constraint) -> None:
        current = self.shares(constraint)
        factors = [1.0] * len(current)
        covered: set[int] = set()
        for categories, share in constraint.shares:
            now = sum(current[k] for k in categories)
            for k in categories:
                factors[k] = share / now if now > 0 else 1.0
            covered |= categories
        rest_now = sum(p for k, p in enumerate(current) if k not in covered)
        rest_want = max(1.0 - sum(share for _c, share in constraint.shares), 0.0)
        for k in range(len(current)):
            if k not in covered:
                factors[k] = rest_want / rest_now if rest_now > 0 else 1.0
        variable = self.dist[constraint.variables[0]]
        for a in constraint.groups:
            variable[a] = _normalised([p * f for p, f in zip(variable[a], factors, strict=True)])

    def mean(self, constraint: Constraint, lam: float = 0.0) -> tuple[float, float]:
        """The group's mean score after tilting by ``lam``, and its derivative in ``lam``."""
        total = sum(self.weights[a] for a in constraint.groups)
        mean = slope = 0.0
        for v in constraint.variables:
            low, span = self.ranges[v]
            units = self.units[v]
            first = second = 0.0
            for a in constraint.groups:
                mass = m1 = m2 = 0.0
                for p, u in zip(self.dist[v][a], units, strict=True):
                    if u is not None:
                        w = p * math.exp(lam * u)
                        mass += w
                        m1 += w * u
                        m2 += w * u * u
                if mass > 0:
                    first += self.weights[a] * m1 / mass
                    second += self.weights[a] * (m2 / mass - (m1 / mass) ** 2)
            mean += low + span * first / total
            slope += span * second / total
        count = len(constraint.variables)
        return mean / count, slope / count

    def fit_mean(self, constraint: Constraint) -> None:
        """Tilt the group's distributions so that their mean score is the target: Newton's
        method on the tilt, kept inside a shrinking bracket."""
        assert constraint.mean is not None
        low, high, lam = -60.0, 60.0, 0.0
        for _step in range(60):
            value, slope = self.mean(constraint, lam)
            error = value - constraint.mean
            if abs(error) < 1e-12:
                break
            if error < 0:
                low = lam
            else:
                high = lam
            step = lam - error / slope if slope > 1e-12 else (low + high) / 2
            lam = step if low < step < high else (low + high) / 2
        for v in constraint.variables:
            units = self.units[v]
            tilt = [1.0 if u is None else math.exp(lam * u) for u in units]
            for a in constraint.groups:
                self.dist[v][a] = _normalised(
                    [p * t for p, t in zip(self.dist[v][a], tilt, strict=True)]
                )

    def one_respondent(self, constraint: Constraint) -> float:
        """How much one respondent moves the constrained figure of the group."""
        size = sum(self.weights[a] for a in constraint.groups)
        span = self.ranges[constraint.variables[0]][1] if constraint.mean is not None else 1.0
        return span / size if size else math.inf

    def gap(self, constraint: Constraint) -> float:
        if constraint.mean is not None:
            return abs(self.mean(constraint)[0] - constraint.mean)
        current = self.shares(constraint)
        return max(abs(sum(current[k] for k in cats) - share) for cats, share in constraint.shares)


def _normalised(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values] if total > 0 else values


# --- rounding ---------------------------------------------------------------------------------


def quota(count: int, probabilities: Sequence[float], rng: random.Random) -> list[int]:
    """Whole counts for ``count`` respondents over ``probabilities`` that add up to ``count``,
    each the floor or ceiling of its expectation, unbiased (systematic rounding, random start)."""
    total = sum(probabilities)
    if count <= 0 or total <= 0:
        return [0] * len(probabilities)
    start = rng.random()
    counts, cumulative, before = [], 0.0, 0
    for p in probabilities:
        cumulative += count * p / total
        upto = min(count, max(0, math.ceil(cumulative - start - 1e-9)))
        counts.append(upto - before)
        before = upto
    counts[-1] += count - before
    return counts


def quotas(
    sizes: Sequence[int], distributions: Sequence[Sequence[float]], rng: random.Random
) -> list[list[int]]:
    """Whole counts per group (``sizes[a]`` respondents over ``distributions[a]``), each group's
    adding up to its size, with the rounding carried from group to group: over any run of
    consecutive groups every category's count is within about one of its expectation, so many
    small groups do not add up their rounding."""
    if not sizes:
        return []
    carry = [rng.random() - 0.5 for _ in distributions[0]]
    shift = sum(carry) / len(carry)
    carry = [c - shift for c in carry]
    result = []
    for size, probabilities in zip(sizes, distributions, strict=True):
        total = sum(probabilities) or 1.0
        expected = [size * p / total + c for p, c in zip(probabilities, carry, strict=True)]
        counts = _round_to(expected, size)
        carry = [e - n for e, n in zip(expected, counts, strict=True)]
        result.append(counts)
    return result


def _round_to(expected: Sequence[float], size: int) -> list[int]:
    """Non-negative integers adding up to ``size``, as close to ``expected`` as rounding allows."""
    counts = [max(0, math.floor(e)) for e in expected]
    order = sorted(range(len(expected)), key=lambda k: counts[k] - expected[k])
    missing = size - sum(counts)
    for k in order[:missing] if missing > 0 else ():
        counts[k] += 1
    for k in reversed(order) if missing < 0 else ():
        if missing == 0:
            break
        if counts[k] > 0:
            counts[k] -= 1
            missing += 1
    return counts
