"""Generated responses for any questionnaire: demo data, load, and a check of the analysis.

``responses_generate`` plans N respondents with the latent-trait model of
``demo.model`` (calibrated by a ``wenji-calibration/1`` file when one is
given) and submits every one through ``response_submit`` (channel ``import``), so validation,
identities and validity marks are the real ones.

Promises:
- Every planned response is accepted by ``response_submit``: answers respect show_if,
  required, min/max choices, exclusive options and ranges. A refusal is a bug and raises
  ``GenerateError`` naming the response and the problem.
- Some responses break the questionnaire's ``invalidate`` rules on purpose, in the proportion
  ``invalid_rate`` (default: the calibration's valid rate, else 8%): speeders (under a quarter
  of the median time), attention-check failures and duplicates (a respondent submitting
  again later). Everyone else passes every ``invalidate`` rule, so after the analysis'
  validity recompute exactly the planned number is valid. A few valid respondents
  straight-line checked matrices (the ``flag`` rule).
- Times spread over a three-week collection ending at ``period_end`` (now by default), busier
  at first and by day, with log-normal durations around a median that grows with the
  questionnaire's length (about 8 minutes for 25 questions).
- The same questionnaire definition, count, seed, calibration and ``period_end`` give the same
  responses. Submission ids and respondent identities derive from the slug and the seed, so
  running the same seed again adds nothing (each submission is found and returned), and a run
  that stopped half-way is completed by running it again.
- Batches of ``BATCH_SIZE`` submissions share one transaction (one commit, not hundreds).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from demo.calibration import Calibration, calibration_load
from demo.draws import (
    ATTENTION,
    DUPLICATE,
    SPEEDER,
    VALID,
    Member,
    Model,
    population,
)
from demo.model import answers_draw
from survey.expressions import ExpressionError, compile_expression
from survey.models import Questionnaire, Response, Segment, ValidityRule
from survey.services.identity import Identity
from survey.services.responses import SubmissionError, response_submit
from survey.structure import Structure, structure_for

DEFAULT_INVALID_RATE = 0.08
DEFAULT_STRAIGHTLINERS = 0.02
DEFAULT_CORRELATION = 0.35
COLLECTION_DAYS = 21
BATCH_SIZE = 250
# Submissions by hour of the day (local time): mornings, afternoons and evenings.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 6, 4, 5, 6, 6, 5, 4, 4, 5, 6, 5, 3, 2)
SUBMISSION_NAMESPACE = uuid.UUID("5b0f6a52-8f3e-4c51-9d0e-7f2f4d1e6a10")

ProgressCallback = Callable[[int, int], None]


class GenerateError(Exception):
    """Generation could not start or a generated response was refused (a bug: see message)."""


@dataclass(frozen=True)
class PlannedResponse:
    kind: str  # VALID, SPEEDER, ATTENTION or DUPLICATE
    respondent: str  # the raw identity (a collector key)
    answers: dict[str, Any]
    submission_id: uuid.UUID
    started_at: datetime
    submitted_at: datetime


@dataclass(frozen=True)
class GenerateResult:
    planned: int
    created: int
    existing: int  # found already stored (the same seed ran before)
    kinds: dict[str, int]  # planned responses by kind
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    submission_ids: list[uuid.UUID] = field(default_factory=list)  # in submission order


def segment_rules(*, questionnaire: Questionnaire, structure: Structure) -> dict[str, str]:
    """Segment code → rule, for the rules that still fit the questionnaire."""
    specs = structure.question_specs()
    rules = {}
    for code, rule in Segment.objects.filter(questionnaire=questionnaire).values_list(
        "code", "rule"
    ):
        try:
            compile_expression(rule, specs)
        except ExpressionError:
            continue
        rules[code] = rule
    return rules


def calibration_read(*, questionnaire: Questionnaire, path: Path) -> Calibration:
    """Load and check a calibration file for ``questionnaire``.

    Raises ``CalibrationError`` (every problem, by place) or ``OSError``.
    """
    structure = structure_for(questionnaire)
    rules = segment_rules(questionnaire=questionnaire, structure=structure)
    return calibration_load(
        text=path.read_bytes(), filename=path.name, structure=structure, rules=rules
    )


def responses_generate(
    *,
    questionnaire: Questionnaire,
    count: int,
    seed: int,
    calibration: Calibration | None = None,
    invalid_rate: float | None = None,
    period_end: datetime | None = None,
    on_progress: ProgressCallback | None = None,
) -> GenerateResult:
    """Plan ``count`` responses and submit them; see the module docstring for the promises.

    ``invalid_rate``: the share meant to be invalid (None: automatic). ``on_progress(done,
    total)`` is called after every submission. Raises ``GenerateError`` (the questionnaire is
    not open, a bad count or rate, or a refused submission) and ``CalibrationError``.
    """
    started = time.perf_counter()
    if questionnaire.status != Questionnaire.Status.OPEN:
        raise GenerateError(
            f"{questionnaire.slug} is {questionnaire.status}: publish it before generating"
        )
    structure = structure_for(questionnaire)
    plan, notes = responses_plan(
        structure=structure,
        rules=segment_rules(questionnaire=questionnaire, structure=structure),
        count=count,
        seed=seed,
        calibration=calibration,
        invalid_rate=invalid_rate,
        period_end=period_end or timezone.now().replace(second=0, microsecond=0),
        language="zh" if str((questionnaire.languages or ["zh"])[0]).startswith("zh") else "en",
    )
    created = _submit(questionnaire, plan, on_progress)
    kinds: dict[str, int] = {}
    for planned in plan:
        kinds[planned.kind] = kinds.get(planned.kind, 0) + 1
    return GenerateResult(
        planned=len(plan),
        created=created,
        existing=len(plan) - created,
        kinds=kinds,
        notes=notes,
        seconds=time.perf_counter() - started,
        submission_ids=[planned.submission_id for planned in plan],
    )


def _submit(
    questionnaire: Questionnaire, plan: list[PlannedResponse], on_progress: ProgressCallback | None
) -> int:
    created = 0
    for start in range(0, len(plan), BATCH_SIZE):
        with transaction.atomic():
            for number, planned in enumerate(plan[start : start + BATCH_SIZE], start + 1):
                try:
                    result = response_submit(
                        questionnaire=questionnaire,
                        answers=planned.answers,
                        submission_id=planned.submission_id,
                        channel=Response.Channel.IMPORT,
                        identity=Identity(kind="collector", raw=planned.respondent),
                        started_at=planned.started_at,
                        submitted_at=planned.submitted_at,
                    )
                except SubmissionError as error:
                    raise GenerateError(
                        f"generated response {number} ({planned.kind}) was refused: "
                        f"{error.message} {error.fields} (answers: {planned.answers})"
                    ) from error
                created += result.created
                if on_progress is not None:
                    on_progress(number, len(plan))
    return created


# --- planning ---------------------------------------------------------------------------------


def responses_plan(
    *,
    structure: Structure,
    rules: Mapping[str, str],
    count: int,
    seed: int,
    calibration: Calibration | None = None,
    invalid_rate: float | None = None,
    period_end: datetime,
    language: str = "zh",
) -> tuple[list[PlannedResponse], list[str]]:
    """The responses to submit, in submission order, and notes on what could not be done.

    Pure: reads nothing from the database. Raises ``GenerateError`` for a bad count or rate
    and ``CalibrationError`` when the calibration's targets cannot be met.
    """
    if count < 1:
        raise GenerateError(f"the number of responses must be at least 1, not {count}")
    if invalid_rate is not None and not 0 <= invalid_rate <= 0.5:
        raise GenerateError(f"the invalid rate must be from 0 to 0.5, not {invalid_rate}")
    rng = random.Random(seed)
    kinds, notes = _kind_counts(structure, count, calibration, invalid_rate)
    correlation = DEFAULT_CORRELATION
    if calibration is not None and calibration.trait_correlation is not None:
        correlation = calibration.trait_correlation
    sequence = [VALID] * kinds[VALID] + [SPEEDER] * kinds[SPEEDER] + [ATTENTION] * kinds[ATTENTION]
    members = population(kinds=sequence, correlation=correlation, rng=rng)
    _mark_straightliners(members, calibration)
    compiled = {code: compile_expression(rule) for code, rule in rules.items()}
    model = Model(structure, compiled, calibration, rng, language)
    answers_draw(model=model, members=members)
    clock = _Clock(rng, period_end, median=_median_seconds(structure))
    plan = [_planned(structure, seed, member, clock) for member in members]
    valid = plan[: kinds[VALID]]
    # Originals with room for a later repeat (computed once: per duplicate it was quadratic).
    room = [p for p in valid if clock.end - p.submitted_at >= timedelta(hours=1)] or valid
    for number in range(kinds[DUPLICATE]):
        plan.append(_duplicate(structure, seed, number, room, clock))
    plan.sort(key=lambda p: p.submitted_at)
    return plan, notes


def _available_kinds(structure: Structure) -> list[str]:
    """The invalid kinds this questionnaire's rules turn into invalid responses."""
    invalidates = {
        kind
        for kind, (action, _params) in structure.validity.items()
        if action == ValidityRule.Action.INVALIDATE
    }
    available = []
    if ValidityRule.Kind.SPEEDER in invalidates:
        available.append(SPEEDER)
    if ValidityRule.Kind.ATTENTION in invalidates and any(
        q.attention_expect and q.show_if is None for q in structure.questions.values()
    ):
        available.append(ATTENTION)
    if (
        ValidityRule.Kind.DUPLICATE in invalidates
        and structure.one_response_per == Questionnaire.OneResponsePer.RESPONDENT
    ):
        available.append(DUPLICATE)
    return available


def _kind_counts(
    structure: Structure, count: int, calibration: Calibration | None, invalid_rate: float | None
) -> tuple[dict[str, int], list[str]]:
    notes: list[str] = []
    if invalid_rate is None:
        invalid_rate = DEFAULT_INVALID_RATE
        if calibration is not None and calibration.valid_rate is not None:
            invalid_rate = 1 - calibration.valid_rate
    available = _available_kinds(structure)
    invalid = min(round(count * invalid_rate), count - 1)
    if invalid and not available:
        notes.append(
            "no invalid responses: the questionnaire has no speeder, attention or duplicate "
            "rule that invalidates"
        )
        invalid = 0
    mix = dict(calibration.invalid_mix) if calibration and calibration.invalid_mix else {}
    weights = {kind: mix.get(kind, 0.0 if mix else 1.0) for kind in available}
    if not sum(weights.values()) > 0:
        weights = dict.fromkeys(available, 1.0)
    counts = dict.fromkeys((VALID, SPEEDER, ATTENTION, DUPLICATE), 0)
    counts.update(_largest_remainder(invalid, weights))
    counts[VALID] = count - invalid
    return counts, notes


def _largest_remainder(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    whole = sum(weights.values())
    if not total or not whole:
        return {}
    exact = {kind: total * weight / whole for kind, weight in weights.items()}
    counts = {kind: math.floor(value) for kind, value in exact.items()}
    by_remainder = sorted(exact, key=lambda kind: counts[kind] - exact[kind])
    for kind in by_remainder[: total - sum(counts.values())]:
        counts[kind] += 1
    return counts


def _mark_straightliners(members: list[Member], calibration: Calibration | None) -> None:
    """The least careful valid respondents straight-line the checked matrices."""
    share = DEFAULT_STRAIGHTLINERS
    if calibration is not None and calibration.straightliners is not None:
        share = calibration.straightliners
    valid = [m for m in members if m.kind == VALID]
    for member in sorted(valid, key=lambda m: m.care)[: round(share * len(valid))]:
        member.straightliner = True
    for member in members:
        if member.kind == SPEEDER and member.care < 0:
            member.straightliner = True  # speeders click through


def _median_seconds(structure: Structure) -> float:
    return min(max(20.0 * len(structure.questions), 60.0), 1800.0)


class _Clock:
    """Submission times over the collection period and completion durations."""

    def __init__(self, rng: random.Random, period_end: datetime, median: float) -> None:
        self.rng = rng
        self.end = period_end
        local = timezone.localtime(period_end) if timezone.is_aware(period_end) else period_end
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self.first_day = midnight - timedelta(days=COLLECTION_DAYS - 1)
        self.median = median
        # Busiest when the questionnaire goes out, then a long tail of late answers.
        self.day_weights = [math.exp(-day / 6) + 0.25 for day in range(COLLECTION_DAYS)]

    def submitted_at(self) -> datetime:
        while True:
            day = self.rng.choices(range(COLLECTION_DAYS), weights=self.day_weights)[0]
            hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            moment = self.first_day + timedelta(
                days=day, hours=hour, seconds=self.rng.uniform(0, 3600)
            )
            if moment <= self.end:
                return moment.replace(microsecond=0)

    def duration(self, kind: str) -> timedelta:
        if kind == SPEEDER:
            seconds = self.median * self.rng.uniform(0.08, 0.25)
        else:
            spread = math.exp(0.45 * self.rng.gauss(0, 1))
            seconds = self.median * min(max(spread, 0.45), 6.0)
        return timedelta(seconds=round(seconds))


def _submission_id(structure: Structure, seed: int, name: str) -> uuid.UUID:
    return uuid.uuid5(SUBMISSION_NAMESPACE, f"{structure.slug}/{seed}/{name}")


def _planned(structure: Structure, seed: int, member: Member, clock: _Clock) -> PlannedResponse:
    submitted_at = clock.submitted_at()
    return PlannedResponse(
        kind=member.kind,
        respondent=f"generated/{structure.slug}/{seed}/{member.index}",
        answers=member.answers,
        submission_id=_submission_id(structure, seed, str(member.index)),
        started_at=submitted_at - clock.duration(member.kind),
        submitted_at=submitted_at,
    )


def _duplicate(
    structure: Structure, seed: int, number: int, room: list[PlannedResponse], clock: _Clock
) -> PlannedResponse:
    """A valid respondent of ``room`` submitting the same answers again, minutes to days later."""
    original = clock.rng.choice(room)
    later = timedelta(seconds=clock.rng.uniform(600, 3 * 86400))
    submitted_at = min(original.submitted_at + later, clock.end)
    if submitted_at <= original.submitted_at:
        submitted_at = original.submitted_at + timedelta(seconds=1)
    return PlannedResponse(
        kind=DUPLICATE,
        respondent=original.respondent,
        answers=deepcopy(original.answers),
        submission_id=_submission_id(structure, seed, f"again-{number}"),
        started_at=submitted_at - clock.duration(DUPLICATE),
        submitted_at=submitted_at,
    )
