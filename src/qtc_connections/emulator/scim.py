"""SCIM filter expressions (RFC 7644, section 3.4.2.2) over connection fields.

Supported: the operators ``eq ne co sw ew gt ge lt le pr``, ``and``, ``or``,
``not``, parentheses and double-quoted strings with backslash escapes.
``and`` binds tighter than ``or``. Keywords and attribute names are
case-insensitive. ``created`` and ``updated`` compare as RFC 3339
date-times; other attributes compare as strings.

NOTE: whether the real service compares strings case-sensitively is
unpublished; this parser does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from qtc_connections.emulator.ids import parse_timestamp

COMPARISONS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
DATETIME_ATTRIBUTES = frozenset({"created", "updated"})


class FilterError(ValueError):
    """A filter string is invalid. The message gives the position and the reason."""


@dataclass(frozen=True)
class Token:
    """A lexical token: ``kind`` is word, string, lparen or rparen."""

    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Comparison:
    """``attribute op value``, or ``attribute pr`` when ``op`` is ``pr``."""

    attribute: str
    op: str
    value: str | None


@dataclass(frozen=True)
class Not:
    """Negation of an expression."""

    operand: Expression


@dataclass(frozen=True)
class Logical:
    """``and`` or ``or`` of two expressions."""

    op: str
    left: Expression
    right: Expression


Expression = Comparison | Not | Logical
Record = Mapping[str, str | None]


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens.

    Raises:
        FilterError: a string literal is not closed.
    """
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "()":
            kind = "lparen" if char == "(" else "rparen"
            tokens.append(Token(kind, char, index))
            index += 1
        elif char == '"':
            literal, index = _read_string(text, index)
            tokens.append(literal)
        else:
            start = index
            while (
                index < len(text)
                and not text[index].isspace()
                and text[index] not in '()"'
            ):
                index += 1
            tokens.append(Token("word", text[start:index], start))
    return tokens


def _read_string(text: str, start: int) -> tuple[Token, int]:
    # SCIM string literals are JSON strings (RFC 7644, section 3.4.2.2), so
    # find the closing quote, skipping escaped characters, then let the
    # JSON decoder handle escapes such as \" and \u00e9.
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
        elif char == '"':
            literal = text[start : index + 1]
            try:
                value = json.loads(literal)
            except ValueError as exc:
                raise FilterError(
                    f"the string that starts at position {start} has an invalid escape"
                ) from exc
            return Token("string", value, start), index + 1
        else:
            index += 1
    raise FilterError(f"the string that starts at position {start} is not closed")


class Parser:
    """Recursive-descent parser over the tokens of one filter."""

    def __init__(self, text: str, attributes: Mapping[str, str]) -> None:
        self._tokens = tokenize(text)
        self._index = 0
        self._attributes = attributes
        self._end = len(text)

    def parse(self) -> Expression:
        """Parse the whole filter.

        Raises:
            FilterError: the filter is empty or malformed, or names an
                attribute that cannot be filtered on.
        """
        if not self._tokens:
            raise FilterError("the filter is empty")
        expression = self._or()
        token = self._peek()
        if token is not None:
            raise FilterError(f"unexpected {token.text!r} at position {token.position}")
        return expression

    def _peek(self) -> Token | None:
        if self._index < len(self._tokens):
            return self._tokens[self._index]
        return None

    def _next(self, expected: str) -> Token:
        token = self._peek()
        if token is None:
            raise FilterError(f"the filter ends where {expected} was expected")
        self._index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self._index += 1
            return True
        return False

    def _or(self) -> Expression:
        expression = self._and()
        while self._keyword("or"):
            expression = Logical("or", expression, self._and())
        return expression

    def _and(self) -> Expression:
        expression = self._unary()
        while self._keyword("and"):
            expression = Logical("and", expression, self._unary())
        return expression

    def _unary(self) -> Expression:
        if self._keyword("not"):
            return Not(self._unary())
        token = self._next("an attribute or '('")
        if token.kind == "lparen":
            expression = self._or()
            closing = self._next("')'")
            if closing.kind != "rparen":
                raise FilterError(
                    f"expected ')' at position {closing.position}, "
                    f"found {closing.text!r}"
                )
            return expression
        return self._comparison(token)

    def _comparison(self, token: Token) -> Comparison:
        if token.kind != "word":
            raise FilterError(
                f"expected an attribute at position {token.position}, "
                f"found {token.text!r}"
            )
        attribute = self._attributes.get(token.text.lower())
        if attribute is None:
            names = ", ".join(sorted(set(self._attributes.values())))
            raise FilterError(
                f"{token.text!r} at position {token.position} cannot be filtered on; "
                f"use one of {names}"
            )

        operator = self._next(f"an operator after {token.text!r}")
        op = operator.text.lower()
        if operator.kind != "word" or (op != "pr" and op not in COMPARISONS):
            raise FilterError(
                f"expected an operator ({', '.join(COMPARISONS)} or pr) at position "
                f"{operator.position}, found {operator.text!r}"
            )
        if op == "pr":
            return Comparison(attribute, op, None)
        if attribute in DATETIME_ATTRIBUTES and op in ("co", "sw", "ew"):
            raise FilterError(
                f"{attribute} is a date-time and supports eq, ne, gt, ge, lt, le "
                f"and pr, not {op!r}"
            )
        return Comparison(attribute, op, self._value(attribute, op))

    def _value(self, attribute: str, op: str) -> str | None:
        token = self._next(f"a value after {op!r}")
        if token.kind == "string":
            if attribute in DATETIME_ATTRIBUTES and parse_timestamp(token.text) is None:
                raise FilterError(
                    f"{attribute} compares with an RFC 3339 date-time such as "
                    f'"2024-01-31T12:00:00Z"; {token.text!r} is not one'
                )
            return token.text
        literal = token.text.lower() if token.kind == "word" else ""
        if literal == "null" and op in ("eq", "ne"):
            return None
        raise FilterError(
            f"expected a double-quoted string at position {token.position}, "
            f"found {token.text!r}"
        )


def parse_filter(text: str, attributes: Mapping[str, str]) -> Expression:
    """Parse ``text``; ``attributes`` maps lower-case names to field names.

    Raises:
        FilterError: the filter is not valid.
    """
    return Parser(text, attributes).parse()


def matches(expression: Expression, record: Record) -> bool:
    """Return whether ``record`` satisfies ``expression``."""
    if isinstance(expression, Logical):
        if expression.op == "and":
            return matches(expression.left, record) and matches(
                expression.right, record
            )
        return matches(expression.left, record) or matches(expression.right, record)
    if isinstance(expression, Not):
        return not matches(expression.operand, record)
    return _compare(expression, record.get(expression.attribute))


def _compare(comparison: Comparison, actual: str | None) -> bool:
    op, expected = comparison.op, comparison.value
    if op == "pr":
        return actual is not None and actual != ""
    if expected is None:
        equal = actual is None
        return equal if op == "eq" else not equal
    if actual is None:
        return op == "ne"
    if comparison.attribute in DATETIME_ATTRIBUTES:
        return _compare_times(op, actual, expected)
    return _STRING_TESTS[op](actual, expected)


def _compare_times(op: str, actual: str, expected: str) -> bool:
    left = parse_timestamp(actual)
    right = parse_timestamp(expected)
    if left is None or right is None or op not in _ORDER_TESTS:
        return False
    return _ORDER_TESTS[op](left, right)


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "co": lambda a, b: b in a,
    "sw": lambda a, b: a.startswith(b),
    "ew": lambda a, b: a.endswith(b),
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}

_ORDER_TESTS: dict[str, Callable[[datetime, datetime], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}
