"""The derived-feature expression language: parsed with `ast`, whitelisted, compiled to SQL and to Python.

Grammar (nothing else parses): numbers, feature names, unary minus, `+ - * /`, comparisons
`< <= > >= == !=` (1.0 when true, 0.0 when false), and the calls `min(a, b, ...)`, `max(a, b, ...)`,
`log1p(x)`, `abs(x)`. Semantics are the same on both paths: any missing operand gives missing; division by
zero gives missing; `log1p(x)` for x <= -1 gives missing; `log1p(x)` is `ln(1 + x)` on both paths so the
two agree to the last bit. Kept separate from the SQL generator so another backend (Spark) can reuse it.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from leadops.errors import FeatureError

MAX_LENGTH = 500
MAX_DEPTH = 24
FUNCTIONS = {"min": (2, 8), "max": (2, 8), "log1p": (1, 1), "abs": (1, 1)}
BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


@dataclass(frozen=True)
class Node:
    """One node of a parsed expression: op is num, ref, neg, an operator or a function name."""

    op: str
    args: tuple[Node, ...] = ()
    value: float = 0.0
    name: str = ""


def parse(text: str, *, where: str = "expression") -> Node:
    """Parse `text` into a Node tree, refusing anything outside the whitelist with a message naming it."""
    if not isinstance(text, str) or not text.strip():
        raise FeatureError(f"{where}: expected a non-empty expression, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise FeatureError(f"{where}: expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise FeatureError(f"{where}: '{text}' is not a valid expression ({exc.msg})") from exc
    return _convert(tree.body, where, text, 0)


def _convert(node: ast.AST, where: str, text: str, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise FeatureError(f"{where}: expression '{text}' nests deeper than {MAX_DEPTH}")
    d = depth + 1
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise FeatureError(f"{where}: only numbers are allowed as constants in '{text}', got {node.value!r}")
        value = float(node.value)
        if not math.isfinite(value):
            raise FeatureError(f"{where}: constant {node.value!r} in '{text}' is not finite")
        return Node("num", value=value)
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise FeatureError(f"{where}: '{node.id}' is a function; call it, e.g. {node.id}(x)")
        return Node("ref", name=node.id)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return Node("neg", (_convert(node.operand, where, text, d),))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, where, text, d)
        raise FeatureError(f"{where}: operator {type(node.op).__name__} is not allowed in '{text}'")
    if isinstance(node, ast.BinOp):
        op = BINARY.get(type(node.op))
        if op is None:
            raise FeatureError(f"{where}: operator {type(node.op).__name__} is not allowed in '{text}' (use + - * /)")
        return Node(op, (_convert(node.left, where, text, d), _convert(node.right, where, text, d)))
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise FeatureError(f"{where}: chained comparisons are not allowed in '{text}'; compare two values")
        cmp = COMPARE.get(type(node.ops[0]))
        if cmp is None:
            raise FeatureError(f"{where}: comparison {type(node.ops[0]).__name__} is not allowed in '{text}'")
        return Node(cmp, (_convert(node.left, where, text, d), _convert(node.comparators[0], where, text, d)))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = ast.unparse(node.func)
            raise FeatureError(f"{where}: function '{shown}' is not allowed in '{text}' (allowed: {sorted(FUNCTIONS)})")
        if node.keywords:
            raise FeatureError(f"{where}: keyword arguments are not allowed in '{text}'")
        lo, hi = FUNCTIONS[node.func.id]
        if not lo <= len(node.args) <= hi:
            raise FeatureError(
                f"{where}: {node.func.id}() takes {lo}..{hi} arguments in '{text}', got {len(node.args)}"
            )
        return Node(node.func.id, tuple(_convert(a, where, text, d) for a in node.args))
    raise FeatureError(f"{where}: {type(node).__name__} is not allowed in '{text}'")


@lru_cache(maxsize=4096)
def parse_cached(text: str) -> Node:
    """parse() memoised: specs are validated once at load, then their trees are reused on every lead."""
    return parse(text)


def references(node: Node) -> set[str]:
    """Every feature name the expression reads."""
    if node.op == "ref":
        return {node.name}
    out: set[str] = set()
    for arg in node.args:
        out |= references(arg)
    return out


# ------------------------------------------------------------------------------------------------- SQL
def to_sql(
    node: Node,
    column: Callable[[str], str],
    double: str = "DOUBLE",
    hoist: Callable[[Node], str] | None = None,
    ln: str = "ln",
) -> str:
    """SQL text of the expression; `column(name)` renders a referenced feature (already a DOUBLE).

    `min`, `max` and `log1p` name their arguments twice in SQL (a NULL test, then the value), so nesting them
    would double the text per level; with `hoist`, each such argument that is not a plain number or name is
    handed to `hoist`, which computes it once (a column of an earlier query layer) and returns its reference.
    `ln` names the engine's natural log (Spark's differs from the C library's in the last bit; see dialect.py).
    """

    def once(n: Node) -> str:
        """An argument SQL repeats: hoisted when it is more than a number or a name."""
        return go(n) if hoist is None or n.op in ("num", "ref") else hoist(n)

    def go(n: Node) -> str:
        if n.op == "num":
            return f"CAST('{n.value!r}' AS {double})"
        if n.op == "ref":
            return column(n.name)
        if n.op == "neg":
            return f"(-{go(n.args[0])})"
        if n.op in ("+", "-", "*"):
            return f"({go(n.args[0])} {n.op} {go(n.args[1])})"
        if n.op == "/":
            return f"({go(n.args[0])} / NULLIF({go(n.args[1])}, 0))"
        if n.op in COMPARE.values():
            sql_op = {"==": "=", "!=": "<>"}.get(n.op, n.op)
            return f"CAST(CAST(({go(n.args[0])} {sql_op} {go(n.args[1])}) AS INTEGER) AS {double})"
        if n.op in ("min", "max"):
            parts = [once(a) for a in n.args]
            any_null = " OR ".join(f"{p} IS NULL" for p in parts)
            fn = "least" if n.op == "min" else "greatest"
            return f"(CASE WHEN {any_null} THEN NULL ELSE {fn}({', '.join(parts)}) END)"
        if n.op == "log1p":
            x = once(n.args[0])
            return f"(CASE WHEN {x} > -1 THEN {ln}(1 + {x}) END)"
        if n.op == "abs":
            return f"abs({go(n.args[0])})"
        raise FeatureError(f"expression node '{n.op}' has no SQL form")

    return go(node)


# ---------------------------------------------------------------------------------------------- Python
def evaluate(node: Node, values: Mapping[str, float | None]) -> float | None:
    """Value of the expression for one lead, with exactly the SQL path's semantics."""
    op = node.op
    if op == "num":
        return node.value
    if op == "ref":
        v = values[node.name]
        return None if v is None else float(v)
    args = [evaluate(a, values) for a in node.args]
    if any(a is None for a in args):
        return None
    xs: list[float] = [a for a in args if a is not None]
    if op == "neg":
        return -xs[0]
    if op == "+":
        return xs[0] + xs[1]
    if op == "-":
        return xs[0] - xs[1]
    if op == "*":
        return xs[0] * xs[1]
    if op == "/":
        return None if xs[1] == 0 else xs[0] / xs[1]
    if op in COMPARE.values():
        a, b = xs
        result = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
        return 1.0 if result else 0.0
    if op == "min":
        return min(xs)
    if op == "max":
        return max(xs)
    if op == "log1p":
        return math.log(1 + xs[0]) if xs[0] > -1 else None
    if op == "abs":
        return abs(xs[0])
    raise FeatureError(f"expression node '{op}' has no Python form")
