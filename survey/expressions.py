"""The expression language of `show_if` and segment `rule` (QUESTIONNAIRE-FORMAT.md, "Expressions").

    source --parse--> AST --check(questions)--> evaluate(answers) -> bool
                                             `-> to_q / to_answer_tests  -> database filters
                                                 (survey.expressions_sql)

Three evaluators share these semantics and are held equal by tests: ``evaluate`` here (the
submit path and the no-JS form), ``survey.expressions_sql`` (validity, segments and export
filters as SQL; tests/survey/test_expressions_db.py), and the browser twin in
static/survey/form.js, which evaluates the tree ``survey.form_logic`` ships to the page
(tests/browser/test_show_if_parity.py).

The grammar, lowest precedence first (keywords are lowercase, case-sensitive)::

    expression := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" expression ")" | comparison
    comparison := operand ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                | operand "in" list | reference "has" scalar
    operand    := reference | scalar | list
    reference  := CODE | CODE "." ITEM        scalar := INTEGER | DECIMAL | STRING
    list       := "[" scalar ("," scalar)* "]"

The source is read by a hand-written tokenizer and recursive-descent parser; nothing is ever
passed to `eval`. Positions, in nodes and in `ExpressionError`, are 0-based character offsets
into the source. Comparisons do not chain (`Q3 == 1 == 2` is an error), and a comparison needs
a question reference on at least one side, on either side (`3 <= Q2.a`).

A comparison that reads an unanswered reference is false, so `not (Q3 == 1)` holds when Q3 is
unanswered, and `Q3 != 1` does not. Comparing two references is allowed between numbers only
(number questions and number_grid items), e.g. `Q2.a > Q2.b`; see `check`.

This module does not import Django.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

KEYWORDS = frozenset({"and", "or", "not", "in", "has"})
COMPARISON_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
ORDERING_OPERATORS = frozenset(_ORDER)
FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# The canonical text of an integer: what canonical_code() gives for an int.
_INT_CODE = re.compile(r"0|-?[1-9][0-9]*")


UNKNOWN_REFERENCE = "unknown_reference"


class Text(str):
    """A message in English that remembers how it was made, so that the Django side can
    translate it (``survey.interchange_problems.localized``): ``template % params``, where a
    param may itself be a Text. This module stays free of Django."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: dict[str, Any]) -> Text:
        text = super().__new__(cls, template % params if params else template)
        text.template = template
        text.params = params
        return text


def _(template: str, **params: Any) -> Text:
    """A translatable message (the name is what makemessages looks for)."""
    return Text(template, params)


class ExpressionError(ValueError):
    """A syntax or type error in an expression; `str()` reads `at POSITION: MESSAGE`.

    ``code`` says what kind: ``unknown_reference`` (a question, item or option the
    questionnaire does not have) or ``invalid_expression`` (everything else)."""

    def __init__(self, message: str, position: int, code: str = "invalid_expression") -> None:
        super().__init__(f"at {position}: {message}")
        self.message = message
        self.position = position
        self.code = code

    def __reduce__(self) -> tuple[type[ExpressionError], tuple[str, int, str]]:  # for pickle
        return (type(self), (self.message, self.position, self.code))


@dataclass(frozen=True)
class QuestionSpec:
    """What the checker needs to know about one question."""

    code: str
    type: str  # 'single' | 'multiple' | 'matrix' | 'number' | 'number_grid' | 'text'
    options: frozenset[str] = frozenset()  # canonical option codes, or a matrix's scale codes
    items: frozenset[str] = frozenset()  # item codes (matrix / number_grid)


def canonical_code(value: object) -> str:
    """The canonical text of an option, scale or item code: `1` and `"1"` are the same code.

    An int (not a bool) gives `str(value)`, a str is itself; anything else is a TypeError.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"a code is an integer or a string, not {value!r}")
    return str(value)


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """Base of every node. `pos` is where the node's text starts; equality ignores it."""

    pos: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Ref(Node):
    """A reference to an answer: `Q3` (item None) or `Q2.a`."""

    question: str
    item: str | None = None


@dataclass(frozen=True)
class Literal(Node):
    """An integer, a decimal (as `Decimal`) or a string."""

    value: int | Decimal | str


@dataclass(frozen=True)
class ListLiteral(Node):
    """`[1, 2]`: only ever the right operand of `in`."""

    values: tuple[Literal, ...]


Operand = Ref | Literal | ListLiteral


@dataclass(frozen=True)
class Compare(Node):
    """`left op right`; `op` is one of `== != < <= > >= in has`. `op_pos` locates the operator."""

    left: Operand
    op: str
    right: Operand
    op_pos: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class And(Node):
    """Two or more operands; `(a and b) and c` keeps its explicit nesting."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Expr, ...]


Expr = Compare | Not | And | Or


# --- tokenizer and parser ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # 'ref' | 'keyword' | 'number' | 'string' | 'op' | 'punct' | 'end'
    text: str  # as written in the source
    pos: int
    value: Any = None  # (question, item) for refs, the Python value for literals


_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_ITEM_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_CHARACTER_HINTS = {"=": "'=='", "!": "'!='", "&": "'and'", "|": "'or'"}


def _tokenize(source: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(source):
        if source[pos].isspace():
            pos += 1
        else:
            tokens.append(_scan_token(source, pos))
            pos += len(tokens[-1].text)
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _scan_token(source: str, pos: int) -> _Token:
    char = source[pos]
    if char in "'\"":
        return _scan_string(source, pos)
    if match := _NUMBER_RE.match(source, pos):
        text = match.group()
        return _Token("number", text, pos, Decimal(text) if "." in text else int(text))
    if match := _NAME_RE.match(source, pos):
        return _scan_name(source, match)
    for op in COMPARISON_OPERATORS:
        if source.startswith(op, pos):
            return _Token("op", op, pos)
    if char in "()[],":
        return _Token("punct", char, pos)
    if char in _CHARACTER_HINTS:
        message = _(
            "unexpected character %(char)s; did you mean %(hint)s?",
            char=repr(char),
            hint=_CHARACTER_HINTS[char],
        )
        raise ExpressionError(message, pos)
    raise ExpressionError(_("unexpected character %(char)s", char=repr(char)), pos)


def _scan_name(source: str, match: re.Match[str]) -> _Token:
    name, start, end = match.group(), match.start(), match.end()
    if end < len(source) and source[end] == ".":
        item = _ITEM_RE.match(source, end + 1)
        if item is None:
            found = repr(source[end + 1]) if end + 1 < len(source) else _("end of expression")
            message = _(
                "expected an item code after '%(name)s.', found %(found)s", name=name, found=found
            )
            raise ExpressionError(message, end + 1)
        return _Token("ref", source[start : item.end()], start, (name, item.group()))
    if name in KEYWORDS:
        return _Token("keyword", name, start)
    return _Token("ref", name, start, (name, None))


def _scan_string(source: str, start: int) -> _Token:
    quote, chars, pos = source[start], [], start + 1
    while pos < len(source):
        char = source[pos]
        if char == quote:
            return _Token("string", source[start : pos + 1], start, "".join(chars))
        if char == "\\":
            escaped = source[pos + 1 : pos + 2]
            if not escaped:
                break
            if escaped not in _ESCAPES:
                message = _("unknown escape '\\%(char)s' in a string", char=escaped)
                raise ExpressionError(message, pos)
            chars.append(_ESCAPES[escaped])
            pos += 2
            continue
        chars.append(char)
        pos += 1
    message = _("unterminated string: no closing %(quote)s before the end", quote=quote)
    raise ExpressionError(message, start)


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return _("end of expression")
    text = token.text if len(token.text) <= 24 else token.text[:21] + "..."
    if text.lower() in KEYWORDS - {text}:
        return _("'%(text)s' (keywords are lowercase)", text=text)
    return f"'{text}'"


def parse(source: str) -> Expr:
    """Parse `source` into an immutable AST, or raise `ExpressionError` at the offending text."""
    try:
        return _Parser(source).parse()
    except RecursionError:  # hundreds of nested 'not' or '(': refuse, as for any bad input
        raise ExpressionError(_("the expression is nested too deeply"), 0) from None


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, source: str) -> None:
        self._tokens = _tokenize(source)
        self._index = 0

    def parse(self) -> Expr:
        expr = self._or(None)
        if self._peek().kind != "end":
            raise self._fail("expected 'and', 'or' or end of expression", self._peek())
        return expr

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _is(self, kind: str, text: str) -> bool:
        return (self._peek().kind, self._peek().text) == (kind, text)

    @staticmethod
    def _fail(expected: str, token: _Token) -> ExpressionError:
        return ExpressionError(
            _("%(expected)s, found %(found)s", expected=expected, found=_describe(token)), token.pos
        )

    def _or(self, after: str | None) -> Expr:
        operands = [self._and(after)]
        while self._is("keyword", "or"):
            operands.append(self._and(self._next().text))
        return operands[0] if len(operands) == 1 else Or(tuple(operands), pos=operands[0].pos)

    def _and(self, after: str | None) -> Expr:
        operands = [self._not(after)]
        while self._is("keyword", "and"):
            operands.append(self._not(self._next().text))
        return operands[0] if len(operands) == 1 else And(tuple(operands), pos=operands[0].pos)

    def _not(self, after: str | None) -> Expr:
        if self._is("keyword", "not"):
            keyword = self._next()
            return Not(self._not("not"), pos=keyword.pos)
        if self._is("punct", "("):
            opening = self._next()
            inner = self._or("(")
            if not self._is("punct", ")"):
                expected = _("expected ')' to close the '(' at %(pos)d", pos=opening.pos)
                raise self._fail(expected, self._peek())
            self._next()
            return inner
        return self._comparison(after)

    def _comparison(self, after: str | None) -> Compare:
        left_token = self._peek()
        expected = (
            _("expected an expression after '%(word)s'", word=after)
            if after
            else _("expected an expression")
        )
        left = self._operand(expected)
        op_token = self._peek()
        if not _is_operator(op_token):
            expected = _(
                "expected a comparison operator after %(token)s", token=_describe(left_token)
            )
            raise self._fail(expected, op_token)
        self._next()
        right = self._right_operand(op_token)
        node = Compare(left, op_token.text, right, pos=left.pos, op_pos=op_token.pos)
        if error := shape_error(node):
            raise error
        if _is_operator(following := self._peek()):
            message = _(
                "comparisons cannot be chained, found a second %(token)s; "
                "join comparisons with 'and'",
                token=_describe(following),
            )
            raise ExpressionError(message, following.pos)
        return node

    def _right_operand(self, op_token: _Token) -> Operand:
        op = op_token.text
        if op == "in" and not self._is("punct", "["):
            raise self._fail(_("expected a list such as [1, 2] after 'in'"), self._peek())
        if op == "has" and self._peek().kind not in ("number", "string"):
            raise self._fail(_("expected an option code after 'has'"), self._peek())
        return self._operand(_("expected a value after '%(op)s'", op=op))

    def _operand(self, expected: str) -> Operand:
        token = self._peek()
        if token.kind == "ref":
            self._next()
            question, item = token.value
            return Ref(question, item, pos=token.pos)
        if token.kind in ("number", "string"):
            self._next()
            return Literal(token.value, pos=token.pos)
        if self._is("punct", "["):
            return self._list()
        raise self._fail(expected, token)

    def _list(self) -> ListLiteral:
        opening = self._next()
        if self._is("punct", "]"):
            raise ExpressionError(_("a list needs at least one value"), opening.pos)
        values = []
        while True:
            token = self._next()
            if token.kind not in ("number", "string"):
                raise self._fail(_("expected a number or a string in the list"), token)
            values.append(Literal(token.value, pos=token.pos))
            separator = self._next()
            if separator.kind == "punct" and separator.text == "]":
                return ListLiteral(tuple(values), pos=opening.pos)
            if not (separator.kind == "punct" and separator.text == ","):
                raise self._fail(_("expected ',' or ']' in the list"), separator)


def _is_operator(token: _Token) -> bool:
    return token.kind == "op" or (token.kind == "keyword" and token.text in ("in", "has"))


def shape_error(node: Compare) -> ExpressionError | None:
    """The structural rules of a comparison, shared by the parser and `check`."""
    left, op, right = node.left, node.op, node.right
    if isinstance(left, ListLiteral) or (isinstance(right, ListLiteral) and op != "in"):
        where = left if isinstance(left, ListLiteral) else right
        return ExpressionError(_("a list can only follow 'in'"), where.pos)
    if op == "in" and not isinstance(right, ListLiteral):
        return ExpressionError(_("'in' needs a list such as [1, 2] on its right"), node.op_pos)
    if op == "has" and not (isinstance(left, Ref) and isinstance(right, Literal)):
        message = _("'has' needs a question reference on its left and an option code on its right")
        return ExpressionError(message, node.op_pos)
    if op not in FLIPPED and op not in ("in", "has"):
        return ExpressionError(_("unknown operator %(op)s", op=repr(op)), node.op_pos)
    if not (isinstance(left, Ref) or isinstance(right, Ref)):
        message = _(
            "a comparison needs a question reference on one side, found %(found)s",
            found=to_source(node),
        )
        return ExpressionError(message, node.pos)
    return None


@lru_cache(maxsize=512)
def _parse_cached(source: str) -> Expr:
    return parse(source)


def compile_expression(source: str, questions: Mapping[str, QuestionSpec] | None = None) -> Expr:
    """Parse `source`, then `check` it when `questions` is given.

    Parsing is cached by source text; the tree is immutable, so callers may share it.
    """
    expr = _parse_cached(source)
    if questions is not None:
        check(expr, questions)
    return expr


# --- rendering and walking --------------------------------------------------------------------


def to_source(expr: Expr | Operand) -> str:
    """Source text that parses back to an equal tree, with only the parentheses it needs."""
    if isinstance(expr, Or):
        return " or ".join(_wrap(op, isinstance(op, Or)) for op in expr.operands)
    if isinstance(expr, And):
        return " and ".join(_wrap(op, isinstance(op, And | Or)) for op in expr.operands)
    if isinstance(expr, Not):
        return "not " + _wrap(expr.operand, not isinstance(expr.operand, Not))
    if isinstance(expr, Compare):
        return f"{to_source(expr.left)} {expr.op} {to_source(expr.right)}"
    if isinstance(expr, Ref):
        return expr.question if expr.item is None else f"{expr.question}.{expr.item}"
    if isinstance(expr, ListLiteral):
        return "[" + ", ".join(_literal_source(v.value) for v in expr.values) + "]"
    if isinstance(expr, Literal):
        return _literal_source(expr.value)
    raise TypeError(f"not an expression node: {expr!r}")


def _wrap(expr: Expr, parenthesize: bool) -> str:
    text = to_source(expr)
    return f"({text})" if parenthesize else text


def _literal_source(value: object) -> str:
    if isinstance(value, str):
        escaped = "".join(_ESCAPED_CHARS.get(char, char) for char in value)
        return f'"{escaped}"'
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation, which the grammar lacks
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"not a literal value: {value!r}")


_ESCAPED_CHARS = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _walk(expr: Expr) -> Iterator[Expr]:
    yield expr
    if isinstance(expr, And | Or):
        for operand in expr.operands:
            yield from _walk(operand)
    elif isinstance(expr, Not):
        yield from _walk(expr.operand)


def references(expr: Expr) -> set[tuple[str, str | None]]:
    """Every answer the expression reads, as (question code, item code or None)."""
    return {
        (side.question, side.item)
        for node in _walk(expr)
        if isinstance(node, Compare)
        for side in (node.left, node.right)
        if isinstance(side, Ref)
    }


def orient(node: Compare) -> tuple[Ref, str, Operand]:
    """The comparison with a reference on the left: `3 <= Q2.a` becomes `Q2.a >= 3`."""
    if isinstance(node.left, Ref):
        return node.left, node.op, node.right
    if isinstance(node.right, Ref) and node.op in FLIPPED:
        return node.right, FLIPPED[node.op], node.left
    raise ExpressionError(_("a comparison needs a question reference on one side"), node.pos)


# --- checking against a questionnaire ---------------------------------------------------------

# What a reference reads: an option code, a set of option codes, a number or a text.
_KINDS = {
    "single": "option",
    "matrix": "option",
    "multiple": "choices",
    "number": "number",
    "number_grid": "number",
    "text": "text",
}
_WITH_ITEMS = frozenset({"matrix", "number_grid"})


def check(expr: Expr, questions: Mapping[str, QuestionSpec]) -> None:
    """Raise `ExpressionError` (at the offending node) unless `expr` fits the questionnaire.

    Rules: every code and item exists; matrix and number_grid questions are read by item and
    no other type has items; `has` is the one operator of a `multiple`, and only a `multiple`
    takes it; option literals (single, matrix item, `has`) exist in that question's options or
    scale; ordering applies to numbers, and to single/matrix questions whose option codes are
    all integers, against an integer; numbers compare with numbers, text answers only with
    `==`, `!=`, `in` and strings. Two references may be compared only when both are numbers
    (number questions or number_grid items): comparing option codes across questions would
    compare codes that mean different things, so it is refused.
    """
    for node in _walk(expr):
        if isinstance(node, Compare):
            _check_compare(node, questions)
        elif not isinstance(node, And | Or | Not):
            raise TypeError(f"not an expression node: {node!r}")


def _check_compare(node: Compare, questions: Mapping[str, QuestionSpec]) -> None:
    if error := shape_error(node):
        raise error
    sides = [side for side in (node.left, node.right) if isinstance(side, Ref)]
    resolved = [(side, *_resolve(side, questions)) for side in sides]
    if len(resolved) == 2:
        for ref, spec, kind in resolved:
            if kind != "number":
                message = _(
                    "comparing two questions is only supported between numbers; "
                    "%(name)s is a %(type)s question",
                    name=to_source(ref),
                    type=spec.type,
                )
                raise ExpressionError(message, node.op_pos)
        return
    ref, op, value = orient(node)
    _ref, spec, kind = resolved[0]
    _check_operator(ref, spec, kind, op, node.op_pos)
    literals = value.values if isinstance(value, ListLiteral) else (value,)
    for literal in literals:
        if isinstance(literal, Literal):  # always, given the shape rules
            _check_literal(ref, spec, kind, op, literal)


def _resolve(ref: Ref, questions: Mapping[str, QuestionSpec]) -> tuple[QuestionSpec, str]:
    spec = questions.get(ref.question)
    if spec is None:
        message = _("unknown question %(code)s", code=ref.question)
        raise ExpressionError(message, ref.pos, UNKNOWN_REFERENCE)
    if ref.item is not None and spec.type not in _WITH_ITEMS:
        message = _(
            "%(code)s is a %(type)s question and has no items", code=ref.question, type=spec.type
        )
        raise ExpressionError(message, ref.pos)
    if ref.item is None and spec.type in _WITH_ITEMS:
        example = f"{ref.question}.{min(spec.items, default='a')}"
        message = _(
            "%(code)s is a %(type)s question: name one of its items, e.g. %(example)s",
            code=ref.question,
            type=spec.type,
            example=example,
        )
        raise ExpressionError(message, ref.pos)
    if ref.item is not None and ref.item not in spec.items:
        message = _("%(code)s has no item %(item)s", code=ref.question, item=ref.item)
        raise ExpressionError(message, ref.pos, UNKNOWN_REFERENCE)
    return spec, _KINDS[spec.type]


def _check_operator(ref: Ref, spec: QuestionSpec, kind: str, op: str, pos: int) -> None:
    name = to_source(ref)
    if kind == "choices" and op != "has":
        message = _(
            "%(name)s is a multiple question; test a choice with '%(name)s has CODE'", name=name
        )
        raise ExpressionError(message, pos)
    if op == "has" and kind != "choices":
        message = _(
            "'has' needs a multiple question, but %(name)s is %(type)s", name=name, type=spec.type
        )
        raise ExpressionError(message, pos)
    if op in ORDERING_OPERATORS and kind == "text":
        message = _("'%(op)s' does not apply to text question %(name)s", op=op, name=name)
        raise ExpressionError(message, pos)
    if op in ORDERING_OPERATORS and kind == "option":
        not_integers = sorted(c for c in spec.options if not _INT_CODE.fullmatch(c))
        if not_integers:
            bad = _literal_source(not_integers[0])
            message = _(
                "'%(op)s' needs integer option codes, but %(code)s has option %(option)s",
                op=op,
                code=ref.question,
                option=bad,
            )
            raise ExpressionError(message, pos)


def _check_literal(ref: Ref, spec: QuestionSpec, kind: str, op: str, literal: Literal) -> None:
    name, value, shown = to_source(ref), literal.value, _literal_source(literal.value)
    if kind == "number" and not isinstance(value, int | Decimal):
        message = _(
            "%(name)s is a number; compare it with a number, not %(value)s", name=name, value=shown
        )
        raise ExpressionError(message, literal.pos)
    if kind == "text" and not isinstance(value, str):
        message = _(
            "%(name)s is a text answer; compare it with a quoted string, not %(value)s",
            name=name,
            value=shown,
        )
        raise ExpressionError(message, literal.pos)
    if kind not in ("option", "choices"):
        return
    if isinstance(value, Decimal):
        message = _(
            "option codes are integers or strings, so %(name)s cannot equal %(value)s",
            name=name,
            value=shown,
        )
        raise ExpressionError(message, literal.pos)
    if op in ORDERING_OPERATORS:
        if not isinstance(value, int):
            message = _(
                "%(name)s is ordered by its integer codes; "
                "compare it with an integer, not %(value)s",
                name=name,
                value=shown,
            )
            raise ExpressionError(message, literal.pos)
        return
    if canonical_code(value) not in spec.options:
        if spec.type == "matrix":
            message = _("%(code)s has no scale point %(value)s", code=ref.question, value=shown)
        else:
            message = _("%(code)s has no option %(value)s", code=ref.question, value=shown)
        raise ExpressionError(message, literal.pos, UNKNOWN_REFERENCE)


# --- evaluation -------------------------------------------------------------------------------

_MISSING = object()


def evaluate(expr: Expr, answers: Mapping[str, Any]) -> bool:
    """Whether `expr` holds on `answers` (the JSON shape of the format page's "Answers").

    A comparison reading an unanswered reference is false; a value of the wrong shape (a list
    where a code is expected, a bool, None, a non-finite number) counts as unanswered, so this
    never raises on answers. Option codes compare by canonical code (`1` is `"1"`), numbers
    numerically across int/float/Decimal (a float by its shortest decimal text, as JSON wrote
    it). Ordering reads integer option codes as numbers. `expr` need not be checked.
    """
    if not isinstance(answers, Mapping):
        answers = {}
    if isinstance(expr, And):
        return all(evaluate(operand, answers) for operand in expr.operands)
    if isinstance(expr, Or):
        return any(evaluate(operand, answers) for operand in expr.operands)
    if isinstance(expr, Not):
        return not evaluate(expr.operand, answers)
    if isinstance(expr, Compare):
        return _evaluate_compare(expr, answers)
    raise TypeError(f"not an expression node: {expr!r}")


def _evaluate_compare(node: Compare, answers: Mapping[str, Any]) -> bool:
    if shape_error(node):
        return False
    ref, op, other = orient(node)
    raw = _lookup(answers, ref)
    if op == "has":
        return isinstance(other, Literal) and _has(raw, other.value)
    value = _scalar(raw)
    if value is _MISSING:
        return False
    if isinstance(other, ListLiteral):
        return any(_equal(value, literal.value) for literal in other.values)
    bound = _scalar(_lookup(answers, other)) if isinstance(other, Ref) else other.value
    return bound is not _MISSING and holds(value, op, bound)


def holds(value: Any, op: str, bound: Any) -> bool:
    """`value op bound` on two answered scalars (not lists, not unanswered)."""
    if op in ("==", "!="):
        return _equal(value, bound) == (op == "==")
    left, right = _ordinal(value), _ordinal(bound)
    return left is not None and right is not None and _ORDER[op](left, right)


def _lookup(answers: Mapping[str, Any], ref: Ref) -> Any:
    value = answers.get(ref.question, _MISSING)
    if ref.item is None:
        return value
    if not isinstance(value, Mapping):
        return _MISSING
    found = value.get(ref.item, _MISSING)
    if found is _MISSING and ref.item.isascii() and ref.item.isdigit():
        # An item with integer code 3 may be keyed 3 by a Python caller, "3" in JSON.
        found = value.get(int(ref.item), _MISSING)
    return found


def _scalar(value: Any) -> Any:
    """The value if it can be an answer to a single/matrix item/number/text, else _MISSING."""
    return value if _code(value) is not None or _number(value) is not None else _MISSING


def _number(value: Any) -> Decimal | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def _code(value: Any) -> str | None:
    return None if isinstance(value, bool) or not isinstance(value, int | str) else str(value)


def _equal(left: Any, right: Any) -> bool:
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    left_code, right_code = _code(left), _code(right)
    return left_code is not None and left_code == right_code


def _ordinal(value: Any) -> Decimal | None:
    number = _number(value)
    if number is None and isinstance(value, str) and _INT_CODE.fullmatch(value):
        return Decimal(int(value))
    return number


def _has(raw: Any, option: Any) -> bool:
    code = _code(option)
    if code is None or not isinstance(raw, list | tuple | set | frozenset):
        return False
    return any(_code(chosen) == code for chosen in raw)
