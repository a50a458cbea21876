"""The response generator (demo.generate) and ``manage.py generate_responses``."""

from __future__ import annotations

import copy
import io
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from demo.calibration import (
    CalibrationError,
    Constraint,
    Variable,
    quotas,
    rake,
)
from demo.generate import (
    GenerateError,
    calibration_read,
    responses_generate,
    responses_plan,
    segment_rules,
)
from survey.models import Response
from survey.services.answers import answers_check
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from survey.services.validity import validity_recompute
from survey.structure import structure_for
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db

CALIBRATION = REPO_ROOT / "examples" / "ipb-survey.calibration.yaml"
END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _options(*codes: object, scored: bool = False) -> list[dict]:
    count = len(codes)
    return [
        {"code": code, "label": f"option {code}", **({"score": count - i} if scored else {})}
        for i, code in enumerate(codes)
    ]


# A small questionnaire with every question type and the awkward cases: show_if on a single
# and on an exclusive option, a multiple with min = max, an exclusive option, an "other"
# option, a non-integer number, a text box shorter than the phrases.
SMALL = {
    "format": "questionnaire/v1",
    "slug": "small",
    "languages": ["en"],
    "title": "Small",
    "settings": {"one_response_per": "respondent"},
    "sections": [
        {
            "code": "S",
            "title": "All",
            "questions": [
                {"code": "sat", "type": "single", "label": "Happy?",
                 "options": _options(1, 2, 3, 4, scored=True)},
                {"code": "why", "type": "multiple", "label": "Why not?", "show_if": "sat >= 3",
                 "min_choices": 2, "max_choices": 2, "options": _options("a", "b", "c", "d")},
                {"code": "unit", "type": "single", "label": "Unit",
                 "options": [*_options("a", "b"), {"code": "x", "label": "Other", "other": True}]},
                {"code": "worries", "type": "multiple", "label": "Worries", "max_choices": 2,
                 "options": [*_options(1, 2, 3, 4),
                             {"code": 9, "label": "None", "exclusive": True}]},
                {"code": "follow", "type": "text", "label": "Really none?",
                 "show_if": "worries has 9"},
                {"code": "grid", "type": "matrix", "label": "Rate", "straightlining_check": True,
                 "scale": _options(1, 2, 3, scored=True),
                 "items": [{"code": c, "label": c} for c in "abc"]},
                {"code": "check", "type": "single", "label": "Choose b",
                 "attention_check": {"expect": "b"}, "options": _options("a", "b")},
                {"code": "age", "type": "number", "label": "Age", "min": 18, "max": 80},
                {"code": "rate", "type": "number", "label": "Rate", "min": 0, "max": 1,
                 "integer": False},
                {"code": "hours", "type": "number_grid", "label": "Hours", "min": 0, "max": 40,
                 "items": [{"code": c, "label": c} for c in "xy"]},
                {"code": "note", "type": "text", "label": "Anything?", "required": False,
                 "max_length": 5},
            ],
        }
    ],
    "scores": [{"code": "happiness", "of": "sat", "label": "Happiness"}],
    "segments": [{"code": "happy", "label": "Happy", "rule": "sat <= 2"}],
    "validity": {
        "speeder": {"action": "invalidate", "below_fraction_of_median": 0.33},
        "attention": {"action": "invalidate"},
        "duplicate": {"action": "invalidate"},
        "straightlining": {"action": "flag", "min_items": 3},
    },
}  # fmt: skip


def _open(definition: dict):
    return questionnaire_publish(questionnaire=questionnaire_import(definition=definition))


@pytest.fixture
def small():
    return _open(copy.deepcopy(SMALL))


def _stored(questionnaire) -> list[dict]:
    return list(
        Response.objects.filter(questionnaire=questionnaire).values_list("answers", flat=True)
    )


def _plan(questionnaire, seed: int, count: int = 60, **options):
    structure = structure_for(questionnaire)
    rules = segment_rules(questionnaire=questionnaire, structure=structure)
    plan, _notes = responses_plan(
        structure=structure, rules=rules, count=count, seed=seed, period_end=END, **options
    )
    return plan


# --- any questionnaire ------------------------------------------------------------------------


def test_every_generated_response_is_accepted_and_stored(small):
    result = responses_generate(questionnaire=small, count=150, seed=1, period_end=END)

    assert (result.planned, result.created, result.existing) == (150, 150, 0)
    assert Response.objects.filter(questionnaire=small).count() == 150
    structure = structure_for(small)
    assert all(answers_check(structure=structure, answers=a).ok for a in _stored(small))


def test_hidden_questions_are_never_answered_and_shown_required_ones_always_are(small):
    responses_generate(questionnaire=small, count=150, seed=2, period_end=END)

    answers = _stored(small)
    for a in answers:
        assert ("why" in a) == (a["sat"] >= 3)
        assert ("follow" in a) == (9 in a["worries"])
    assert any("why" in a for a in answers) and any("why" not in a for a in answers)
    assert any("follow" in a for a in answers)


def test_choices_respect_min_max_and_exclusive_options(small):
    responses_generate(questionnaire=small, count=150, seed=3, period_end=END)

    answers = _stored(small)
    assert all(len(a["why"]) == 2 for a in answers if "why" in a)
    assert all(1 <= len(a["worries"]) <= 2 for a in answers)
    assert all(a["worries"] == [9] for a in answers if 9 in a["worries"])
    assert any(len(a["worries"]) == 2 for a in answers)


def test_numbers_stay_within_their_ranges_and_texts_within_their_length(small):
    responses_generate(questionnaire=small, count=150, seed=4, period_end=END)

    answers = _stored(small)
    assert all(isinstance(a["age"], int) and 18 <= a["age"] <= 80 for a in answers)
    assert all(0 <= a["rate"] <= 1 for a in answers)
    assert any(a["rate"] != int(a["rate"]) for a in answers)
    assert all(0 <= hours <= 40 for a in answers for hours in a["hours"].values())
    assert all(len(a["note"]) <= 5 for a in answers if "note" in a)
    assert 0 < sum("note" in a for a in answers) < len(answers)  # optional: sometimes


def test_the_same_seed_plans_the_same_responses_and_another_seed_others(small):
    first, again, other = _plan(small, 7), _plan(small, 7), _plan(small, 8)

    assert first == again
    assert [p.answers for p in first] != [p.answers for p in other]


def test_running_the_same_seed_again_adds_nothing(small):
    responses_generate(questionnaire=small, count=40, seed=5, period_end=END)
    result = responses_generate(questionnaire=small, count=40, seed=5, period_end=END)

    assert (result.created, result.existing) == (0, 40)
    assert Response.objects.filter(questionnaire=small).count() == 40


def test_planned_invalid_responses_are_exactly_the_invalid_ones_after_recompute(small):
    result = responses_generate(
        questionnaire=small, count=200, seed=6, invalid_rate=0.15, period_end=END
    )
    summary = validity_recompute(questionnaire=small)

    kinds = result.kinds
    assert kinds["speeder"] + kinds["attention"] + kinds["duplicate"] == 30
    assert min(kinds["speeder"], kinds["attention"], kinds["duplicate"]) > 0
    assert summary["valid"] == kinds["valid"] == 170
    assert summary["invalid_by_reason"]["speeder"] == kinds["speeder"]
    assert summary["invalid_by_reason"]["attention"] == kinds["attention"]
    assert summary["invalid_by_reason"]["duplicate"] == kinds["duplicate"]
    assert summary["flagged"] > 0  # some valid respondents straight-line the grid


def test_times_spread_over_three_weeks_with_speeders_well_below_the_median(small):
    plan = _plan(small, 9, count=300, invalid_rate=0.1)

    durations = [(p.submitted_at - p.started_at).total_seconds() for p in plan]
    median = statistics.median(durations)
    assert 150 < median < 300  # about 20 s per question
    assert all(p.started_at < p.submitted_at <= END for p in plan)
    assert min(p.submitted_at for p in plan) >= END - timedelta(days=21)
    assert len({p.submitted_at.date() for p in plan}) >= 15
    for planned, seconds in zip(plan, durations, strict=True):
        assert (seconds < 0.33 * median) == (planned.kind == "speeder")
    assert [p.submitted_at for p in plan] == sorted(p.submitted_at for p in plan)


def test_a_duplicate_repeats_an_earlier_respondent_later(small):
    plan = _plan(small, 10, count=200, invalid_rate=0.2)

    first_seen = {}
    for planned in plan:
        if planned.kind == "duplicate":
            assert first_seen[planned.respondent] < planned.submitted_at
        else:
            first_seen.setdefault(planned.respondent, planned.submitted_at)


def test_without_rules_that_invalidate_every_response_is_valid_and_a_note_says_why():
    definition = copy.deepcopy(SMALL)
    del definition["validity"]
    questionnaire = _open(definition)

    result = responses_generate(questionnaire=questionnaire, count=30, seed=1, period_end=END)

    assert result.kinds == {"valid": 30}
    assert "no invalid responses" in result.notes[0]


def test_an_invalid_rate_of_zero_gives_only_valid_responses(small):
    result = responses_generate(
        questionnaire=small, count=50, seed=1, invalid_rate=0, period_end=END
    )
    assert result.kinds == {"valid": 50}


def test_a_draft_questionnaire_or_a_bad_count_is_refused(small):
    draft = questionnaire_import(definition={**copy.deepcopy(SMALL), "slug": "draft"})
    with pytest.raises(GenerateError, match="draft is draft: publish it"):
        responses_generate(questionnaire=draft, count=5, seed=1)
    with pytest.raises(GenerateError, match="at least 1, not 0"):
        responses_generate(questionnaire=small, count=0, seed=1)


# --- the reference questionnaire and calibration ----------------------------------------------


def test_the_reference_questionnaire_calibrated_gives_valid_answers_in_small_numbers(ipb):
    calibration = calibration_read(questionnaire=ipb, path=CALIBRATION)
    result = responses_generate(
        questionnaire=ipb, count=120, seed=3, calibration=calibration, period_end=END
    )

    assert result.created == 120
    answers = _stored(ipb)
    assert all("Q15R" not in a for a in answers if a["Q15"] != 1)
    assert all(len(a["Q16"]) <= 2 and len(a["Q8"]) <= 3 for a in answers)
    assert all(a["Q9"] == [7] for a in answers if 7 in a["Q9"])


def test_the_reference_questionnaire_without_calibration_has_every_segment(ipb):
    responses_generate(questionnaire=ipb, count=300, seed=4, period_end=END)
    summary = validity_recompute(questionnaire=ipb)

    assert summary["collected"] == 300
    assert summary["valid"] == 276  # 8% invalid by default
    answers = _stored(ipb)
    active = [a for a in answers if min(a["Q2"].values()) >= 3]
    passive = [a for a in answers if max(a["Q2"].values()) < 3]
    assert active and passive


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calibration.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_calibration_problems_are_listed_by_place(ipb, tmp_path):
    text = """format: wenji-calibration/1
questionnaire: ipb-survey
valid_rate: 1.5
invalid_mix: {sleeper: 1}
segment_families:
  - trait: luck
    ladder: [{segment: active, share: 0.3}, {segment: nobody, share: 0.2}]
  - trait: positivity
    ladder: [{segment: trend_sceptic, share: 0.05}, {share: rest}]
questions:
  Q99: {shares: {1: 0.5}}
  Q18: {shares: {1: 0.5}}
  Q3:
    shares: {1: 0.7, 2: 0.5, 9: 0.1}
    mean: 7
    segments: {nobody: {mean: 3}}
    by: {Q2: {1: {mean: 3}}}
  Q5: {items: {z: {top2: 0.5}}, top2: 0.5}
  Q8: {mean: 2}
  Q16: {shares: {1: 0.9, 2: 0.9, 3: 0.9}}
  Q14: {mean: 3}
"""
    with pytest.raises(CalibrationError) as caught:
        calibration_read(questionnaire=ipb, path=_write(tmp_path, text))

    problems = caught.value.problems
    assert "valid_rate: must be a number from 0.5 to 1, not 1.5" in problems
    assert "invalid_mix.sleeper: unknown kind (known: speeder, attention, duplicate)" in problems
    assert "segment_families[0].trait: must be one of engagement, positivity, not 'luck'" in (
        problems
    )
    assert "segment_families[0].ladder[1].segment: the questionnaire has no segment 'nobody'" in (
        problems
    )
    assert "segment_families[0].ladder: needs exactly one rung with share: rest" in problems
    assert "questions.Q99: the questionnaire has no such question" in problems
    assert "questions.Q18: targets are for single, multiple and matrix questions, not text" in (
        problems
    )
    assert "questions.Q3.shares.9: Q3 has no option 9" in problems
    assert "questions.Q3.shares: the shares add up to 1.2000, more than 1" in problems
    assert "questions.Q3.mean: 7 is outside the scores 1 to 5" in problems
    assert "questions.Q3.segments.nobody: the questionnaire has no such segment" in problems
    assert "questions.Q3.by.Q2: must name another single question" in problems
    assert "questions.Q5.items.z: Q5 has no item z" in problems
    assert "questions.Q5.top2: not a target for a matrix question" in problems
    assert "questions.Q8.mean: not a target for a multiple question" in problems
    assert (
        "questions.Q16.shares: the shares add up to 2.7000: more choices than max_choices (2) "
        "allows"
    ) in problems
    assert (
        "questions.Q14: decides a segment of segment_families, so only its shares (overall and by "
        "segment) can be targets, not means or breakdowns"
    ) in problems


def test_a_calibration_for_another_questionnaire_is_refused(ipb, tmp_path):
    path = _write(tmp_path, "format: wenji-calibration/1\nquestionnaire: other\n")
    with pytest.raises(CalibrationError, match="is 'other', but this questionnaire is 'ipb"):
        calibration_read(questionnaire=ipb, path=path)


def test_targets_that_cannot_hold_together_are_refused_naming_one(ipb, tmp_path):
    text = """format: wenji-calibration/1
questionnaire: ipb-survey
questions:
  D1:
    shares: {1: 0.5}
    by: {D5: {1: {shares: {1: 0.9}}, 2: {shares: {1: 0.9}}}}
"""
    calibration = calibration_read(questionnaire=ipb, path=_write(tmp_path, text))
    with pytest.raises(CalibrationError, match=r"questions\.D1.*cannot all hold at once"):
        responses_generate(questionnaire=ipb, count=100, seed=1, calibration=calibration)


def test_raking_meets_an_overall_share_and_a_group_mean_together():
    variable = Variable(categories=("1", "2", "3"), scores=(3.0, 2.0, 1.0), base=(1 / 3,) * 3)
    overall = Constraint("overall", (0, 1), (0,), shares=((frozenset({0}), 0.5),))
    group = Constraint("group", (1,), (0,), mean=1.5)

    dist = rake(variables=[variable], weights=[300, 100], constraints=[overall, group])

    first, second = dist[0]
    assert (300 * first[0] + 100 * second[0]) / 400 == pytest.approx(0.5, abs=1e-5)
    assert 3 * second[0] + 2 * second[1] + second[2] == pytest.approx(1.5, abs=1e-5)


def test_rounded_counts_add_up_per_group_and_stay_close_over_runs_of_groups():
    import random

    sizes = [7, 3, 11, 1, 5] * 6
    distributions = [[0.37, 0.41, 0.22]] * len(sizes)
    counts = quotas(sizes, distributions, random.Random(1))

    assert [sum(c) for c in counts] == sizes
    for k, share in enumerate(distributions[0]):
        running = 0.0
        for size, group in zip(sizes, counts, strict=True):
            running += size * share - group[k]
            assert abs(running) < 1.5


# --- the command ------------------------------------------------------------------------------


def _command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_responses", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_a_progress_bar_and_a_summary(small):
    out, err = _command("small", "40", "--seed", "3", "--invalid-rate", "0.1")

    assert "\r  1/40 [" in err
    assert "\r  40/40 [##############################] 100%\n" in err
    assert out.startswith("Generated 40 responses for small (seed 3) in ")
    assert "36 meant to be valid" in out
    assert "manage.py analysis_run small" in out
    assert Response.objects.filter(questionnaire=small).count() == 40


def test_the_command_with_the_reference_calibration(ipb):
    out, _err = _command("ipb-survey", "60", "--seed", "1", "--calibration", str(CALIBRATION))

    assert "(seed 1, calibration ipb-survey.calibration.yaml)" in out
    assert Response.objects.filter(questionnaire=ipb).count() == 60


def test_the_command_explains_what_it_cannot_do(small, tmp_path):
    with pytest.raises(CommandError, match="no questionnaire has the slug 'nope'"):
        _command("nope", "5", "--seed", "1")
    with pytest.raises(CommandError, match=r"use auto or a fraction from 0 to 0\.5, not '0\.9'"):
        _command("small", "5", "--seed", "1", "--invalid-rate", "0.9")
    with pytest.raises(CommandError, match="--until is in the future"):
        _command("small", "5", "--seed", "1", "--until", "2999-01-01T00:00")
    with pytest.raises(CommandError, match=r"cannot read .*missing.yaml"):
        _command("small", "5", "--seed", "1", "--calibration", str(tmp_path / "missing.yaml"))
    path = _write(tmp_path, "format: wenji-calibration/1\nquestionnaire: small\nvalid_rate: 2\n")
    with pytest.raises(CommandError, match=r"valid_rate: must be a number from 0\.5 to 1"):
        _command("small", "5", "--seed", "1", "--calibration", str(path))
    assert not Response.objects.exists()
