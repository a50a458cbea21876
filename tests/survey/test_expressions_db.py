"""`to_q` and `to_answer_tests` select in the database exactly the responses on which
`evaluate` holds."""

from __future__ import annotations

import random
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.db import connection
from django.db.models import Case, Max, Value, When

from survey.expressions import ExpressionError, canonical_code, evaluate, parse
from survey.expressions_sql import to_answer_tests, to_q
from survey.models import Answer, Item, Option, Question, Questionnaire, Response, Section
from tests.conftest import EXAMPLE_DEFINITION

REFERENCE_FILE = EXAMPLE_DEFINITION

# code → (type, option or scale codes as a definition file writes them, item codes)
SCHEMA: dict[str, tuple[str, list[Any], list[str]]] = {
    "D1": ("single", [1, 2], []),
    "CITY": ("single", ["bj", "sh", 1], []),
    "Q2": ("number_grid", [], ["a", "b", "c", "d"]),
    "Q5": ("matrix", [1, 2, 3, 4], ["a", "b"]),
    "Q9": ("multiple", [1, 2, 3, 4, 5, 6, 7], []),
    "Q14": ("single", [1, 2, 3, 4], []),
    "Q15": ("single", [1, 2, 3], []),
    "AGE": ("number", [], []),
    "Q18": ("text", [], []),
}

HAND_MADE = [
    "D1 == 1",
    "D1 == '2'",
    "D1 != 1",
    "not (D1 == 1)",
    "D1 in [1]",
    "D1 <= 1",
    "2 > D1",
    "D1 >= 2",
    "CITY == 'bj'",
    "CITY != 'sh'",
    "CITY in ['sh', 1]",
    "CITY == '1'",
    "Q5.a <= 2",
    "Q5.a > 1",
    "Q5.b != 3",
    "3 <= Q5.b",
    "Q5.a in [1, 4]",
    "not (Q5.b == 2)",
    "Q9 has 6",
    "Q9 has '1'",
    "not (Q9 has 7)",
    "Q2.a == 3",
    "Q2.a != 3",
    "Q2.b in [0, 5]",
    "Q2.c > 2.5",
    "Q2.c <= 2.5",
    "Q2.a > Q2.b",
    "Q2.a == Q2.d",
    "Q2.a != Q2.b",
    "Q2.c <= AGE",
    "AGE >= Q2.a",
    "AGE < 30",
    "AGE == 30.5",
    "AGE != 30",
    "AGE in [18, 30.5]",
    "Q18 == 'yes'",
    "Q18 != 'yes'",
    "Q18 in ['no', '希望']",
    "(D1 == 1 or Q9 has 6) and not (AGE < 30)",
    "not (Q14 in [1, 2] or Q5.a >= 3) or Q18 == 'no' and Q2.d != 0",
]


TWO_ANSWERS = re.compile(r"[A-Z][A-Z0-9]*(\.\w+)? *(==|!=|<=|>=|<|>) *[A-Z]")


def reference_rules() -> list[str]:
    reference = yaml.safe_load(REFERENCE_FILE.read_text(encoding="utf-8"))
    shows = [q["show_if"] for s in reference["sections"] for q in s["questions"] if "show_if" in q]
    return shows + [segment["rule"] for segment in reference["segments"]]


def random_answers(rng: random.Random) -> dict[str, Any]:
    """Answers of a valid shape, each question unanswered about one time in four."""
    values = {
        "D1": lambda: rng.choice([1, 2]),
        "CITY": lambda: rng.choice(["bj", "sh", 1]),
        "Q2": lambda: {
            item: rng.choice([0, 1, 2, 2.5, 3, 5]) for item in rng.sample("abcd", rng.randint(1, 4))
        },
        "Q5": lambda: {item: rng.randint(1, 4) for item in rng.sample("ab", rng.randint(1, 2))},
        "Q9": lambda: rng.sample(range(1, 8), rng.randint(1, 3)),
        "Q14": lambda: rng.randint(1, 4),
        "Q15": lambda: rng.randint(1, 3),
        "AGE": lambda: rng.choice([2, 18, 29, 30, 30.5, 41]),
        "Q18": lambda: rng.choice(["yes", "no", "希望"]),
    }
    return {code: make() for code, make in values.items() if rng.random() > 0.25}


class Stored:
    """One questionnaire with the SCHEMA's questions, and the ids `to_q` needs."""

    def __init__(self) -> None:
        self.questionnaire = Questionnaire.objects.create(slug="expressions", languages=["en"])
        section = Section.objects.create(questionnaire=self.questionnaire, code="A")
        self.questions: dict[str, Question] = {}
        self.options: dict[tuple[str, str], Option] = {}
        self.items: dict[tuple[str, str], Item] = {}
        for position, (code, (type_, options, items)) in enumerate(SCHEMA.items()):
            question = Question.objects.create(
                questionnaire=self.questionnaire,
                section=section,
                code=code,
                type=type_,
                position=position,
            )
            self.questions[code] = question
            for option in options:
                key = (code, canonical_code(option))
                self.options[key] = Option.objects.create(question=question, code=key[1])
            for item in items:
                self.items[(code, item)] = Item.objects.create(question=question, code=item)

    def ids(self) -> dict[str, Any]:
        return {
            "question_ids": {code: q.id for code, q in self.questions.items()},
            "item_ids": {key: item.id for key, item in self.items.items()},
            "option_ids": {key: option.id for key, option in self.options.items()},
        }

    def store(self, answers: dict[str, Any]) -> Response:
        """A response and its Answer rows, laid out as the Answer model documents."""
        response = Response.objects.create(
            questionnaire=self.questionnaire,
            submission_id=uuid.uuid4(),
            answers_digest="0" * 64,
            answers=answers,
            channel="api",
            definition_version=1,
        )
        Answer.objects.bulk_create(
            Answer(response=response, question=self.questions[code], **cell)
            for code, value in answers.items()
            for cell in self.cells(code, value)
        )
        return response

    def cells(self, code: str, value: Any) -> list[dict[str, Any]]:
        type_ = SCHEMA[code][0]
        option = lambda chosen: self.options[(code, canonical_code(chosen))]  # noqa: E731
        if type_ == "single":
            return [{"option": option(value)}]
        if type_ == "multiple":
            return [{"option": option(chosen)} for chosen in value]
        if type_ == "matrix":
            return [{"item": self.items[(code, i)], "option": option(v)} for i, v in value.items()]
        if type_ == "number":
            return [{"number": Decimal(repr(value))}]
        if type_ == "number_grid":
            return [
                {"item": self.items[(code, i)], "number": Decimal(repr(v))}
                for i, v in value.items()
            ]
        return [{"text": value}]


@pytest.fixture
def stored(db: None) -> Stored:
    stored = Stored()
    rng = random.Random(20240601)
    fixed = [
        {},
        {"D1": 1, "Q2": {"a": 3, "b": 3, "c": 3, "d": 3}, "Q14": 2, "Q15": 1, "AGE": 30},
        {"D1": 2, "Q2": {"a": 0, "b": 2, "c": 2.5, "d": 0}, "Q14": 4, "Q9": [6, 7], "Q18": "no"},
        {"CITY": 1, "Q5": {"a": 3}, "AGE": 30.5, "Q2": {"a": 30}},
    ]
    for answers in fixed + [random_answers(rng) for _ in range(60)]:
        stored.store(answers)
    return stored


def selected(stored: Stored, source: str) -> set[int]:
    rows = Response.objects.filter(questionnaire=stored.questionnaire)
    return set(rows.filter(to_q(parse(source), **stored.ids())).values_list("id", flat=True))


def selected_by_tests(stored: Stored, source: str) -> set[int] | None:
    """The responses `to_answer_tests` selects: one grouped pass over the answers (a flag per
    test and response), the flags combined by `AnswerTests.sql`; None if it declines."""
    tests = to_answer_tests(parse(source), **stored.ids())
    if tests is None:
        return None
    flags = {
        f"t{k}": Max(Case(When(test, then=Value(1)), default=Value(0)))
        for k, test in enumerate(tests.tests)
    }
    answers = Answer.objects.filter(response__questionnaire=stored.questionnaire)
    grouped, params = (
        answers.values("response_id").annotate(**flags).order_by().query.sql_with_params()
    )
    holds = tests.sql(lambda k: f"COALESCE(f.t{k}, 0) = 1")
    sql = (
        f"SELECT r.id FROM {Response._meta.db_table} r LEFT JOIN ({grouped}) f "
        f"ON f.response_id = r.id WHERE r.questionnaire_id = %s AND ({holds})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, stored.questionnaire.pk])
        return {pk for (pk,) in cursor.fetchall()}


def evaluated(stored: Stored, source: str) -> set[int]:
    expr = parse(source)
    rows = Response.objects.filter(questionnaire=stored.questionnaire)
    return {pk for pk, answers in rows.values_list("id", "answers") if evaluate(expr, answers)}


@pytest.mark.django_db
@pytest.mark.parametrize("source", reference_rules() + HAND_MADE)
def test_the_database_filter_selects_exactly_the_responses_evaluate_accepts(
    stored: Stored, source: str
) -> None:
    expected = evaluated(stored, source)
    assert selected(stored, source) == expected
    # Row tests decline exactly the rules comparing two answers (they need two rows at once).
    by_tests = selected_by_tests(stored, source)
    assert (by_tests is None) == bool(TWO_ANSWERS.search(source))
    assert by_tests in (None, expected)
    # The data must tell the two outcomes apart for the comparison to mean something.
    assert 0 < len(expected) < Response.objects.count()


@pytest.mark.django_db
def test_unanswered_references_are_false_in_the_database_as_in_evaluate(stored: Stored) -> None:
    empty = Response.objects.get(questionnaire=stored.questionnaire, answers={})
    assert empty.pk not in selected(stored, "D1 != 1")
    assert empty.pk not in selected(stored, "Q2.a > Q2.b")
    assert empty.pk in selected(stored, "not (D1 == 1)")
    assert empty.pk in selected(stored, "not (Q9 has 1)")


@pytest.mark.django_db
def test_a_compound_rule_is_one_query(stored: Stored, django_assert_num_queries: Any) -> None:
    rule = to_q(parse("(D1 == 1 or Q9 has 6) and not (Q5.a <= 2) and Q2.a > Q2.b"), **stored.ids())
    with django_assert_num_queries(1):
        list(Response.objects.filter(rule).values_list("id", flat=True))


@pytest.mark.django_db
def test_a_reference_without_a_database_id_is_an_expression_error(stored: Stored) -> None:
    with pytest.raises(ExpressionError, match="at 11: no database id for 'Q99'"):
        to_q(parse("D1 == 1 or Q99 == 2"), **stored.ids())
