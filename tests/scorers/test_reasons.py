"""Vectorised reason codes: the same picks, numbers and words as the row-by-row reference, for every scorer."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_fixtures import ALL_SPECS

from leadops.scorers import Scorer, build_scorer
from leadops.scorers.encoding import category_codes
from leadops.scorers.reasons import (
    ReasonMatrix,
    format_log_odds,
    format_log_odds_array,
    format_points,
    format_points_array,
    format_value,
    format_values,
    select_reasons,
    template_texts,
)


@pytest.fixture(scope="module", params=sorted(ALL_SPECS))
def fitted(request: pytest.FixtureRequest, leads: tuple[pd.DataFrame, pd.Series]) -> Scorer:
    X, y = leads
    return build_scorer(ALL_SPECS[request.param]).fit(X, y)


def _reference_picks(c: np.ndarray, top_n: int, eps: float = 1e-12) -> list[list[tuple[int, float]]]:
    """The row-by-row definition: stable argsort each way, cut to top_n, keep |c| > eps."""
    k = c.shape[1]
    top = max(0, min(top_n, k))
    out = []
    for row in c:
        pos = [int(j) for j in np.argsort(-row, kind="stable")[:top] if row[j] > eps]
        neg = [int(j) for j in np.argsort(row, kind="stable")[:top] if row[j] < -eps]
        out.append([(j, float(row[j])) for j in pos + neg])
    return out


@pytest.mark.parametrize("top_n", [1, 2, 3, 7, 20])
def test_top_picks_equal_a_stable_argsort_even_with_many_ties_and_nan(top_n: int) -> None:
    rng = np.random.default_rng(top_n)
    c = rng.choice([-10.0, -5.0, 0.0, 5.0, 10.0, 2.5], size=(400, 9))
    c[rng.random(c.shape) < 0.05] = np.nan
    c[:50] = rng.normal(size=(50, 9))
    m = ReasonMatrix(c, [f"f{j}" for j in range(9)], lambda j, rows, v: np.full(len(rows), f"f{j}", dtype=object))
    top = select_reasons(m, top_n)
    got = [
        [(int(n[1:]), v) for n, v, ok in zip(rn, rv, rok, strict=True) if ok]
        for rn, rv, rok in zip(top.names.tolist(), top.values.tolist(), top.ok.tolist(), strict=True)
    ]
    assert got == _reference_picks(c, top_n)


def test_explain_text_and_json_are_explain_in_other_shapes(fitted: Scorer, leads: tuple[pd.DataFrame, Any]) -> None:
    X = leads[0].iloc[:300]
    ex = fitted.explain(X, top_n=3)
    text = fitted.explain_text(X, top_n=3)
    assert text.index.equals(X.index)
    assert text.tolist() == ex["reason_text"].tolist()
    assert text.tolist() == ["; ".join(r["text"] for r in rs) for rs in ex["reasons"]]
    js = fitted.explain_json(X, top_n=3)
    want = [
        json.dumps(
            [{"feature": r["feature"], "contribution": round(r["contribution"], 6), "text": r["text"]} for r in rs],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for rs in ex["reasons"]
    ]
    assert js["reasons"].tolist() == want
    assert js["reason_text"].tolist() == ex["reason_text"].tolist()


def test_explain_of_no_rows_is_an_empty_frame(fitted: Scorer, leads: tuple[pd.DataFrame, Any]) -> None:
    X = leads[0].iloc[:0]
    assert list(fitted.explain(X).columns) == ["reasons", "reason_text"]
    assert len(fitted.explain_json(X)) == 0 and len(fitted.explain_text(X)) == 0


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.0, 2.5, np.nan, 1e16, -0.0, 0.123456, 3.0, np.inf, -7.25e-5]),
        pd.Series([1, 2, -3], dtype="int64"),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series([True, False, True]),
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series(["a", None, "b c"], dtype="str"),
        pd.Series(["a", None, 3, 2.0, True], dtype=object),
        pd.Series(["x", "y", None], dtype="category"),
        pd.Series([2, 3, None], dtype="category"),
        pd.Series(np.array([1.5, 2.0, np.nan], dtype=np.float32)),
    ],
)
def test_format_values_writes_what_format_value_writes(series: pd.Series) -> None:
    want = [format_value(v) for v in series.to_numpy(dtype=object)]
    assert format_values(series).tolist() == want


def test_number_arrays_format_like_the_scalar_functions() -> None:
    x = np.array([0.0, 0.04, -0.06, 2.5, -49.96, 30.0, 1e-9, -1e-9, 0.6931, -3.2, 12.345, 0.005, -0.005])
    assert format_points_array(x).tolist() == [format_points(v) for v in x]
    assert format_log_odds_array(x).tolist() == [format_log_odds(v) for v in x]


def test_templates_fill_like_str_format_including_odd_ones() -> None:
    values = np.array(["3", "x{y}"], dtype=object)
    for tmpl in ["{value} employees", "{label} is {value} ({days}d)", "{{literal}} {value}", "{value:>4}!", "plain"]:
        got = template_texts(tmpl, {"value": values, "days": "?", "label": "L"}, 2).tolist()
        assert got == [tmpl.format(value=v, days="?", label="L") for v in values]


def test_category_codes_match_the_string_comparison_for_every_column_kind() -> None:
    cats = ["1", "a", "b"]
    for s in [
        pd.Series(["a", None, "b", "z", "1"], dtype="str"),
        pd.Series(["a", np.nan, "b", "z", "1"], dtype=object),
        pd.Series(["a", None, "b", "z", "1"], dtype="category"),
        pd.Series([1, 2, None, 1, 3], dtype=object),
        pd.Series([None, None], dtype=object),
    ]:
        want = [np.nan if pd.isna(v) else float(cats.index(str(v))) if str(v) in cats else np.nan for v in s]
        np.testing.assert_array_equal(category_codes(s, cats), np.array(want, dtype=float))


def test_lightgbm_duplicate_rows_are_explained_once_with_identical_shap(leads: tuple[pd.DataFrame, Any]) -> None:
    X, y = leads
    scorer = build_scorer(ALL_SPECS["lightgbm"]).fit(X, y)
    repeated = pd.concat([X.iloc[:40]] * 5)
    repeated.index = pd.Index([f"R{i}" for i in range(len(repeated))], name="lead_id")
    direct = scorer.booster_.predict(scorer.matrix(repeated), pred_contrib=True)  # type: ignore[attr-defined]
    got = scorer.contributions(repeated)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got.to_numpy()[:, :-1], direct[:, :-1])
    ex = scorer.explain(repeated)
    assert ex["reason_text"].iloc[:40].tolist() == ex["reason_text"].iloc[160:].tolist()
