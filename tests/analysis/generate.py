"""Generated responses for the analysis tests: the demo generator (``demo.generate``), the one
generator of the project, with two conveniences for tests.

``generate_responses`` returns the stored responses in submission order, and ``only`` limits
single questions to some of their options (shares spread evenly over them, through a
calibration), e.g. ``{"tier": [1, 2]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from demo.calibration import Calibration, calibration_load
from demo.generate import responses_generate, segment_rules
from survey.models import Questionnaire, Response
from survey.structure import structure_for

# A fixed collection period: the same seed gives the same responses on any day.
PERIOD_END = datetime(2026, 5, 31, 20, 0, tzinfo=UTC)


def generate_responses(
    *,
    questionnaire: Questionnaire,
    count: int,
    seed: int,
    only: Mapping[str, Sequence[Any]] | None = None,
) -> list[Response]:
    """Submit ``count`` generated responses (seeded) and return them in submission order."""
    calibration = _only(questionnaire, only) if only else None
    result = responses_generate(
        questionnaire=questionnaire,
        count=count,
        seed=seed,
        calibration=calibration,
        period_end=PERIOD_END,
    )
    return list(
        Response.objects.filter(
            questionnaire=questionnaire, submission_id__in=result.submission_ids
        ).order_by("id")
    )


def _only(questionnaire: Questionnaire, only: Mapping[str, Sequence[Any]]) -> Calibration:
    structure = structure_for(questionnaire)
    questions = {
        code: {"shares": {str(option): 1 / len(options) for option in options}}
        for code, options in only.items()
    }
    text = json.dumps(
        {
            "format": "wenji-calibration/1",
            "questionnaire": questionnaire.slug,
            "questions": questions,
        }
    )
    rules = segment_rules(questionnaire=questionnaire, structure=structure)
    return calibration_load(text=text, filename="only.json", structure=structure, rules=rules)


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
