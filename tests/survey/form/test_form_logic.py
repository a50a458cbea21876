"""The form's helpers that are not HTTP: show_if as JSON, reading a POST, the start token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import QueryDict

from survey.expressions import parse
from survey.form_logic import (
    StartToken,
    StartTokenInvalid,
    answers_from_post,
    expression_to_json,
    number_from_text,
    start_token_read,
    visible_questions,
)
from survey.structure import structure_for


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("Q15 == 1", ["cmp", "==", ["ref", "Q15", None], ["int", "1"]]),
        ("3 <= Q2.a", ["cmp", "<=", ["int", "3"], ["ref", "Q2", "a"]]),
        ("N > -2.50", ["cmp", ">", ["ref", "N", None], ["dec", "-2.50"]]),
        ('T != "a\\"b"', ["cmp", "!=", ["ref", "T", None], ["str", 'a"b']]),
        (
            "Q14 in [3, 'x']",
            ["cmp", "in", ["ref", "Q14", None], ["list", [["int", "3"], ["str", "x"]]]],
        ),
        ("Q9 has 7", ["cmp", "has", ["ref", "Q9", None], ["int", "7"]]),
        (
            "not (A == 1 or B == 2) and C == 3",
            [
                "and",
                [
                    "not",
                    [
                        "or",
                        ["cmp", "==", ["ref", "A", None], ["int", "1"]],
                        ["cmp", "==", ["ref", "B", None], ["int", "2"]],
                    ],
                ],
                ["cmp", "==", ["ref", "C", None], ["int", "3"]],
            ],
        ),
        ("G.a > G.b", ["cmp", ">", ["ref", "G", "a"], ["ref", "G", "b"]]),
        (
            "99999999999999999999 == N",
            ["cmp", "==", ["int", "99999999999999999999"], ["ref", "N", None]],
        ),
    ],
)
def test_expressions_become_json_trees_with_numbers_as_exact_text(source, tree):
    assert expression_to_json(parse(source)) == tree


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("-3", -3),
        ("+4", 4),
        ("2.5", Decimal("2.5")),
        ("2,5", Decimal("2.5")),
        ("１２", 12),
        ("0.000001", Decimal("0.000001")),
        ("", None),
        ("abc", None),
        ("1e5", None),
        ("1.", None),
        (".5", None),
        ("NaN", None),
        ("1 2", None),
    ],
)
def test_number_boxes_read_plain_decimal_numbers_only(text, number):
    assert number_from_text(text) == number


@pytest.mark.django_db
def test_a_post_becomes_the_answers_object_of_the_format(ipb):
    structure = structure_for(ipb)
    data = QueryDict(mutable=True)
    data.update({"D1": "1", "D6": "8", "D6.other": "协会", "Q2.a": "3", "Q2.b": "", "Q5.a": "2"})
    data.setlist("Q8", ["1", "7"])
    data.update({"Q8.other": " ", "Q18": "text", "Q15R": "", "csrfmiddlewaretoken": "x"})
    posted = answers_from_post(structure=structure, data=data)
    assert posted.errors == {}
    assert posted.answers == {
        "D1": "1",
        "D6": "8",
        "D6.other": "协会",
        "Q2": {"a": 3},
        "Q5": {"a": "2"},
        "Q8": ["1", "7"],
        "Q18": "text",
    }


@pytest.mark.django_db
def test_an_unreadable_number_is_an_error_under_its_own_key(ipb):
    posted = answers_from_post(structure=structure_for(ipb), data=QueryDict("Q2.a=1&Q2.b=lots"))
    assert posted.answers == {"Q2": {"a": 1}}
    assert list(posted.errors) == ["Q2.b"]


@pytest.mark.django_db
def test_visible_questions_read_show_if_against_the_answers_before_them(ipb):
    structure = structure_for(ipb)
    assert "Q15R" in visible_questions(structure=structure, answers={"Q15": 1})
    assert "Q15R" not in visible_questions(structure=structure, answers={"Q15": 2})
    assert "Q15R" not in visible_questions(structure=structure, answers={})


@pytest.mark.django_db
def test_a_start_token_round_trips_and_refuses_tampering(ipb):
    started = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    token = StartToken("ipb-survey", uuid.uuid4(), started)
    text = token.dumps()
    assert start_token_read(token=text, questionnaire=ipb) == token
    with pytest.raises(StartTokenInvalid):
        start_token_read(token=text.replace(":", ";", 1), questionnaire=ipb)
    with pytest.raises(StartTokenInvalid):
        start_token_read(token="", questionnaire=ipb)
    other = StartToken("other-survey", uuid.uuid4(), started).dumps()
    with pytest.raises(StartTokenInvalid):
        start_token_read(token=other, questionnaire=ipb)
