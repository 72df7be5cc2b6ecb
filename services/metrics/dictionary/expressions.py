"""Derived metrics' formulas: + - * / and parentheses over metric keys and decimal constants.

Python's own parser reads the text (``ast``, mode="eval"); a whitelist of node types turns the
tree into our own four node classes, and only those are evaluated, in ``Decimal``. Nothing is
ever passed to ``eval``. Constants are read from their source text, so ``0.1`` is one tenth.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException, InvalidOperation
from typing import Literal

MAX_LENGTH = 500
SIX = Decimal("0.000001")

Shape = Literal["constant", "linear", "other"]


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class Metric:
    key: str


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: Literal["+", "-", "*", "/"]
    left: Node
    right: Node


Node = Number | Metric | Negate | Binary

_OPERATORS: Mapping[type[ast.operator], Literal["+", "-", "*", "/"]] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
_APPLY: Mapping[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": Decimal.__add__,
    "-": Decimal.__sub__,
    "*": Decimal.__mul__,
    "/": Decimal.__truediv__,
}
_REFUSED_NAMES: Mapping[type[ast.AST], str] = {
    ast.Call: "a function call",
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.Lambda: "a lambda",
    ast.Constant: "a constant that is not a number",
}


class ExpressionRefused(ValueError):
    """The text is not a formula we evaluate; ``rule`` names the rule it breaks."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Expression:
    """A parsed formula: its text, the metrics it reads, and whether it adds up over days.

    ``linear`` holds when the formula over summed days equals the sum of its daily values
    (``gmv - cost``, ``cost * 1.06``), which is what pro-rating a target to elapsed time assumes.
    """

    text: str
    tree: Node
    metrics: frozenset[str]
    linear: bool

    def value(self, sums: Mapping[str, Decimal]) -> Decimal | None:
        """The formula over base sums; None when a metric has no data or a divisor is zero."""
        if not self.metrics <= sums.keys():
            return None
        try:
            result = _evaluate(self.tree, sums)
            return None if result is None else result.quantize(SIX)
        except DecimalException:  # beyond what Decimal holds at this precision: no value
            return None


def parse(text: str, metrics: Collection[str]) -> Expression:
    """Read a formula whose names must be among ``metrics``; anything else is refused."""
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ExpressionRefused(f"at most {MAX_LENGTH} characters", "expression-length")
    try:
        body = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionRefused(
            "not a formula: write metric keys and numbers joined by + - * / and parentheses",
            "expression-syntax",
        ) from None
    tree = _convert(body, text, metrics)
    used = frozenset(_metrics(tree))
    if not used:
        raise ExpressionRefused("the formula must use at least one metric", "metric-reference")
    return Expression(text=text, tree=tree, metrics=used, linear=_shape(tree) == "linear")


def _convert(node: ast.expr, source: str, metrics: Collection[str]) -> Node:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return Binary(
            _OPERATORS[type(node.op)],
            _convert(node.left, source, metrics),
            _convert(node.right, source, metrics),
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return Negate(_convert(node.operand, source, metrics))
    if isinstance(node, ast.Name):
        if node.id not in metrics:
            raise ExpressionRefused(
                f"{node.id!r} is not a base metric; use one of: {', '.join(sorted(metrics))}",
                "known-base-metric",
            )
        return Metric(node.id)
    # bool is an int to Python, and True is a Constant: only real int and float literals pass.
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        literal = ast.get_source_segment(source, node) or ""
        try:
            return Number(Decimal(literal))
        except InvalidOperation:
            raise ExpressionRefused(
                f"{literal!r} is not a decimal number", "decimal-constant"
            ) from None
    raise ExpressionRefused(
        f"{_describe(node)} is not allowed: only + - * /, parentheses, metric keys and numbers",
        "allowed-elements",
    )


def _describe(node: ast.expr) -> str:
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"the operator {type(node.op).__name__}"
    return _REFUSED_NAMES.get(type(node), f"the element {type(node).__name__}")


def _metrics(node: Node) -> list[str]:
    if isinstance(node, Metric):
        return [node.key]
    if isinstance(node, Negate):
        return _metrics(node.operand)
    if isinstance(node, Binary):
        return [*_metrics(node.left), *_metrics(node.right)]
    return []


def _evaluate(node: Node, sums: Mapping[str, Decimal]) -> Decimal | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Metric):
        return sums[node.key]
    if isinstance(node, Negate):
        inner = _evaluate(node.operand, sums)
        return None if inner is None else -inner
    left, right = _evaluate(node.left, sums), _evaluate(node.right, sums)
    if left is None or right is None or (node.operator == "/" and not right):
        return None  # dividing by zero (no cost, no clicks) leaves the metric without a value
    return _APPLY[node.operator](left, right)


def _shape(node: Node) -> Shape:
    """``constant``, ``linear`` (a sum of metrics, each times a constant) or ``other``."""
    if isinstance(node, Number):
        return "constant"
    if isinstance(node, Metric):
        return "linear"
    if isinstance(node, Negate):
        return _shape(node.operand)
    left, right = _shape(node.left), _shape(node.right)
    if node.operator in ("+", "-"):
        # A constant added each day would be counted once a day when summed: not additive.
        return left if left == right and left != "other" else "other"
    if node.operator == "*" and "constant" in (left, right):
        return right if left == "constant" else left
    if node.operator == "/" and right == "constant":
        return left
    return "other"
