"""Property tests of the expression language: random schemas, trees and answers.

`evaluate` is compared with `reference_evaluate` below, a plain interpretation written apart
from the module (exact fractions for numbers, `type()` tests for shapes), over answers that
include unanswered questions and values of the wrong type.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from survey.expressions import (
    And,
    Compare,
    Expr,
    ExpressionError,
    ListLiteral,
    Literal,
    Not,
    Or,
    QuestionSpec,
    Ref,
    check,
    evaluate,
    parse,
    to_source,
)

EXAMPLES = settings(max_examples=300, deadline=None)

# --- an independent reference evaluator ---------------------------------------------------------

MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def exact(value: Any) -> Fraction | None:
    """A number as an exact fraction; a float means the decimal JSON wrote for it."""
    if type(value) is int:
        return Fraction(value)
    if type(value) is float and math.isfinite(value):
        return Fraction(repr(value))
    if type(value) is Decimal and value.is_finite():
        return Fraction(value)
    return None


def code_key(value: Any) -> str | None:
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return value
    return None


def integer_code(value: Any) -> Fraction | None:
    if type(value) is not str:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return Fraction(number) if str(number) == value else None


def same(a: Any, b: Any) -> bool:
    if exact(a) is not None and exact(b) is not None:
        return exact(a) == exact(b)
    return code_key(a) is not None and code_key(a) == code_key(b)


def read(answers: dict[str, Any], ref: Ref) -> Any:
    """The scalar answer of a reference, or None when it is unanswered or of the wrong shape."""
    value = answers.get(ref.question)
    if ref.item is not None:
        if type(value) is not dict:
            return None
        value = value.get(ref.item, value.get(int(ref.item)) if ref.item.isdigit() else None)
    if code_key(value) is None and exact(value) is None:
        return None
    return value


def reference_compare(node: Compare, answers: dict[str, Any]) -> bool:
    left, op, right = node.left, node.op, node.right
    if not isinstance(left, Ref):
        left, op, right = right, MIRRORED[op], left
    if op == "has":
        chosen = answers.get(left.question)
        if type(chosen) not in (list, tuple, set, frozenset):
            return False
        keys = {code_key(c) for c in chosen} - {None}
        return code_key(right.value) in keys
    a = read(answers, left)
    if a is None:
        return False
    if op == "in":
        return any(same(a, literal.value) for literal in right.values)
    b = read(answers, right) if isinstance(right, Ref) else right.value
    if b is None:
        return False
    if op in ("==", "!="):
        return same(a, b) is (op == "==")
    x = exact(a) if exact(a) is not None else integer_code(a)
    y = exact(b) if exact(b) is not None else integer_code(b)
    if x is None or y is None:
        return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def reference_evaluate(expr: Expr, answers: dict[str, Any]) -> bool:
    if isinstance(expr, Not):
        return not reference_evaluate(expr.operand, answers)
    if isinstance(expr, And):
        return all(reference_evaluate(e, answers) for e in expr.operands)
    if isinstance(expr, Or):
        return any(reference_evaluate(e, answers) for e in expr.operands)
    return reference_compare(expr, answers)


# --- strategies -----------------------------------------------------------------------------------

TYPES = ["single", "multiple", "matrix", "number", "number_grid", "text"]
OPTION_CODES = st.one_of(st.integers(-2, 9).map(str), st.sampled_from(["a", "b", "yes", "x_1"]))
ITEM_CODES = st.sampled_from(["a", "b", "c2", "1", "10"])
TEXTS = st.one_of(
    st.sampled_from(["", "1", "01", "-0", "1.5", "2.50", "a", "yes", 'say "hi"', "back\\slash"]),
    st.sampled_from(["line\nbreak", "希望"]),
    st.text(max_size=4),
)
NUMBERS = st.one_of(
    st.integers(-5, 15),
    st.sampled_from([Decimal("1.5"), Decimal("2.50"), Decimal("-0")]),
    st.decimals(-20, 20, places=2, allow_nan=False, allow_infinity=False),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Inf")]),
    st.lists(
        st.one_of(st.integers(0, 3), st.sampled_from([True, 1.0, Decimal(1), "1"])), max_size=2
    ),
    st.dictionaries(ITEM_CODES, st.integers(0, 3), max_size=2),
    TEXTS,
    NUMBERS,
)


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, QuestionSpec]:
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=6))
    specs = {}
    for index, type_ in enumerate(types):
        code = f"{type_[0].upper()}{index}"
        with_options = type_ in ("single", "multiple", "matrix")
        options = draw(st.frozensets(OPTION_CODES, min_size=1, max_size=4)) if with_options else []
        with_items = type_ in ("matrix", "number_grid")
        items = draw(st.frozensets(ITEM_CODES, min_size=1, max_size=3)) if with_items else []
        specs[code] = QuestionSpec(code, type_, frozenset(options), frozenset(items))
    return specs


def as_written(code: str) -> int | str:
    """An option code as a definition file writes it: 1, not "1"."""
    return int(code) if re.fullmatch(r"0|-?[1-9][0-9]*", code) else code


def option_literals(spec: QuestionSpec) -> st.SearchStrategy[Literal]:
    return st.sampled_from(sorted(spec.options)).flatmap(
        lambda code: st.sampled_from([Literal(as_written(code)), Literal(code)])
    )


def refs_of(spec: QuestionSpec) -> st.SearchStrategy[Ref]:
    if not spec.items:
        return st.just(Ref(spec.code))
    return st.sampled_from(sorted(spec.items)).map(lambda item: Ref(spec.code, item))


@st.composite
def typed_comparisons(draw: st.DrawFn, specs: dict[str, QuestionSpec]) -> Compare:
    """A comparison that `check` accepts against `specs`."""
    spec = draw(st.sampled_from(list(specs.values())))
    ref = draw(refs_of(spec))
    if spec.type == "multiple":
        return Compare(ref, "has", draw(option_literals(spec)))
    if spec.type == "text":
        values, ops = st.builds(Literal, TEXTS), ["==", "!=", "in"]
    elif spec.type in ("number", "number_grid"):
        values, ops = st.builds(Literal, NUMBERS), ["==", "!=", "in", "<", "<=", ">", ">="]
        numbers = [s for s in specs.values() if s.type in ("number", "number_grid")]
        if draw(st.booleans()):
            other = draw(st.sampled_from(numbers).flatmap(refs_of))
            return Compare(ref, draw(st.sampled_from(list(MIRRORED))), other)
    else:
        values, ops = option_literals(spec), ["==", "!=", "in"]
        if all(re.fullmatch(r"0|-?[1-9][0-9]*", code) for code in spec.options):
            ops += ["<", "<=", ">", ">="]
    op = draw(st.sampled_from(ops))
    if op in ("<", "<=", ">", ">=") and spec.type in ("single", "matrix"):
        values = st.builds(Literal, st.integers(-3, 12))
    if op == "in":
        return Compare(
            ref, "in", ListLiteral(tuple(draw(st.lists(values, min_size=1, max_size=3))))
        )
    if draw(st.booleans()):
        return Compare(draw(values), MIRRORED[op], ref)
    return Compare(ref, op, draw(values))


@st.composite
def untyped_comparisons(draw: st.DrawFn) -> Compare:
    """A comparison that is well formed but may make no sense for any questionnaire."""
    ref = Ref(draw(st.sampled_from(["A", "B"])), draw(st.one_of(st.none(), ITEM_CODES)))
    literals = st.builds(Literal, st.one_of(NUMBERS, TEXTS, OPTION_CODES))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "has", "ref"]))
    if op == "in":
        return Compare(
            ref, "in", ListLiteral(tuple(draw(st.lists(literals, min_size=1, max_size=3))))
        )
    if op == "has":
        return Compare(ref, "has", draw(literals))
    if op == "ref":
        return Compare(ref, draw(st.sampled_from(list(MIRRORED))), Ref("B", draw(ITEM_CODES)))
    return Compare(ref, op, draw(literals))


def trees(leaves: st.SearchStrategy[Compare]) -> st.SearchStrategy[Expr]:
    def branches(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        several = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(children.map(Not), several.map(And), several.map(Or))

    return st.recursive(leaves, branches, max_leaves=6)


def answer_for(spec: QuestionSpec) -> st.SearchStrategy[Any]:
    codes = st.sampled_from(sorted(spec.options)).map(as_written) if spec.options else JUNK
    valid = {
        "single": codes,
        "multiple": st.lists(codes, max_size=3),
        "matrix": st.dictionaries(st.sampled_from(sorted(spec.items or {"a"})), codes, max_size=3),
        "number": st.one_of(NUMBERS, NUMBERS.map(float)),
        "number_grid": st.dictionaries(
            st.sampled_from(sorted(spec.items or {"a"})), st.one_of(NUMBERS, JUNK), max_size=3
        ),
        "text": TEXTS,
    }[spec.type]
    return st.one_of(valid, valid, JUNK)


@st.composite
def answers_for(draw: st.DrawFn, specs: dict[str, QuestionSpec]) -> dict[str, Any]:
    answers = {}
    for code, spec in specs.items():
        if draw(st.booleans()):  # otherwise unanswered: the key is absent
            answers[code] = draw(answer_for(spec))
    return answers


@st.composite
def typed_cases(draw: st.DrawFn) -> tuple[dict[str, QuestionSpec], Expr, dict[str, Any]]:
    specs = draw(schemas())
    return specs, draw(trees(typed_comparisons(specs))), draw(answers_for(specs))


UNTYPED_ANSWERS = st.dictionaries(
    st.sampled_from(["A", "B"]),
    st.one_of(JUNK, st.dictionaries(ITEM_CODES, st.one_of(NUMBERS, TEXTS, JUNK), max_size=3)),
)

# --- properties -----------------------------------------------------------------------------------


@EXAMPLES
@given(st.one_of(trees(untyped_comparisons()), typed_cases().map(lambda case: case[1])))
def test_to_source_parses_back_to_an_equal_tree(expr: Expr) -> None:
    assert parse(to_source(expr)) == expr


@EXAMPLES
@given(trees(untyped_comparisons()))
def test_parsed_nodes_point_at_their_own_text(expr: Expr) -> None:
    source = to_source(expr)
    # Walk the generated tree and its parse side by side: they are equal but for positions.
    pending: list[tuple[Any, Any]] = [(expr, parse(source))]
    while pending:
        written, parsed = pending.pop()
        if isinstance(parsed, And | Or):
            assert source.startswith(to_source(written.operands[0]).lstrip("("), parsed.pos)
            pending.extend(zip(written.operands, parsed.operands, strict=True))
        elif isinstance(parsed, Not):
            assert source.startswith("not ", parsed.pos)
            pending.append((written.operand, parsed.operand))
        else:
            assert source.startswith(to_source(written), parsed.pos)
            assert source.startswith(parsed.op, parsed.op_pos)
            assert source.startswith(to_source(written.left), parsed.left.pos)
            assert source.startswith(to_source(written.right), parsed.right.pos)


@EXAMPLES
@given(typed_cases())
def test_well_typed_trees_pass_the_check_and_evaluate_as_the_reference_does(case: Any) -> None:
    specs, expr, answers = case
    check(expr, specs)
    assert evaluate(expr, answers) is reference_evaluate(expr, answers)


@EXAMPLES
@given(trees(untyped_comparisons()), UNTYPED_ANSWERS)
def test_evaluate_agrees_with_the_reference_evaluator_on_unchecked_trees(
    expr: Expr, answers: dict[str, Any]
) -> None:
    assert evaluate(expr, answers) is reference_evaluate(expr, answers)


GRAMMAR_PIECES = (
    "Q3 Q2.a Q2. 1 -2.5 'x' \"y\\\" == != < >= = in has and or not AND ( ) [ ] , . @ \\"
)
GRAMMAR_TEXT = st.lists(st.sampled_from([*GRAMMAR_PIECES.split(), " "]), max_size=12).map("".join)


@EXAMPLES
@given(st.one_of(st.text(max_size=30), GRAMMAR_TEXT))
def test_any_text_either_parses_or_raises_an_expression_error_inside_the_source(
    source: str,
) -> None:
    try:
        expr = parse(source)
    except ExpressionError as error:
        assert 0 <= error.position <= len(source)
        assert str(error).startswith(f"at {error.position}: ")
    else:
        assert parse(to_source(expr)) == expr
