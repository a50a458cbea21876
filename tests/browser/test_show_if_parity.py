"""The form's script decides show_if exactly as the server does.

The script (static/survey/form.js, ``WenjiLogic.evaluate``) reads the JSON tree that
``survey.form_logic.expression_to_json`` makes of each compiled expression; here it runs in
the real browser, on the form page, against ``survey.expressions.evaluate`` in Python, for
every show_if of the reference questionnaire and for hand-made expressions covering every
operator, over many answer combinations (answered, unanswered, each option).
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from survey.expressions import evaluate
from survey.form_logic import expression_to_json
from survey.services.questionnaires import questionnaire_import, questionnaire_publish
from survey.structure import structure_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPRESSIONS = [
    "S == 1",
    "S != 1",
    "S < 2",
    "S <= 2",
    "S > 2",
    "S >= 2",
    "2 < S",
    "3 >= S",
    "S in [1, 3]",
    "not S == 2",
    "not (not S == 1)",
    "S == '1'",
    "C == 'x'",
    "C != 'y'",
    "C in ['x', 'z']",
    "not C == 'x'",
    "M has 1",
    "not M has 4",
    "M has 2 and M has 3",
    "M has 1 or S == 3",
    "M has '4'",
    "X.a == 1",
    "X.b >= 2",
    "X.a != 3",
    "X.b in [1, 2]",
    "1 < X.a",
    "N > 2.5",
    "N <= -1",
    "N == 0",
    "N != 3.25",
    "N >= 100",
    "-2.5 < N",
    "N in [1, 2.5]",
    "N == 3.250",
    "N < 0.000001",
    "N > -10.5",
    "G.a > G.b",
    "G.a == N",
    "G.b != G.a",
    "G.a <= 3",
    "N >= G.b",
    "G.a < 99999999999999999999",
    "T == 'yes'",
    "T != 'yes'",
    "T in ['a', 'b']",
    'T == "1"',
    "(S == 1 or S == 2) and not (N > 50)",
    "S == 1 and C == 'x' and M has 1",
    "S == 3 or C == 'y' or G.a >= 5",
    "not (S == 1 and (N > 0 or T == 'a'))",
]

VALUES: dict[str, list[Any]] = {
    "S": [None, 1, 2, 3],
    "C": [None, "x", "y"],
    "M": [None, [1], [2, 3], [1, 4], [4]],
    "X": [None, {"a": 1}, {"a": 2, "b": 3}, {"a": 3, "b": 1}, {"b": 2}],
    "N": [None, -10, -2.5, 0, 0.5, 2.5, 3.25, 50, 100],
    "G": [None, {"a": 3, "b": 1}, {"a": 0, "b": 0}, {"a": 5}, {"b": 7}, {"a": 2, "b": 9}],
    "T": [None, "yes", "a", "no", "1"],
}


def lab_definition() -> dict:
    options = [{"code": c, "label": f"option {c}"} for c in (1, 2, 3)]
    questions = [
        {"code": "S", "type": "single", "label": "S", "options": options},
        {
            "code": "C",
            "type": "single",
            "label": "C",
            "options": [
                {"code": "x", "label": "x"},
                {"code": "y", "label": "y"},
                {"code": "z", "label": "z"},
            ],
        },
        {
            "code": "M",
            "type": "multiple",
            "label": "M",
            "options": [{"code": c, "label": str(c)} for c in (1, 2, 3, 4)],
        },
        {
            "code": "X",
            "type": "matrix",
            "label": "X",
            "scale": options,
            "items": [{"code": "a", "label": "a"}, {"code": "b", "label": "b"}],
        },
        {"code": "N", "type": "number", "label": "N", "integer": False, "min": -10, "max": 100},
        {
            "code": "G",
            "type": "number_grid",
            "label": "G",
            "items": [{"code": "a", "label": "a"}, {"code": "b", "label": "b"}],
        },
        {"code": "T", "type": "text", "label": "T"},
    ]
    questions += [
        {"code": f"E{n}", "type": "text", "label": source, "required": False, "show_if": source}
        for n, source in enumerate(EXPRESSIONS)
    ]
    return {
        "format": "questionnaire/v1",
        "slug": "logic-lab",
        "languages": ["en"],
        "title": "Logic lab",
        "sections": [{"code": "A", "title": "All", "questions": questions}],
    }


def answer_combinations() -> list[dict[str, Any]]:
    """Each value of each question with the others unanswered, then a seeded random mix."""
    combos = [{}]
    for code, values in VALUES.items():
        combos += [{code: value} for value in values if value is not None]
    rng = random.Random(20240615)
    for _ in range(300):
        combos.append({code: rng.choice(values) for code, values in VALUES.items()})
    return [{k: v for k, v in combo.items() if v is not None} for combo in combos]


def js_results(page, trees: list, combos: list[dict]) -> list[list[bool]]:
    return page.evaluate(
        """([trees, combos]) => combos.map(answers => {
             const typed = WenjiLogic.fromJson(answers);
             return trees.map(tree => WenjiLogic.evaluate(tree, typed));
           })""",
        [trees, combos],
    )


def test_the_script_agrees_with_the_server_on_every_operator(server, phone):
    lab = questionnaire_publish(questionnaire=questionnaire_import(definition=lab_definition()))
    structure = structure_for(lab)
    rules = [structure.questions[f"E{n}"].show_if for n in range(len(EXPRESSIONS))]
    combos = answer_combinations()
    page = phone.new_page()
    page.goto(server("/s/logic-lab/"))
    got = js_results(page, [expression_to_json(rule) for rule in rules], combos)
    mismatches = [
        (EXPRESSIONS[n], combo, got[i][n])
        for i, combo in enumerate(combos)
        for n, rule in enumerate(rules)
        if got[i][n] != evaluate(rule, combo)
    ]
    assert mismatches == []
    # and the combinations exercise both outcomes of every expression
    for n, rule in enumerate(rules):
        assert {evaluate(rule, combo) for combo in combos} == {True, False}, EXPRESSIONS[n]


def test_the_script_agrees_with_the_server_on_the_reference_questionnaire(ipb, server, phone):
    structure = structure_for(ipb)
    rules = {q.code: q.show_if for q in structure.questions.values() if q.show_if is not None}
    assert rules  # Q15R: "Q15 == 1"
    referenced = {"Q15": [None, 1, 2, 3, "1", "2"], "Q14": [None, 1, 4]}
    combos = [
        {k: v for k, v in zip(referenced, values, strict=True) if v is not None}
        for values in itertools.product(*referenced.values())
    ]
    page = phone.new_page()
    page.goto(server("/s/ipb-survey/"))
    got = js_results(page, [expression_to_json(rule) for rule in rules.values()], combos)
    expected = [[evaluate(rule, combo) for rule in rules.values()] for combo in combos]
    assert got == expected


def test_the_page_applies_show_if_as_the_server_does_when_answers_change(server, phone):
    lab = questionnaire_publish(questionnaire=questionnaire_import(definition=lab_definition()))
    structure = structure_for(lab)
    page = phone.new_page()
    page.goto(server("/s/logic-lab/"))
    steps = [
        ("S", 1, {"S": 1}),
        ("N", "2.50", {"S": 1, "N": 2.5}),
        ("M", [1, 4], {"S": 1, "N": 2.5, "M": [1, 4]}),
        ("G", {"a": "3", "b": "1"}, {"S": 1, "N": 2.5, "M": [1, 4], "G": {"a": 3, "b": 1}}),
        ("T", "a", {"S": 1, "N": 2.5, "M": [1, 4], "G": {"a": 3, "b": 1}, "T": "a"}),
        ("N", "-11", {"S": 1, "M": [1, 4], "G": {"a": 3, "b": 1}, "T": "a"}),  # out of range
    ]
    from tests.browser.helpers import answer

    for code, value, answers in steps:
        answer(page, code, value)
        shown = page.eval_on_selector_all(
            ".q[data-q^=E]", "els => els.map(e => [e.dataset.q, !e.hidden])"
        )
        expected = {
            f"E{n}": evaluate(structure.questions[f"E{n}"].show_if, answers)
            for n in range(len(EXPRESSIONS))
        }
        assert dict(shown) == expected, (code, value)
