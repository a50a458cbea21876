"""The expression language compiled to database filters (the language itself, its parser,
checker and evaluator: ``survey.expressions``).

``to_q`` gives a ``Q`` over ``survey.Response`` with exactly ``evaluate``'s semantics, one
``EXISTS`` per comparison; ``to_answer_tests`` gives the same condition as tests on single
answer rows, for a grouped pass over many responses (the analysis chunks). Both are checked
against ``evaluate`` on stored data by tests/survey/test_expressions_db.py.

Django is imported lazily, inside the builders, so this module imports without settings.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from typing import TYPE_CHECKING, Any

from survey.expressions import (
    FLIPPED,
    ORDERING_OPERATORS,
    And,
    Compare,
    Expr,
    ExpressionError,
    ListLiteral,
    Not,
    Or,
    Ref,
    holds,
    orient,
    shape_error,
)

if TYPE_CHECKING:
    from django.db.models import Q, QuerySet

_LOOKUPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def to_q(
    expr: Expr,
    *,
    question_ids: Mapping[str, int],
    item_ids: Mapping[tuple[str, str], int],
    option_ids: Mapping[tuple[str, str], int],
) -> Q:
    """A `Q` over `survey.Response` selecting the responses on whose answers `expr` holds.

    It equals `evaluate` on each response's answers, unanswered references included, for an
    `expr` that passed `check` against the questionnaire these ids come from. `option_ids` is
    keyed by (question code, canonical option or scale code), `item_ids` by (question, item).
    A question is read through its Option rows when `option_ids` has any key for it, else
    through `number` (numeric literals) or `text` (string literals). Each comparison is one
    `Exists` over `survey.Answer`; ordering on option codes is resolved to option ids here.
    """
    return _QueryBuilder(question_ids, item_ids, option_ids).build(expr)


@dataclass(frozen=True)
class AnswerTests:
    """An expression as tests on single answer rows, combined per response.

    `tests[k]` is a `Q` over `survey.Answer` (no response in it). The expression holds on a
    response when `holds` does, each of its leaves ``("test", k)`` read as "some answer row of
    the response passes `tests[k]`". This is the same condition as `to_q`'s, in a shape that a
    grouped pass over many responses' answers computes at once (one flag per test and response)
    instead of one `EXISTS` per comparison and response.
    """

    tests: list[Q]
    holds: Q

    def sql(self, passed: Callable[[int], str]) -> str:
        """`holds` as SQL text, leaf k written as `passed(k)`, a boolean SQL expression that must
        be false (not NULL) for a response without a row passing test k."""
        return _render(self.holds, passed)


def to_answer_tests(
    expr: Expr,
    *,
    question_ids: Mapping[str, int],
    item_ids: Mapping[tuple[str, str], int],
    option_ids: Mapping[tuple[str, str], int],
) -> AnswerTests | None:
    """`expr` as `AnswerTests` (same arguments and meaning as `to_q`), or None when it compares
    two references (`Q2.a > Q2.b` reads two answer rows at once: use `to_q`)."""
    builder = _TestsBuilder(question_ids, item_ids, option_ids)
    try:
        holds = builder.build(expr)
    except _AcrossRows:
        return None
    return AnswerTests(tests=builder.tests, holds=holds)


class _AcrossRows(Exception):
    """A comparison of two references: no single answer row can decide it."""


def _render(condition: Q, passed: Callable[[int], str]) -> str:
    from django.db.models import Q

    parts = []
    for child in condition.children:
        if isinstance(child, Q):
            parts.append(_render(child, passed))
        elif child[0] == "test":
            parts.append(passed(child[1]))
        else:  # _never()
            parts.append("1 = 0")
    joined = f" {condition.connector} ".join(f"({part})" for part in parts)
    return f"NOT ({joined})" if condition.negated else joined


@dataclass(frozen=True)
class _QueryBuilder:
    question_ids: Mapping[str, int]
    item_ids: Mapping[tuple[str, str], int]
    option_ids: Mapping[tuple[str, str], int]

    def build(self, expr: Expr) -> Q:
        if isinstance(expr, And):
            return reduce(operator.and_, (self.build(op) for op in expr.operands))
        if isinstance(expr, Or):
            return reduce(operator.or_, (self.build(op) for op in expr.operands))
        if isinstance(expr, Not):
            return ~self.build(expr.operand)
        if isinstance(expr, Compare):
            if error := shape_error(expr):
                raise error
            return self._compare(expr)
        raise TypeError(f"not an expression node: {expr!r}")

    def _compare(self, node: Compare) -> Q:
        ref, op, other = orient(node)
        if isinstance(other, Ref):
            return self._number_pair(ref, op, other)
        values = [v.value for v in (other.values if isinstance(other, ListLiteral) else (other,))]
        if op == "has" or any(question == ref.question for question, _ in self.option_ids):
            return self._options(ref, op, values)
        if all(isinstance(value, str) for value in values):
            return self._values(ref, op, "text", values)
        numbers = [Decimal(v) for v in values if isinstance(v, int | Decimal)]
        return self._values(ref, op, "number", numbers)

    def _rows(self, ref: Ref) -> Q:
        """A `Q` over `survey.Answer`: the answer rows of `ref`, of any response."""
        from django.db.models import Q

        try:
            question_id = self.question_ids[ref.question]
            item_id = None if ref.item is None else self.item_ids[(ref.question, ref.item)]
        except KeyError as missing:
            raise ExpressionError(f"no database id for {missing}", ref.pos) from None
        return Q(question_id=question_id, item_id=item_id)

    def _answered(self, rows: Q) -> Q:
        """A `Q` over `survey.Response`: it has an answer row matching `rows`."""
        from django.db.models import OuterRef

        from survey.models import Answer

        return _exists(Answer.objects.filter(rows, response=OuterRef("pk")))

    def _options(self, ref: Ref, op: str, values: list[Any]) -> Q:
        from django.db.models import Q

        # The same comparison evaluate() makes, applied to every option code of the question.
        test = op if op in ORDERING_OPERATORS else "=="
        ids = [
            option_id
            for (question, code), option_id in self.option_ids.items()
            if question == ref.question and any(holds(code, test, value) for value in values)
        ]
        rows = self._rows(ref) & Q(option__isnull=False)
        if op == "!=":
            return self._answered(rows & ~Q(option_id__in=ids) if ids else rows)
        return self._answered(rows & Q(option_id__in=ids)) if ids else _never()

    def _values(self, ref: Ref, op: str, column: str, values: list[Any]) -> Q:
        from django.db.models import Q

        rows = self._rows(ref) & Q(**{f"{column}__isnull": False})
        if op == "!=":
            return self._answered(rows & ~Q(**{column: values[0]}) if values else rows)
        if not values:
            return _never()
        if op in ORDERING_OPERATORS:
            return self._answered(rows & Q(**{f"{column}__{_LOOKUPS[op]}": values[0]}))
        return self._answered(rows & Q(**{f"{column}__in": values}))

    def _number_pair(self, left: Ref, op: str, right: Ref) -> Q:
        """`left op right` on two numbers: an answer row of `left` with a matching `right` row."""
        from django.db.models import OuterRef, Q

        from survey.models import Answer

        here = OuterRef("number")
        if op == "==":
            relation = Q(number=here)
        elif op == "!=":
            relation = Q(number__lt=here) | Q(number__gt=here)
        else:  # left < right reads, from the right row, right > left
            relation = Q(**{f"number__{_LOOKUPS[FLIPPED[op]]}": here})
        right_rows = Answer.objects.filter(self._rows(right), response=OuterRef(OuterRef("pk")))
        right_rows = right_rows.filter(relation, number__isnull=False)
        left_rows = Answer.objects.filter(self._rows(left), response=OuterRef("pk"))
        return _exists(left_rows.filter(_exists(right_rows), number__isnull=False))


@dataclass(frozen=True)
class _TestsBuilder(_QueryBuilder):
    """Builds `AnswerTests`: each row test is collected, and stands as ``("test", k)``."""

    tests: list[Q] = field(default_factory=list)

    def _answered(self, rows: Q) -> Q:
        from django.db.models import Q

        self.tests.append(rows)
        return Q(test=len(self.tests) - 1)

    def _number_pair(self, left: Ref, op: str, right: Ref) -> Q:
        raise _AcrossRows


def _exists(queryset: QuerySet) -> Q:
    from django.db.models import Exists, Q

    return Q(Exists(queryset))


def _never() -> Q:
    from django.db.models import Q

    return Q(pk__in=[])
