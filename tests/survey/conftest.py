"""Definitions to import, and a stand-in for submitted responses (no submit call needed here)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable

import pytest

from survey.interchange import load_definition
from survey.models import Answer, Question, Questionnaire, Response
from survey.services.questionnaires import questionnaire_import
from tests.conftest import EXAMPLE_DEFINITION


@pytest.fixture(scope="session")
def _reference_data() -> dict:
    return load_definition(EXAMPLE_DEFINITION.read_bytes(), filename=EXAMPLE_DEFINITION.name)


@pytest.fixture
def reference_definition(_reference_data: dict) -> dict:
    """examples/ipb-survey.yaml as plain data; each test gets its own copy to change."""
    return copy.deepcopy(_reference_data)


def _full_definition() -> dict:
    """A small questionnaire that uses every feature of questionnaire/v1, written canonically
    (as an export writes it), so that its export must equal it exactly."""
    return {
        "format": "questionnaire/v1",
        "slug": "every-feature",
        "languages": ["zh-hans", "en"],
        "title": "每个功能",
        "intro": {"zh-hans": "说明", "en": "About this"},
        "settings": {"one_response_per": "respondent"},
        "sections": [
            {
                "code": "S1",
                "title": {"zh-hans": "第一部分"},
                "questions": [
                    {
                        "code": "gender",
                        "type": "single",
                        "label": {"zh-hans": "性别", "en": "Gender"},
                        "options": [
                            {"code": 1, "label": "男", "score": 2},
                            {"code": 2, "label": "女", "score": 1.5},
                            {"code": "x", "label": "其他", "score": -0.25, "other": True},
                        ],
                    },
                    {
                        "code": "check",
                        "type": "single",
                        "label": "请选择 b",
                        "options": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}],
                        "attention_check": {"expect": "b"},
                    },
                    {
                        "code": "channels",
                        "type": "multiple",
                        "label": {"en": "Channels"},
                        "required": False,
                        "min_choices": 1,
                        "max_choices": 2,
                        "options": [
                            {"code": 1, "label": "WeChat"},
                            {"code": 2, "label": "Web"},
                            {"code": 3, "label": "Other", "other": True},
                            {"code": 8, "label": "None", "exclusive": True},
                            {"code": 9, "label": "Don't know", "exclusive": True},
                        ],
                    },
                ],
            },
            {
                "code": "S2",
                "questions": [
                    {
                        "code": "rating",
                        "type": "matrix",
                        "label": "评价",
                        "straightlining_check": True,
                        "scale": [
                            {"code": 1, "label": "好", "score": 3},
                            {"code": 2, "label": "中", "score": 2},
                            {"code": 3, "label": "差", "score": 1},
                        ],
                        "items": [
                            {"code": "a", "label": "内容"},
                            {"code": "b", "label": "速度"},
                        ],
                    },
                    {
                        "code": "hours",
                        "type": "number",
                        "label": "Hours",
                        "required": False,
                        "show_if": "gender in [1, 2] and rating.a <= 2",
                        "min": -5.5,
                        "max": 10.25,
                        "integer": False,
                    },
                    {
                        "code": "counts",
                        "type": "number_grid",
                        "label": "Counts",
                        "min": 0,
                        "max": 100,
                        "items": [{"code": 1, "label": "One"}, {"code": "two", "label": "Two"}],
                    },
                    {
                        "code": "why",
                        "type": "text",
                        "label": "Why?",
                        "required": False,
                        "show_if": 'channels has 3 or counts.1 > 5 or check == "a"',
                        "max_length": 300,
                        "placeholder": {"zh-hans": "请填写"},
                        "x-widget": "textarea",
                    },
                    {"code": "more", "type": "text", "label": "More"},
                ],
            },
        ],
        "scores": [
            {"code": "gender_score", "of": "gender", "label": "性别分"},
            {"code": "rating_mean", "of": "rating", "label": {"en": "Rating"}},
        ],
        "segments": [
            {"code": "busy", "label": "Busy", "rule": "hours >= 3.5"},
            {"code": "happy", "label": "Happy", "rule": "rating.a == 1 and not (gender == 2)"},
        ],
        "validity": {
            "speeder": {"action": "invalidate", "below_fraction_of_median": 0.4},
            "attention": {"action": "flag"},
            "duplicate": {"action": "invalidate"},
            "straightlining": {"action": "flag", "min_items": 2},
        },
        "analysis": {"banner": ["gender", "check", "segment:busy"], "significance": 0.01},
        "x-owner": {"team": "research", "tags": ["pilot", 2024]},
    }


@pytest.fixture
def full_definition() -> dict:
    return _full_definition()


@pytest.fixture
def reference_questionnaire(reference_definition: dict) -> Questionnaire:
    return questionnaire_import(definition=reference_definition)


@pytest.fixture
def add_response() -> Callable[..., Response]:
    """Store a response the way the submit path would: a Response row and its Answer rows.

    ``answers`` maps a question code to an option code (single), or to ``{item: option}``
    (matrix); enough to make rows point at questions, options and items.
    """

    def add(questionnaire: Questionnaire, answers: dict | None = None) -> Response:
        response = Response.objects.create(
            questionnaire=questionnaire,
            submission_id=uuid.uuid4(),
            answers_digest="0" * 64,
            channel=Response.Channel.API,
            definition_version=questionnaire.definition_version,
            answers=answers or {},
        )
        for code, value in (answers or {}).items():
            question = Question.objects.get(questionnaire=questionnaire, code=code)
            pairs = value.items() if isinstance(value, dict) else [(None, value)]
            for item, option in pairs:
                Answer.objects.create(
                    response=response,
                    question=question,
                    item=question.items.get(code=item) if item is not None else None,
                    option=question.options.get(code=str(option)),
                )
        return response

    return add
