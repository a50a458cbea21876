"""The show_if / segment rule language: parsing, checking, evaluation (no database)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from survey.expressions import (
    And,
    Compare,
    ExpressionError,
    ListLiteral,
    Literal,
    Not,
    Or,
    QuestionSpec,
    Ref,
    canonical_code,
    check,
    compile_expression,
    evaluate,
    parse,
    references,
    to_source,
)
from tests.conftest import EXAMPLE_DEFINITION

REFERENCE_FILE = EXAMPLE_DEFINITION


def spec(code: str, type_: str, options: str = "", items: str = "") -> QuestionSpec:
    return QuestionSpec(code, type_, frozenset(options.split()), frozenset(items.split()))


SPECS = {
    "D1": spec("D1", "single", "1 2"),
    "Q2": spec("Q2", "number_grid", items="a b c d"),
    "Q5": spec("Q5", "matrix", "1 2 3 4", "a b c d e"),
    "Q9": spec("Q9", "multiple", "1 2 3 4 5 6 7"),
    "Q14": spec("Q14", "single", "1 2 3 4"),
    "AGE": spec("AGE", "number"),
    "Q18": spec("Q18", "text"),
    "CITY": spec("CITY", "single", "bj sh 1"),
    "GRID": spec("GRID", "number_grid", items="1 2"),
}

# The example answers of QUESTIONNAIRE-FORMAT.md, "Answers".
FORMAT_EXAMPLE = {
    "D1": 1,
    "Q2": {"a": 3, "b": 5, "c": 1, "d": 4},
    "Q5": {"a": 1, "b": 2, "c": 2, "d": 1, "e": 1},
    "Q9": [1, 4],
    "Q18": "希望页面更快",
}


def q3(op: str, value: Any) -> Compare:
    return Compare(Ref("Q3"), op, Literal(value))


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator_parses_between_a_reference_and_a_value(op: str) -> None:
    assert parse(f"Q3 {op} 1") == q3(op, 1)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("1", 1),
        ("-7", -7),
        ("2.50", Decimal("2.50")),
        ("-0.5", Decimal("-0.5")),
        ("'yes'", "yes"),
        ('"yes"', "yes"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r"'a\\b\nc\td'", "a\\b\nc\td"),
        ('"希望"', "希望"),
    ],
)
def test_literals_parse_to_int_decimal_or_string(source: str, value: Any) -> None:
    literal = parse(f"Q3 == {source}").right
    assert isinstance(literal, Literal)
    assert literal.value == value
    assert type(literal.value) is type(value)


def test_an_item_reference_keeps_question_and_item_including_integer_items() -> None:
    assert parse("Q2.a >= 3").left == Ref("Q2", "a")
    assert parse("GRID.12 == 1").left == Ref("GRID", "12")
    assert parse("Q_1.item_2 == 1").left == Ref("Q_1", "item_2")


def test_in_takes_a_list_and_has_takes_an_option_code() -> None:
    assert parse("Q14 in [3, 'x', 4.5]") == Compare(
        Ref("Q14"), "in", ListLiteral((Literal(3), Literal("x"), Literal(Decimal("4.5"))))
    )
    assert parse("Q9 has 6") == Compare(Ref("Q9"), "has", Literal(6))


def test_a_reference_may_stand_on_either_side_or_on_both() -> None:
    assert parse("3 <= Q2.a") == Compare(Literal(3), "<=", Ref("Q2", "a"))
    assert parse("Q2.a > Q2.b") == Compare(Ref("Q2", "a"), ">", Ref("Q2", "b"))


def test_or_binds_loosest_then_and_then_not() -> None:
    a, b, c = q3("==", 1), q3("==", 2), q3("==", 3)
    assert parse("Q3 == 1 or Q3 == 2 and Q3 == 3") == Or((a, And((b, c))))
    assert parse("Q3 == 1 and Q3 == 2 or Q3 == 3") == Or((And((a, b)), c))
    assert parse("not Q3 == 1 and Q3 == 2") == And((Not(a), b))
    assert parse("not Q3 == 1 or Q3 == 2") == Or((Not(a), b))


def test_parentheses_override_precedence_and_keep_explicit_nesting() -> None:
    a, b, c = q3("==", 1), q3("==", 2), q3("==", 3)
    assert parse("(Q3 == 1 or Q3 == 2) and Q3 == 3") == And((Or((a, b)), c))
    assert parse("not (Q3 == 1 or Q3 == 2)") == Not(Or((a, b)))
    assert parse("Q3 == 1 and Q3 == 2 and Q3 == 3") == And((a, b, c))
    assert parse("Q3 == 1 and (Q3 == 2 and Q3 == 3)") == And((a, And((b, c))))
    assert parse("((Q3 == 1))") == a
    assert parse("not not Q3 == 1") == Not(Not(a))


def test_whitespace_is_optional_between_tokens() -> None:
    assert parse("Q3==1") == parse("  Q3 \t==\n 1 ")
    assert parse("Q14 in[3,4]and(Q9 has 6)") == parse("Q14 in [3, 4] and (Q9 has 6)")


def test_every_node_keeps_the_position_where_its_text_starts() -> None:
    source = "D1 == 1 and not (Q9 has 6 or 3 <= Q2.a)"
    expr = parse(source)
    assert isinstance(expr, And)
    first, negation = expr.operands
    assert (expr.pos, first.pos, negation.pos) == (0, 0, 12)
    assert isinstance(first, Compare)
    assert (first.op_pos, first.right.pos) == (3, 6)
    assert isinstance(negation, Not)
    inner = negation.operand
    assert isinstance(inner, Or)
    has, ordering = inner.operands
    assert (inner.pos, has.pos, has.op_pos, has.right.pos) == (17, 17, 20, 24)
    assert (ordering.left.pos, ordering.op_pos, ordering.right.pos) == (29, 31, 34)
    assert source[ordering.right.pos :] == "Q2.a)"


def test_positions_do_not_take_part_in_equality() -> None:
    assert parse("Q3 == 1") == parse("   Q3   ==   1")
    assert parse("Q3 == 1") != parse("Q3 == 2")
    assert parse("Q3 == 1") != parse("Q3 == '1'")


# --- syntax errors ----------------------------------------------------------------------------

SYNTAX_ERRORS = [
    ("", 0, "expected an expression, found end of expression"),
    ("Q3 ==", 5, "expected a value after '==', found end of expression"),
    ("Q3 = 1", 3, "unexpected character '='; did you mean '=='?"),
    ("Q3 == 1 && Q4 == 2", 8, "unexpected character '&'; did you mean 'and'?"),
    ("Q3 == @", 6, "unexpected character '@'"),
    ("Q18 == 'abc", 7, "unterminated string"),
    (r"Q18 == 'a\qb'", 9, r"unknown escape '\q'"),
    ("Q3 == 1 and", 11, "expected an expression after 'and', found end of expression"),
    ("Q3 == 1 or or", 11, "expected an expression after 'or', found 'or'"),
    ("not", 3, "expected an expression after 'not', found end of expression"),
    ("(Q3 == 1", 8, "expected ')' to close the '(' at 0, found end of expression"),
    ("Q3 == 1)", 7, "expected 'and', 'or' or end of expression, found ')'"),
    ("Q3 == 1 Q4 == 2", 8, "expected 'and', 'or' or end of expression, found 'Q4'"),
    ("Q3 == 1 AND Q4 == 2", 8, "found 'AND' (keywords are lowercase)"),
    ("Q3", 2, "expected a comparison operator after 'Q3', found end of expression"),
    ("Q3 == 1 == 2", 8, "comparisons cannot be chained, found a second '=='"),
    ("1 == 2", 0, "a comparison needs a question reference on one side, found 1 == 2"),
    ("Q3 in 1", 6, "expected a list such as [1, 2] after 'in', found '1'"),
    ("Q3 in []", 6, "a list needs at least one value"),
    ("Q3 in [1, 2", 11, "expected ',' or ']' in the list, found end of expression"),
    ("Q3 in [1, Q4]", 10, "expected a number or a string in the list, found 'Q4'"),
    ("Q3 == [1]", 6, "a list can only follow 'in'"),
    ("Q9 has [1, 2]", 7, "expected an option code after 'has', found '['"),
    ("Q9 has Q3", 7, "expected an option code after 'has', found 'Q3'"),
    ("1 has 2", 2, "'has' needs a question reference on its left"),
    ("Q2. == 1", 3, "expected an item code after 'Q2.', found ' '"),
    ("(Q3 == 1) == 2", 10, "expected 'and', 'or' or end of expression, found '=='"),
]


@pytest.mark.parametrize(("source", "position", "message"), SYNTAX_ERRORS)
def test_syntax_errors_name_the_position_and_the_offending_text(
    source: str, position: int, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert caught.value.position == position
    assert message in caught.value.message
    assert str(caught.value).startswith(f"at {position}: ")


def test_a_missing_value_reads_position_colon_message() -> None:
    source = "Q2.a >= 3 and Q2.b =="
    expected = f"at {len(source)}: expected a value after '==', found end of expression"
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert str(caught.value) == expected


def test_an_expression_error_is_a_value_error_that_survives_pickling() -> None:
    error = ExpressionError("unknown question Q99", 4)
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.position, str(copy)) == (
        "unknown question Q99",
        4,
        "at 4: unknown question Q99",
    )


def test_the_lowercase_hint_is_given_only_for_a_miscased_keyword() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("Q3 == 1 or or")
    assert caught.value.message == "expected an expression after 'or', found 'or'"
    with pytest.raises(
        ExpressionError, match=r"after 'Not' \(keywords are lowercase\), found 'Q4'"
    ):
        parse("Q3 == 1 and Not Q4 == 2")


@pytest.mark.parametrize("source", ["not " * 2000 + "Q3 == 1", "(" * 2000 + "Q3 == 1" + ")" * 2000])
def test_absurdly_deep_nesting_is_an_expression_error_not_a_crash(source: str) -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse(source)


def test_moderate_nesting_parses() -> None:
    assert parse("not " * 50 + "(" * 50 + "Q3 == 1" + ")" * 50) is not None


def test_the_module_imports_without_django() -> None:
    code = (
        "import sys, survey.expressions; sys.exit(any(m.startswith('django') for m in sys.modules))"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, env=env).returncode == 0


def test_no_python_is_ever_evaluated() -> None:
    with pytest.raises(ExpressionError):
        parse("__import__('os').system('true')")


# --- canonical codes and rendering ------------------------------------------------------------


def test_canonical_code_makes_an_int_and_its_text_the_same_code() -> None:
    assert canonical_code(1) == canonical_code("1") == "1"
    assert canonical_code("bj") == "bj"
    assert canonical_code(-3) == "-3"


@pytest.mark.parametrize("value", [True, 1.0, Decimal("1"), None, [1]])
def test_canonical_code_refuses_anything_but_an_int_or_a_string(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical_code(value)


@pytest.mark.parametrize(
    ("source", "rendered"),
    [
        ("Q3==1", "Q3 == 1"),
        ("(Q3 == 1 or Q3 == 2) and Q4 == 1", "(Q3 == 1 or Q3 == 2) and Q4 == 1"),
        ("Q3 == 1 or (Q3 == 2 and Q4 == 1)", "Q3 == 1 or Q3 == 2 and Q4 == 1"),
        ("Q3 == 1 and (Q3 == 2 and Q4 == 1)", "Q3 == 1 and (Q3 == 2 and Q4 == 1)"),
        ("not Q3 == 1", "not (Q3 == 1)"),
        ("not not (Q3 == 1)", "not not (Q3 == 1)"),
        ("not (Q3 == 1 and Q4 == 2)", "not (Q3 == 1 and Q4 == 2)"),
        ("Q14 in [3,4]", "Q14 in [3, 4]"),
        ("3 <= Q2.a", "3 <= Q2.a"),
        ("Q18 == 'it\\'s \"x\"\\n'", 'Q18 == "it\'s \\"x\\"\\n"'),
        ("AGE > -2.50", "AGE > -2.50"),
    ],
)
def test_to_source_renders_text_that_parses_back_to_the_same_tree(
    source: str, rendered: str
) -> None:
    assert to_source(parse(source)) == rendered
    assert parse(rendered) == parse(source)


def test_to_source_never_writes_exponent_notation() -> None:
    expr = Compare(Ref("AGE"), "<", Literal(Decimal("1E+3")))
    assert to_source(expr) == "AGE < 1000"
    assert parse(to_source(expr)) == expr


# --- references -------------------------------------------------------------------------------


def test_references_lists_every_question_and_item_read() -> None:
    expr = parse("D1 == 1 and not (Q9 has 6 or 3 <= Q2.a) or Q2.a > Q2.b")
    assert references(expr) == {("D1", None), ("Q9", None), ("Q2", "a"), ("Q2", "b")}


# --- checking -----------------------------------------------------------------------------------

VALID = [
    "D1 == 1",
    "D1 == '2'",
    "D1 != 2",
    "D1 in [1, 2]",
    "D1 <= 1",
    "2 > D1",
    "Q2.a >= 3 and Q2.b < 3.5",
    "Q2.a > Q2.b",
    "AGE == Q2.c",
    "AGE in [18, 19.5]",
    "Q5.a <= 2",
    "Q5.e == 4",
    "Q9 has 6",
    "Q9 has '7'",
    "not (Q9 has 7)",
    "Q14 in [3, 4] and CITY == 'bj'",
    "CITY in ['sh', 1]",
    "Q18 == '希望页面更快' or Q18 != \"\" or Q18 in ['a', 'b']",
    "GRID.1 >= 0",
]


@pytest.mark.parametrize("source", VALID)
def test_well_typed_expressions_pass_the_check(source: str) -> None:
    check(parse(source), SPECS)


CHECK_ERRORS = [
    ("Q99 == 1", 0, "unknown question Q99"),
    ("D1 == 1 and Q3.a == 1", 12, "unknown question Q3"),
    ("D1.a == 1", 0, "D1 is a single question and has no items"),
    ("AGE.a == 1", 0, "AGE is a number question and has no items"),
    ("Q5 == 1", 0, "Q5 is a matrix question: name one of its items, e.g. Q5.a"),
    ("Q2 >= 1", 0, "Q2 is a number_grid question: name one of its items, e.g. Q2.a"),
    ("Q2.z >= 1", 0, "Q2 has no item z"),
    ("Q14 == 9", 7, "Q14 has no option 9"),
    ("Q14 in [1, 9]", 11, "Q14 has no option 9"),
    ("Q5.a == 5", 8, "Q5 has no scale point 5"),
    ("Q9 has 9", 7, "Q9 has no option 9"),
    ("CITY == 'gz'", 8, 'CITY has no option "gz"'),
    ("D1 has 1", 3, "'has' needs a multiple question, but D1 is single"),
    ("Q18 has 'a'", 4, "'has' needs a multiple question, but Q18 is text"),
    ("Q9 == 1", 3, "Q9 is a multiple question; test a choice with 'Q9 has CODE'"),
    ("Q9 in [1, 2]", 3, "Q9 is a multiple question"),
    ("Q18 < 'b'", 4, "'<' does not apply to text question Q18"),
    ("Q18 == 1", 7, "Q18 is a text answer; compare it with a quoted string, not 1"),
    ("Q2.a >= 'x'", 8, 'Q2.a is a number; compare it with a number, not "x"'),
    ("AGE in [1, 'x']", 11, "AGE is a number; compare it with a number"),
    ("D1 == 1.5", 6, "option codes are integers or strings, so D1 cannot equal 1.5"),
    ("Q9 has 1.0", 7, "option codes are integers or strings"),
    ("CITY >= 1", 5, "'>=' needs integer option codes, but CITY has option \"bj\""),
    ("Q5.a < '2'", 7, "Q5.a is ordered by its integer codes; compare it with an integer"),
    ("D1 == Q14", 3, "comparing two questions is only supported between numbers; D1 is a single"),
    ("Q2.a < Q18", 5, "Q18 is a text question"),
]


@pytest.mark.parametrize(("source", "position", "message"), CHECK_ERRORS)
def test_the_checker_refuses_ill_typed_expressions_with_a_position(
    source: str, position: int, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        check(parse(source), SPECS)
    assert caught.value.position == position
    assert message in caught.value.message


def test_the_checker_refuses_a_hand_built_tree_with_no_reference() -> None:
    with pytest.raises(ExpressionError, match="needs a question reference"):
        check(Compare(Literal(1), "==", Literal(1)), SPECS)


# --- evaluation -------------------------------------------------------------------------------

EVALUATIONS = [
    ("D1 == 1", FORMAT_EXAMPLE, True),
    ("D1 == '1'", FORMAT_EXAMPLE, True),
    ("D1 == 1", {"D1": "1"}, True),
    ("D1 == 2", FORMAT_EXAMPLE, False),
    ("D1 != 2", FORMAT_EXAMPLE, True),
    ("D1 != 1", FORMAT_EXAMPLE, False),
    ("D1 in [2, 1]", FORMAT_EXAMPLE, True),
    ("D1 in [2]", FORMAT_EXAMPLE, False),
    ("D1 < 2", FORMAT_EXAMPLE, True),
    ("D1 < 2", {"D1": "1"}, True),
    ("D1 < 2", {"D1": "01"}, False),
    ("D1 == 1", {"D1": "01"}, False),
    ("2 <= D1", FORMAT_EXAMPLE, False),
    ("CITY == 'bj'", {"CITY": "bj"}, True),
    ("CITY < 2", {"CITY": "bj"}, False),
    ("Q2.a >= 3 and Q2.b >= 3 and Q2.c >= 3 and Q2.d >= 3", FORMAT_EXAMPLE, False),
    ("Q2.a >= 3 and Q2.b >= 3 and Q2.d >= 3", FORMAT_EXAMPLE, True),
    ("Q2.b > Q2.a", FORMAT_EXAMPLE, True),
    ("Q2.a == Q2.d", FORMAT_EXAMPLE, False),
    ("Q2.a != Q2.d", FORMAT_EXAMPLE, True),
    ("3 < Q2.b", FORMAT_EXAMPLE, True),
    ("Q5.b <= 2 and Q5.e == 1", FORMAT_EXAMPLE, True),
    ("Q5.b > 2", FORMAT_EXAMPLE, False),
    ("Q9 has 4", FORMAT_EXAMPLE, True),
    ("Q9 has '1'", FORMAT_EXAMPLE, True),
    ("Q9 has 6", FORMAT_EXAMPLE, False),
    ("Q9 has 1", {"Q9": ["1", "4"]}, True),
    ("Q18 == '希望页面更快'", FORMAT_EXAMPLE, True),
    ("Q18 in ['a', '希望页面更快']", FORMAT_EXAMPLE, True),
    ("Q18 != 'a'", FORMAT_EXAMPLE, True),
    ("AGE == 30", {"AGE": 30.0}, True),
    ("AGE == 30.5", {"AGE": 30.5}, True),
    ("AGE == 0.1", {"AGE": 0.1}, True),
    ("AGE > 30.25", {"AGE": Decimal("30.3")}, True),
    ("AGE in [1, 2.5]", {"AGE": 2.5}, True),
    ("GRID.1 == 4", {"GRID": {"1": 4}}, True),
    ("GRID.1 == 4", {"GRID": {1: 4}}, True),
]


@pytest.mark.parametrize(("source", "answers", "expected"), EVALUATIONS)
def test_evaluate_reads_answers_in_the_json_shape(
    source: str, answers: dict[str, Any], expected: bool
) -> None:
    assert evaluate(parse(source), answers) is expected


@pytest.mark.parametrize(
    "source",
    ["D1 == 1", "D1 != 1", "D1 in [1, 2]", "D1 < 2", "Q2.a >= 0", "Q9 has 1", "Q2.a > AGE"],
)
def test_a_comparison_on_an_unanswered_reference_is_false_and_its_negation_true(
    source: str,
) -> None:
    expr = parse(source)
    assert evaluate(expr, {}) is False
    assert evaluate(Not(expr), {}) is True


def test_an_unanswered_item_of_an_answered_matrix_is_unanswered() -> None:
    answers = {"Q5": {"a": 1}}
    assert evaluate(parse("Q5.b != 1"), answers) is False
    assert evaluate(parse("not (Q5.b == 1)"), answers) is True


def test_comparing_two_references_needs_both_answered() -> None:
    assert evaluate(parse("Q2.a != AGE"), {"Q2": {"a": 1}}) is False
    assert evaluate(parse("Q2.a != AGE"), {"Q2": {"a": 1}, "AGE": 2}) is True


WRONG_SHAPES = [
    ("D1 == 1", {"D1": [1]}),
    ("D1 == 1", {"D1": True}),
    ("D1 != 2", {"D1": None}),
    ("D1 != 2", {"D1": {"a": 1}}),
    ("Q2.a >= 0", {"Q2": 5}),
    ("Q2.a >= 0", {"Q2": [0]}),
    ("Q2.a >= 0", {"Q2": {"a": "many"}}),
    ("Q2.a != 0", {"Q2": {"a": float("nan")}}),
    ("Q2.a != 0", {"Q2": {"a": Decimal("sNaN")}}),
    ("AGE < 1", {"AGE": float("-inf")}),
    ("Q9 has 1", {"Q9": 1}),
    ("Q9 has 1", {"Q9": "1"}),
    ("Q9 has 1", {"Q9": {"1": True}}),
    ("Q9 has 1", {"Q9": [True, 1.0, None, Decimal(1)]}),
    ("Q18 == '1.5'", {"Q18": 1.5}),
    ("Q18 == '2.50'", {"Q18": Decimal("2.50")}),
    ("Q18 == 'a'", {"Q18": ["a"]}),
]


@pytest.mark.parametrize(("source", "answers"), WRONG_SHAPES)
def test_answers_of_the_wrong_shape_count_as_unanswered_without_raising(
    source: str, answers: dict[str, Any]
) -> None:
    assert evaluate(parse(source), answers) is False


def test_evaluate_treats_a_non_mapping_answers_object_as_empty() -> None:
    assert evaluate(parse("not (D1 == 1)"), ["D1"]) is True  # type: ignore[arg-type]


# --- compile_expression -------------------------------------------------------------------


def test_compile_expression_parses_once_per_source_text() -> None:
    first = compile_expression("D1 == 1 and Q9 has 6")
    assert compile_expression("D1 == 1 and Q9 has 6") is first


def test_compile_expression_checks_only_when_given_questions() -> None:
    assert compile_expression("Q99 == 1") == Compare(Ref("Q99"), "==", Literal(1))
    with pytest.raises(ExpressionError, match="unknown question Q99"):
        compile_expression("Q99 == 1", SPECS)
    with pytest.raises(ExpressionError, match="at 5: expected a value"):
        compile_expression("Q3 ==", SPECS)


# --- the reference questionnaire ------------------------------------------------------------


def _reference() -> dict[str, Any]:
    return yaml.safe_load(REFERENCE_FILE.read_text(encoding="utf-8"))


def _reference_questions() -> list[dict[str, Any]]:
    return [q for section in _reference()["sections"] for q in section["questions"]]


def _specs_from_definition(questions: list[dict[str, Any]]) -> dict[str, QuestionSpec]:
    def codes(entries: list[dict[str, Any]]) -> frozenset[str]:
        return frozenset(canonical_code(entry["code"]) for entry in entries)

    return {
        q["code"]: QuestionSpec(
            q["code"],
            q["type"],
            codes(q.get("options", q.get("scale", []))),
            codes(q.get("items", [])),
        )
        for q in questions
    }


def _reference_expressions() -> list[str]:
    shows = [q["show_if"] for q in _reference_questions() if "show_if" in q]
    rules = [segment["rule"] for segment in _reference()["segments"]]
    return shows + rules


def test_the_reference_questionnaire_has_show_if_and_segment_rules_to_test() -> None:
    assert len(_reference_expressions()) >= 5


@pytest.mark.parametrize("source", _reference_expressions())
def test_every_reference_expression_parses_checks_and_round_trips(source: str) -> None:
    specs = _specs_from_definition(_reference_questions())
    expr = compile_expression(source, specs)
    assert parse(to_source(expr)) == expr


def test_every_reference_show_if_reads_only_earlier_questions() -> None:
    seen: set[str] = set()
    for question in _reference_questions():
        if "show_if" in question:
            read = {code for code, _ in references(parse(question["show_if"]))}
            assert read <= seen, question["code"]
        seen.add(question["code"])


def test_reference_segments_classify_respondents_as_the_report_defines_them() -> None:
    segments = {s["code"]: parse(s["rule"]) for s in _reference()["segments"]}
    heavy = {"Q2": {"a": 3, "b": 4, "c": 3, "d": 9}, "Q14": 1, "Q15": 1}
    light = {"Q2": {"a": 0, "b": 2, "c": 1, "d": 2}, "Q14": 4, "Q15": 2}
    partial = {"Q2": {"a": 0, "b": 2, "c": 1}}
    member = {
        code: [evaluate(rule, a) for a in (heavy, light, partial)]
        for code, rule in segments.items()
    }
    assert member == {
        "active": [True, False, False],
        "passive": [False, True, False],
        "trend_sceptic": [False, True, False],
        "agree_but_return": [True, False, False],
    }
