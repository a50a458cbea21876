"""The latent-trait model behind generated responses: who the respondents are and what they answer.

Every respondent has three latent traits (standard normal): ``engagement`` (how much they use
and take part), ``positivity`` (how favourably they rate; correlated with engagement) and
``care`` (how much they write in optional boxes). Answers follow the traits:

- scored ``single`` and ``matrix`` questions: respondents are ranked on a noisy copy of the
  trait and the options handed out in score order, in the counts the answer distribution
  gives. This is an ordered-probit model (cut points at the distribution's quantiles) with
  the sampling noise taken out: counts are rounded, not drawn. A matrix's items share a
  per-respondent component as well, so items correlate and some respondents straight-line.
- unscored ``single`` questions (demographics): the same, weakly tied to a trait through a
  seeded option order, so breakdowns differ plausibly.
- ``multiple``: each option is chosen by as many respondents as its rate gives, the most
  engaged first, never more than ``max_choices`` and at least one (or ``min_choices``) each;
  an ``exclusive`` option is chosen alone.
- numbers: a log-normal (wide ranges) or a normal quantile (narrow ones) of engagement,
  within [min, max]; text: sometimes, from a small phrase list; optional questions are
  sometimes skipped; ``show_if`` is respected (only visible questions are answered).

Without a calibration the distributions come from the scores (a softmax leaning positive)
or from seeded weights. With one (``demo.calibration``), each question's distributions
per group of respondents are raked to its targets, and the segment ladders decide
membership first: the questions a family segment's rule reads are drawn to fit it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from demo.calibration import (
    CalibrationError,
    Constraint,
    Family,
    QuestionTargets,
    Target,
    Variable,
    quota,
    quotas,
    rake,
)
from demo.draws import (
    ATTENTION,
    OTHER_PHRASES,
    VALID,
    Member,
    Model,
    base_distributions,
    complete,
    draw_one,
    free_answer,
    put,
    put_in,
    top2_codes,
    unit_score,
)
from survey.expressions import evaluate, references
from survey.services.answers import OTHER_SUFFIX
from survey.structure import QuestionDef

SKIP_OPTIONAL = 0.04  # share of respondents skipping an optional (non-text) question
OTHER_TEXT = 0.6  # share of "other" texts drawn at random (the rest: the first phrases, in turn)
# A matrix item's ranking: the trait, the respondent's own style in this matrix, and noise.
# Items correlate about ITEM_TRAIT² + ITEM_SHARED². Kept low: with items as lopsided as the
# report's (80-88% in the top two points) about one respondent in ten already answers every
# item alike, which the straight-lining rule flags.
ITEM_TRAIT, ITEM_SHARED = 0.25, 0.1
MAX_TRIES = 5000  # attempts to draw a segment's defining answers before giving up
MAX_COMBINATIONS = 4096  # defining single questions enumerated together, at most


def answers_draw(*, model: Model, members: Sequence[Member]) -> None:
    """Fill every member's ``answers``: the ladder-defining questions first, then the rest
    question by question, then a final pass that makes each answers object consistent."""
    drivers: set[str] = set()
    valid = [m for m in members if m.kind == VALID]
    if model.calibration and model.calibration.families:
        for family in model.calibration.families:
            _climb_ladder(model, family, valid)
        drivers = _drivers(model)
        _draw_drivers(model, members, drivers)
    for question in processing_order(model, drivers):
        _answer_column(model, question, members)
    for member in members:
        _settle(model, member)


def _drivers(model: Model) -> set[str]:
    assert model.calibration is not None
    return {
        code
        for family in model.calibration.families
        for segment in family.segments
        for code, _item in references(model.rules[segment])
    }


def processing_order(model: Model, drivers: set[str]) -> list[QuestionDef]:
    """The questions other than ``drivers`` in questionnaire order, except that a question comes
    after those its show_if, its calibration breakdowns (``by``) and its target segments'
    rules read."""
    questions = [q for q in model.structure.questions.values() if q.code not in drivers]
    needs = {q.code: _needs(model, q) - drivers - {q.code} for q in questions}
    done: set[str] = set(drivers)
    order: list[QuestionDef] = []
    while len(order) < len(questions):
        ready = [q for q in questions if q.code not in done and needs[q.code] <= done]
        if not ready:
            stuck = sorted(q.code for q in questions if q.code not in done)
            raise CalibrationError(
                [f"questions: {', '.join(stuck)} depend on each other's answers in a circle"]
            )
        order.append(ready[0])
        done.add(ready[0].code)
    return order


def _needs(model: Model, question: QuestionDef) -> set[str]:
    needs = {code for code, _item in references(question.show_if)} if question.show_if else set()
    targets = model.targets(question.code)
    if targets is not None:
        needs |= set(targets.by)
        for segment in targets.segments:
            needs |= {code for code, _item in references(model.rules[segment])}
    return needs


# --- ladders and the questions that define segments ------------------------------------------


def _climb_ladder(model: Model, family: Family, valid: Sequence[Member]) -> None:
    """Hand out the family's segments down the ranking of a noisy trait: exact sizes."""
    ranked = sorted(valid, key=lambda m: -model.key(m, family.trait, 0.9))
    wanted = [
        round(rung.share * len(valid)) if rung.share is not None else 0 for rung in family.ladder
    ]
    rest = max(0, len(valid) - sum(wanted))
    sizes = [
        rest if rung.share is None else w for w, rung in zip(wanted, family.ladder, strict=True)
    ]
    start = 0
    for rung, size in zip(family.ladder, sizes, strict=True):
        for member in ranked[start : start + size]:
            if rung.segment:
                member.segments = member.segments | {rung.segment}
        start += size


def _components(model: Model) -> list[tuple[frozenset[str], list[str]]]:
    """Family segments that must be drawn together (same family, or a shared question), with
    the questions their rules read, in questionnaire order."""
    assert model.calibration is not None
    groups: list[tuple[set[str], set[str]]] = []
    for family in model.calibration.families:
        segments = set(family.segments)
        codes = {c for s in segments for c, _i in references(model.rules[s])}
        for other in [g for g in groups if g[1] & codes]:
            groups.remove(other)
            segments |= other[0]
            codes |= other[1]
        groups.append((segments, codes))
    position = {code: i for i, code in enumerate(model.structure.questions)}
    return [(frozenset(s), sorted(c, key=position.__getitem__)) for s, c in groups]


def _draw_drivers(model: Model, members: Sequence[Member], drivers: set[str]) -> None:
    valid = [m for m in members if m.kind == VALID]
    for segments, codes in _components(model):
        questions = [model.structure.questions[c] for c in codes]
        combinations = math.prod(len(q.options) for q in questions)
        if all(q.type == "single" for q in questions) and combinations <= MAX_COMBINATIONS:
            _enumerate_drivers(model, valid, segments, questions)
        else:
            for member in valid:
                _reject_drivers(model, member, segments, questions)
    for member in members:
        if member.kind != VALID:
            for code in sorted(drivers):
                question = model.structure.questions[code]
                base = base_distributions(model, question)
                if question.type == "single":
                    base = [_driver_probs(model, question, frozenset())]
                put(member, question, draw_one(model, question, member, base))


def _pattern(model: Model, segments: frozenset[str], answers: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(s for s in segments if evaluate(model.rules[s], answers))


def _driver_probs(model: Model, question: QuestionDef, cell: frozenset[str]) -> list[float]:
    """A defining question's distribution for respondents in ``cell``: the target of the first
    of its segments with one, else the overall target, else the model's base."""
    base = base_distributions(model, question)[0]
    targets = model.targets(question.code)
    if targets is None:
        return base
    for segment, target in targets.segments.items():
        if segment in cell and target.shares:
            return complete(question, target.shares, base)
    return complete(question, targets.overall.shares, base) if targets.overall.shares else base


def _enumerate_drivers(
    model: Model, valid: Sequence[Member], segments: frozenset[str], questions: list[QuestionDef]
) -> None:
    """Every combination of answers, weighted within each cell and rounded to counts."""
    combos = list(itertools.product(*[list(q.options.values()) for q in questions]))
    patterns = [
        _pattern(model, segments, {q.code: o.value for q, o in zip(questions, c, strict=True)})
        for c in combos
    ]
    cells: dict[frozenset[str], list[Member]] = {}
    for member in valid:
        cells.setdefault(member.segments & segments, []).append(member)
    # Lowest-scored combinations first, for the least positive respondents.
    order = sorted(range(len(combos)), key=lambda i: _combo_score(questions, combos[i]))
    for cell, group in sorted(cells.items(), key=lambda kv: sorted(kv[0])):
        probs = [
            dict(zip(q.options, _driver_probs(model, q, cell), strict=True)) for q in questions
        ]
        weights = [
            math.prod(p[o.code] for p, o in zip(probs, combo, strict=True))
            if pattern == cell
            else 0.0
            for combo, pattern in zip(combos, patterns, strict=True)
        ]
        if not sum(weights) > 0:
            raise CalibrationError([_no_fit(questions, cell)])
        counts = quota(len(group), weights, model.rng)
        ranked = sorted(group, key=lambda m: model.key(m, "positivity", 0.6))
        start = 0
        for i in order:
            for member in ranked[start : start + counts[i]]:
                for question, option in zip(questions, combos[i], strict=True):
                    member.answers[question.code] = option.value
            start += counts[i]


def _combo_score(questions: Sequence[QuestionDef], combo: Sequence[Any]) -> float:
    return sum(
        unit_score(option.score, question.options.values())
        for question, option in zip(questions, combo, strict=True)
    )


def _no_fit(questions: Sequence[QuestionDef], cell: frozenset[str]) -> str:
    where = ", ".join(sorted(cell)) or "none of the family segments"
    codes = ", ".join(q.code for q in questions)
    return (
        f"segment_families: no answers to {codes} put a respondent in {where}; the segment "
        "rules and the ladders do not fit together"
    )


def _reject_drivers(
    model: Model, member: Member, segments: frozenset[str], questions: list[QuestionDef]
) -> None:
    """Draw the defining answers from the model until they give the member's segments."""
    cell = member.segments & segments
    bases = {q.code: base_distributions(model, q) for q in questions}
    for q in questions:
        if q.type == "single":
            bases[q.code] = [_driver_probs(model, q, cell)]
    for _try in range(MAX_TRIES):
        trial: dict[str, Any] = {}
        for question in questions:
            put_in(trial, question, draw_one(model, question, member, bases[question.code]))
        if _pattern(model, segments, trial) == cell:
            member.answers.update(trial)
            return
    raise CalibrationError([_no_fit(questions, cell) + f" (in {MAX_TRIES} tries)"])


# --- one question for everyone ----------------------------------------------------------------


def _earlier(model: Model, question: QuestionDef, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to questions before ``question``: what the form's show_if sees."""
    before = {}
    for code in model.structure.questions:
        if code == question.code:
            break
        if code in answers:
            before[code] = answers[code]
    return before


def _visible(model: Model, question: QuestionDef, member: Member) -> bool:
    if question.show_if is None:
        return True
    return evaluate(question.show_if, _earlier(model, question, member.answers))


def _answer_column(model: Model, question: QuestionDef, members: Sequence[Member]) -> None:
    skip = not question.required and question.type != "text" and not question.attention_expect
    asked = [
        m
        for m in members
        if _visible(model, question, m) and not (skip and model.rng.random() < SKIP_OPTIONAL)
    ]
    if not asked:
        return
    if question.attention_expect:
        _attention_column(model, question, asked)
    elif question.type in _ALLOCATE:
        _choice_column(model, question, asked)
    else:
        for member in asked:
            put(member, question, free_answer(model, question, member))


def _attention_column(model: Model, question: QuestionDef, members: Sequence[Member]) -> None:
    expected = question.options[question.attention_expect]
    wrong = [o for o in question.options.values() if o.code != expected.code]
    for member in members:
        failing = member.kind == ATTENTION and wrong
        member.answers[question.code] = model.rng.choice(wrong).value if failing else expected.value


@dataclass(frozen=True)
class _AtomKey:
    """Respondents whose answers to a question are fitted together: the same kind (meant
    valid or not), the same target segments, the same answers to the ``by`` questions."""

    valid: bool
    segments: frozenset[str]
    by: tuple[str, ...]


def _choice_column(model: Model, question: QuestionDef, members: Sequence[Member]) -> None:
    """Rake the question's distributions per group to its targets, round them to counts and
    hand the options out within each group."""
    targets = model.targets(question.code)
    atoms: dict[_AtomKey, list[Member]] = {}
    for member in members:
        atoms.setdefault(_atom_key(model, targets, member), []).append(member)
    # Groups of the same segments side by side: their rounding is carried from one to the next.
    keys = sorted(atoms, key=lambda k: (not k.valid, sorted(k.segments), k.by))
    variables = _variables(model, question, targets)
    constraints = _constraints(question, targets, keys) if targets else []
    sizes = [len(atoms[k]) for k in keys]
    dist = rake(variables=variables, weights=sizes, constraints=constraints)
    counts = [quotas(sizes, per_atom, model.rng) for per_atom in dist]  # [variable][atom]
    trait = (targets.trait if targets else None) or _default_trait(question)
    for a, key in enumerate(keys):
        atom_counts = [[*variable[a]] for variable in counts]
        _ALLOCATE[question.type](model, question, atoms[key], atom_counts, trait)
    _other_texts(model, question, members)


def _default_trait(question: QuestionDef) -> str:
    return "engagement" if question.type == "multiple" else "positivity"


def _atom_key(model: Model, targets: QuestionTargets | None, member: Member) -> _AtomKey:
    if targets is None or member.kind != VALID:
        return _AtomKey(member.kind == VALID, frozenset(), ())
    segments = frozenset(s for s in targets.segments if evaluate(model.rules[s], member.answers))
    by = tuple(str(member.answers.get(code)) for code in targets.by)
    return _AtomKey(True, segments, by)


def _variables(
    model: Model, question: QuestionDef, targets: QuestionTargets | None
) -> list[Variable]:
    base = base_distributions(model, question)
    options = list(question.options.values())
    scores = tuple(None if o.score is None else float(o.score) for o in options)
    codes = tuple(question.options)
    overall = targets.overall if targets else Target()
    if question.type == "multiple":
        return [
            Variable(("1", "0"), (None, None), _rate(overall.shares.get(o.code, b[0])))
            for o, b in zip(options, base, strict=True)
        ]
    if question.type == "matrix":
        items = overall.items
        return [
            Variable(
                codes, scores, tuple(complete(question, items[i].shares, b) if i in items else b)
            )
            for i, b in zip(question.items, base, strict=True)
        ]
    return [Variable(codes, scores, tuple(complete(question, overall.shares, base[0])))]


def _rate(rate: float) -> tuple[float, float]:
    rate = min(max(rate, 1e-6), 1 - 1e-6)  # raking scales what is there: keep both sides
    return (rate, 1 - rate)


def _constraints(
    question: QuestionDef, targets: QuestionTargets, keys: Sequence[_AtomKey]
) -> list[Constraint]:
    valid = tuple(a for a, k in enumerate(keys) if k.valid)
    place = f"questions.{question.code}"
    found = _target_constraints(question, targets.overall, valid, place)
    for segment, target in targets.segments.items():
        groups = tuple(a for a in valid if segment in keys[a].segments)
        found += _target_constraints(question, target, groups, f"{place}.segments.{segment}")
    for position, (code, per_option) in enumerate(targets.by.items()):
        for option, target in per_option.items():
            groups = tuple(a for a in valid if keys[a].by[position] == option)
            found += _target_constraints(question, target, groups, f"{place}.by.{code}.{option}")
    return found


def _target_constraints(
    question: QuestionDef, target: Target, groups: tuple[int, ...], place: str
) -> list[Constraint]:
    if not groups:
        return []  # nobody in this group answered: nothing to fit
    index = {code: k for k, code in enumerate(question.options)}
    found = []
    if question.type == "multiple":
        for code, share in target.shares.items():
            only = ((frozenset({0}), share),)
            found.append(Constraint(f"{place}.shares.{code}", groups, (index[code],), only))
        return found
    if question.type == "single":
        variables: list[tuple[int, Target, str]] = [(0, target, place)]
    else:
        items = list(question.items)
        variables = [(items.index(i), t, f"{place}.items.{i}") for i, t in target.items.items()]
        if target.mean is not None:
            every = tuple(range(len(items)))
            found.append(Constraint(f"{place}.mean", groups, every, mean=target.mean))
    for variable, item_target, where in variables:
        shares = [(frozenset({index[c]}), s) for c, s in item_target.shares.items()]
        if item_target.top2 is not None:
            shares.append((frozenset(index[c] for c in top2_codes(question)), item_target.top2))
        if shares:
            found.append(Constraint(f"{where}.shares", groups, (variable,), tuple(shares)))
        if item_target.mean is not None:
            found.append(Constraint(f"{where}.mean", groups, (variable,), mean=item_target.mean))
    return found


# --- handing out options ----------------------------------------------------------------------


def _score_order(model: Model, question: QuestionDef) -> list[int]:
    """Option indexes from the lowest score up; unscored questions: a seeded order."""
    options = list(question.options.values())
    key = f"order:{question.code}"
    if key not in model.memo:
        scores = [None if o.score is None else float(o.score) for o in options]
        known = [score for score in scores if score is not None]
        if known:
            middle = sum(known) / len(known)  # an unscored option sits mid-scale
            order = sorted(
                range(len(options)), key=lambda i: middle if scores[i] is None else scores[i]
            )
        else:
            order = list(range(len(options)))
            model.rng.shuffle(order)
        model.memo[key] = order
    return model.memo[key]


def _rho(question: QuestionDef) -> float:
    return 0.6 if any(o.score is not None for o in question.options.values()) else 0.25


def _allocate_single(
    model: Model,
    question: QuestionDef,
    members: Sequence[Member],
    counts: list[list[int]],
    trait: str,
) -> None:
    """The lowest-ranked respondents get the lowest-scored option, and so on up."""
    ranked = sorted(members, key=lambda m: model.key(m, trait, _rho(question)))
    values = [o.value for o in question.options.values()]
    start = 0
    for k in _score_order(model, question):
        for member in ranked[start : start + counts[0][k]]:
            member.answers[question.code] = values[k]
        start += counts[0][k]


def _allocate_matrix(
    model: Model,
    question: QuestionDef,
    members: Sequence[Member],
    counts: list[list[int]],
    trait: str,
) -> None:
    """Straight-liners take one point on every item first; the rest are ranked item by item."""
    values = [o.value for o in question.options.values()]
    items = list(question.items)
    cells: dict[int, dict[str, Any]] = {m.index: {} for m in members}
    rest = []
    for member in members:
        point = _common_point(counts) if member.straightliner else None
        if point is None or not question.straightlining_check:
            rest.append(member)
            continue
        for item, item_counts in zip(items, counts, strict=True):
            item_counts[point] -= 1
            cells[member.index][item] = values[point]
    shared = {m.index: model.gauss() for m in rest}
    weight = ITEM_TRAIT if _rho(question) > 0.5 else ITEM_TRAIT / 2
    noise = math.sqrt(1 - weight**2 - ITEM_SHARED**2)
    for item, item_counts in zip(items, counts, strict=True):
        ranked = sorted(
            rest,
            key=lambda m: (
                weight * m.trait(trait) + ITEM_SHARED * shared[m.index] + noise * model.gauss()
            ),
        )
        start = 0
        for k in _score_order(model, question):
            for member in ranked[start : start + item_counts[k]]:
                cells[member.index][item] = values[k]
            start += item_counts[k]
    for member in members:
        member.answers[question.code] = cells[member.index]


def _common_point(counts: list[list[int]]) -> int | None:
    """The scale point every item can still spare most of: a straight-liner's answer."""
    point = max(range(len(counts[0])), key=lambda k: min(c[k] for c in counts))
    return point if min(c[point] for c in counts) > 0 else None


def _allocate_multiple(
    model: Model,
    question: QuestionDef,
    members: Sequence[Member],
    per_option: list[list[int]],
    trait: str,
) -> None:
    """Exclusive options first (chosen alone), then each option to the highest-ranked of
    those with room left, then a top-up so that nobody is below the minimum."""
    options = list(question.options.values())
    counts = [chosen_and_not[0] for chosen_and_not in per_option]
    chosen: dict[int, list[int]] = {m.index: [] for m in members}
    alone: set[int] = set()
    capacity = question.max_choices or len(options)
    for k, option in enumerate(options):
        if option.exclusive:
            free = [m for m in members if m.index not in alone]
            for member in sorted(free, key=lambda m: model.key(m, trait, 0.3))[: counts[k]]:
                chosen[member.index] = [k]
                alone.add(member.index)
    regular = [k for k, o in enumerate(options) if not o.exclusive]
    # With a maximum, those with room left go first, so every option's count fits.
    bonus = 0.6 if question.max_choices else 0.0
    for k in sorted(regular, key=lambda k: -counts[k]):
        ranked = sorted(
            (
                (
                    0.4 * m.trait(trait)
                    + 0.8 * model.gauss()
                    + bonus * (capacity - len(chosen[m.index])),
                    m.index,
                )
                for m in members
                if m.index not in alone and len(chosen[m.index]) < capacity
            ),
            reverse=True,
        )
        for _priority, index in ranked[: counts[k]]:
            chosen[index].append(k)
    _top_up(model, question, members, chosen, alone, regular)
    for member in members:
        picked = sorted(chosen[member.index])
        if picked:
            member.answers[question.code] = [options[k].value for k in picked]


def _top_up(
    model: Model,
    question: QuestionDef,
    members: Sequence[Member],
    chosen: dict[int, list[int]],
    alone: set[int],
    regular: list[int],
) -> None:
    """Give everyone short of the minimum a choice moved from someone above it (the option
    totals stay as allocated), or a new one when nobody can spare any."""
    need = min(max(question.min_choices or 0, 1), len(regular))
    rich = [m.index for m in members if m.index not in alone and len(chosen[m.index]) > need]
    for member in members:
        mine = chosen[member.index]
        while member.index not in alone and len(mine) < need:
            moved = None
            for _try in range(20):
                if not rich:
                    break
                donor = rich[model.rng.randrange(len(rich))]
                spare = [k for k in chosen[donor] if k not in mine]
                if spare:
                    moved = model.rng.choice(spare)
                    chosen[donor].remove(moved)
                    if len(chosen[donor]) <= need:
                        rich.remove(donor)
                    break
            if moved is None:
                moved = model.rng.choice([k for k in regular if k not in mine])
            mine.append(moved)


_ALLOCATE = {"single": _allocate_single, "matrix": _allocate_matrix, "multiple": _allocate_multiple}


def _other_texts(model: Model, question: QuestionDef, members: Sequence[Member]) -> None:
    if question.type == "matrix" or not question.offers_other:
        return
    others = {o.value for o in question.options.values() if o.is_other}
    for member in members:
        value = member.answers.get(question.code)
        picked = value if isinstance(value, list) else [value]
        if others & set(picked):
            # The form requires the text of a chosen "other". The draw is kept as it always
            # was, so a seed still gives the same demo; a text not drawn takes a phrase in turn.
            phrases = OTHER_PHRASES[model.language]
            if model.rng.random() < OTHER_TEXT:
                text = model.rng.choice(phrases)
            else:
                text = phrases[len(member.answers) % len(phrases)]
            member.answers[f"{question.code}{OTHER_SUFFIX}"] = text


def _settle(model: Model, member: Member) -> None:
    """Make the answers what the form would send: hidden questions unanswered, visible
    required ones answered (with the model's own distribution where the column missed them)."""
    so_far: dict[str, Any] = {}
    for question in model.structure.questions.values():
        visible = question.show_if is None or evaluate(question.show_if, so_far)
        if not visible:
            member.answers.pop(question.code, None)
            member.answers.pop(f"{question.code}{OTHER_SUFFIX}", None)
            continue
        if question.code not in member.answers and question.required:
            base = base_distributions(model, question)
            put(member, question, draw_one(model, question, member, base))
        if question.code in member.answers:
            so_far[question.code] = member.answers[question.code]
