"""An XLSForm ``relevant`` (XPath, as pyxform's lexer reads it) as a Wenji expression."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from survey.expressions import And, Compare, Expr, Literal, Not, Or, Ref
from survey.xlsform.columns import as_code, as_number


class _Untranslatable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _XPath:
    """An XLSForm ``relevant`` (XPath, as pyxform's lexer reads it) as a Wenji expression.

    Takes what survey forms use for skip logic: ``${q} = 'v'`` and the other comparisons,
    ``selected(${q}, 'v')``, ``and``, ``or``, ``not(…)`` and parentheses. Anything else (other
    functions, paths, arithmetic, comparing with '' for "unanswered") is refused with the part
    it could not read.
    """

    def __init__(self, text: str, names: dict[str, tuple[str, str | None, str]]) -> None:
        from pyxform.parsing.expression import parse_expression

        self.names = names
        self.tokens: list[tuple[str, str]] = []
        for token in parse_expression(text):
            if token.type == "WHITESPACE":
                continue
            value = str(token.value)
            if token.type == "OPS_COMP" and self.tokens and self.tokens[-1][0] == "OPS_COMP":
                self.tokens[-1] = ("OPS_COMP", self.tokens[-1][1] + value)
                continue
            if token.type == "OPS_BOOL":
                value = value.strip()
            self.tokens.append((token.type, value))
        self.at = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("END", "")

    def _take(self, kind: str, value: str | None = None) -> str:
        token = self._peek()
        if token[0] != kind or (value is not None and token[1] != value):
            self._unsupported(token)
        self.at += 1
        return token[1]

    @staticmethod
    def _unsupported(token: tuple[str, str]) -> None:
        kind, value = token
        if kind == "END":
            raise _Untranslatable(_("it ends too early"))
        if kind == "FUNC_CALL":
            reason = _("the function %(name)s() is not supported") % {"name": value[:-1]}
            raise _Untranslatable(reason)
        raise _Untranslatable(_("%(text)s is not supported there") % {"text": repr(value)})

    def expression(self) -> Expr:
        expr = self._or()
        if self._peek()[0] != "END":
            self._unsupported(self._peek())
        return expr

    def _or(self) -> Expr:
        operands = [self._and()]
        while self._peek() == ("OPS_BOOL", "or"):
            self.at += 1
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Expr:
        operands = [self._unary()]
        while self._peek() == ("OPS_BOOL", "and"):
            self.at += 1
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self) -> Expr:
        kind, value = self._peek()
        if kind == "FUNC_CALL" and value == "not(":
            self.at += 1
            inner = self._or()
            self._take("CLOSE_PAREN")
            return Not(inner)
        if kind == "FUNC_CALL" and value == "selected(":
            self.at += 1
            question, item, qtype = self._reference(self._take("PYXFORM_REF"))
            self._take("COMMA")
            literal = self._literal(self._peek(), qtype)
            self.at += 1
            self._take("CLOSE_PAREN")
            op = "has" if qtype == "multiple" else "=="
            return Compare(Ref(question, item), op, literal)
        if kind == "OPEN_PAREN":
            self.at += 1
            inner = self._or()
            self._take("CLOSE_PAREN")
            return inner
        return self._comparison()

    def _comparison(self) -> Expr:
        left = self._operand(None)
        kind, op = self._peek()
        if kind != "OPS_COMP" or op not in ("=", "!=", "<", "<=", ">", ">="):
            self._unsupported((kind, op))
        self.at += 1
        qtype = left[2] if isinstance(left, tuple) else None
        right = self._operand(qtype)
        if not isinstance(left, tuple) and isinstance(right, tuple):
            left = self._operand_literal(left, right[2])
        op = "==" if op == "=" else op
        left_node = Ref(left[0], left[1]) if isinstance(left, tuple) else left
        right_node = Ref(right[0], right[1]) if isinstance(right, tuple) else right
        return Compare(left_node, op, right_node)

    def _operand(self, qtype: str | None) -> tuple[str, str | None, str] | Literal:
        kind, value = self._peek()
        if kind == "PYXFORM_REF":
            self.at += 1
            return self._reference(value)
        literal = self._literal((kind, value), qtype)
        self.at += 1
        return literal

    def _operand_literal(self, literal: Literal, qtype: str) -> Literal:
        return self._literal(("SYSTEM_LITERAL", f"'{literal.value}'"), qtype)

    def _reference(self, text: str) -> tuple[str, str | None, str]:
        name = text[2:-1]
        if name not in self.names:
            raise _Untranslatable(
                _("${%(name)s} is not a question Wenji imported") % {"name": name}
            )
        return self.names[name]

    @staticmethod
    def _literal(token: tuple[str, str], qtype: str | None) -> Literal:
        kind, value = token
        if kind == "SYSTEM_LITERAL":
            text = value[1:-1]
            if text == "":
                raise _Untranslatable(_("comparing with '' (unanswered) has no equivalent"))
            if qtype in ("number", "number_grid"):
                number = as_number(text)
                if number is None:
                    raise _Untranslatable(_("%(text)s is not a number") % {"text": repr(text)})
                return Literal(Decimal(str(number)) if isinstance(number, float) else number)
            if qtype == "text":
                return Literal(text)
            return Literal(as_code(text))
        if kind == "NUMBER":
            number = Decimal(value)
            if qtype in ("single", "multiple", "matrix") or number == number.to_integral_value():
                return (
                    Literal(int(number))
                    if number == number.to_integral_value()
                    else Literal(number)
                )
            return Literal(number)
        _XPath._unsupported(token)
        raise AssertionError  # pragma: no cover (_unsupported always raises)
