"""The derived-expression language: unsafe input is refused; SQL and Python give the same bits."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from leadops import expr
from leadops.errors import FeatureError


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "a.__class__",
        "open('x')",
        "a[0]",
        "lambda: 1",
        "a ** 2",
        "a if b else c",
        "'text'",
        "a and b",
        "[a, b]",
        "min(a=1, b=2)",
        "log1p(a, b)",
        "a < b < c",
        "exec('1')",
        "True + a",
        "min",
        "",
    ],
)
def test_unsafe_or_unknown_syntax_is_refused(text: str) -> None:
    with pytest.raises(FeatureError):
        expr.parse(text)


EXPRESSIONS = [
    "a / (b + 1)",
    "a / b",
    "-a * 3.3 + b - 0.1",
    "min(a, b) - max(a, b, 2.5)",
    "log1p(a)",
    "log1p(a - 5) + log1p(b - 1)",
    "(a > b) + (a <= 2) * 2 + (a == b) * 4 + (a != b) * 8 + (a >= b) * 16 + (a < b) * 32",
    "abs(a - b) / (abs(b) + 0.001)",
    "log1p(a / (b + 1)) * max(1, b)",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_sql_and_python_agree_bit_for_bit(text: str) -> None:
    rng = np.random.default_rng(11)
    n = 3000
    a = np.array([round(float(x), int(d)) for x, d in zip(rng.normal(2, 3, n), rng.integers(0, 6, n), strict=True)])
    b = np.round(rng.exponential(2, n), 2)
    b[rng.random(n) < 0.2] = 0.0
    rows = [
        (None if rng.random() < 0.05 else float(x), None if rng.random() < 0.05 else float(y))
        for x, y in zip(a, b, strict=True)
    ]
    con = duckdb.connect()
    t = pa.table(
        {
            "i": list(range(n)),
            "a": pa.array([r[0] for r in rows], pa.float64()),
            "b": pa.array([r[1] for r in rows], pa.float64()),
        }
    )
    con.register("t", t)
    node = expr.parse(text)
    sql = expr.to_sql(node, lambda name: f'"{name}"')
    got = [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY i").fetchall()]
    want = [expr.evaluate(node, {"a": x, "b": y}) for x, y in rows]
    mismatches = [
        (r, g, w) for r, g, w in zip(rows, got, want, strict=True) if not (g == w or (g is None and w is None))
    ]
    assert not mismatches, mismatches[:5]
    assert sum(w is not None for w in want) > n // 10


def test_semantics_of_missing_division_by_zero_and_log1p_domain() -> None:
    node = expr.parse("a / b")
    assert expr.evaluate(node, {"a": 1.0, "b": 0.0}) is None
    assert expr.evaluate(node, {"a": None, "b": 2.0}) is None
    assert expr.evaluate(expr.parse("log1p(a)"), {"a": -1.0}) is None
    assert expr.evaluate(expr.parse("log1p(a)"), {"a": math.e - 1}) == math.log(math.e)
    assert expr.evaluate(expr.parse("min(a, b)"), {"a": 1.0, "b": None}) is None
    assert expr.references(expr.parse("min(a, b) / log1p(c) + 2")) == {"a", "b", "c"}
