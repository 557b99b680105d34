"""TreeSHAP remembered by split pattern: the values of every row equal LightGBM's own pred_contrib, bit for bit."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from scorer_fixtures import ALL_SPECS

from leadops.scorers import build_scorer, shap_memo


def _booster(zero_as_missing: bool) -> tuple[Any, np.ndarray]:
    """A small booster over numbers with NaN and zeros and one categorical column, and its training matrix."""
    rng = np.random.default_rng(3)
    n = 3000
    M = np.column_stack(
        [
            rng.normal(0, 1, n),
            rng.poisson(1.0, n).astype(float),  # many exact zeros
            np.where(rng.random(n) < 0.2, np.nan, rng.exponential(10, n)),  # missing values
            rng.integers(0, 6, n).astype(float),  # categorical codes
            rng.random(n),
        ]
    )
    logit = M[:, 0] + 0.5 * M[:, 1] - 0.05 * np.nan_to_num(M[:, 2], nan=30.0) + (M[:, 3] == 2) - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "num_leaves": 15, "verbosity": -1, "seed": 1, "zero_as_missing": zero_as_missing}
    data = lgb.Dataset(M, label=y, categorical_feature=[3])
    return lgb.train(params, data, num_boost_round=30), M


def _edge_rows(booster: Any, M: np.ndarray) -> np.ndarray:
    """Rows sitting on and beside every threshold, at zero and its band, NaN and unseen categories."""
    pattern = shap_memo.SplitPattern(booster, M.shape[1])
    rng = np.random.default_rng(5)
    base = M[rng.integers(0, len(M), 400)].copy()
    rows = [base]
    for j, cuts in enumerate(pattern.cuts):
        if cuts is None or pattern.categorical[j]:
            continue
        for t in cuts[:: max(1, len(cuts) // 12)]:
            for v in (t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)):
                r = base[:8].copy()
                r[:, j] = v
                rows.append(r)
        for v in (0.0, -0.0, 1e-36, -1e-36, np.nan, np.inf, -np.inf):
            r = base[:8].copy()
            r[:, j] = v
            rows.append(r)
    for v in (np.nan, 7.0, -1.0, 2.0):  # missing, unseen and negative categories
        r = base[:8].copy()
        r[:, 3] = v
        rows.append(r)
    return np.ascontiguousarray(np.vstack(rows))


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_remembered_shap_equals_lightgbm_bit_for_bit_on_and_beside_every_split(zero_as_missing: bool) -> None:
    booster, M = _booster(zero_as_missing)
    rows = _edge_rows(booster, M)
    direct = booster.predict(rows, pred_contrib=True)
    pattern = shap_memo.SplitPattern(booster, M.shape[1])
    shap_memo.MEMO.clear()
    calls: list[int] = []

    def predict(r: np.ndarray) -> np.ndarray:
        calls.append(len(r))
        return np.asarray(booster.predict(r, pred_contrib=True))

    first = shap_memo.contributions(pattern, rows, predict)
    np.testing.assert_array_equal(first, direct)
    assert sum(calls) < len(rows)  # duplicated patterns were computed once
    # the same patterns reached by other values: every one is looked up, and still LightGBM's numbers
    moved = rows.copy()
    for j, cuts in enumerate(pattern.cuts):
        if cuts is None or pattern.categorical[j]:
            continue
        v = moved[:, j]
        inside = np.isfinite(v)
        moved[inside, j] = np.nextafter(v[inside], -np.inf)  # one step down: crosses a cut only when on one
    same = pattern.keys(moved) == pattern.keys(rows)
    assert 0 < same.sum() < len(rows)  # some rows sat on a cut (their step crossed it), most did not
    calls.clear()
    again = shap_memo.contributions(pattern, moved, predict)
    np.testing.assert_array_equal(again, booster.predict(moved, pred_contrib=True))
    assert sum(calls) <= int((~same).sum())  # only rows that crossed a cut went to the trees


def test_rows_on_either_side_of_a_split_get_different_keys_and_their_own_values() -> None:
    booster, M = _booster(False)
    pattern = shap_memo.SplitPattern(booster, M.shape[1])
    j = next(j for j, c in enumerate(pattern.cuts) if c is not None and not pattern.categorical[j] and len(c) > 4)
    splits = [t for t in pattern.cuts[j] if abs(t) > 1e-30]  # a tree's threshold, not the zero band's edges
    t = splits[len(splits) // 2]
    rows = np.repeat(M[:1], 2, axis=0)
    rows[0, j], rows[1, j] = t, np.nextafter(t, np.inf)
    keys = pattern.keys(rows)
    assert keys[0] != keys[1]
    direct = booster.predict(rows, pred_contrib=True)
    assert not np.array_equal(direct[0], direct[1])


def test_the_memo_forgets_its_older_half_past_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    booster, M = _booster(False)
    pattern = shap_memo.SplitPattern(booster, M.shape[1])
    shap_memo.MEMO.clear()
    monkeypatch.setattr(shap_memo, "MAX_ROWS", 500)
    for start in range(0, 3000, 400):
        part = M[start : start + 400]
        got = shap_memo.contributions(pattern, part, lambda r: booster.predict(r, pred_contrib=True))
        np.testing.assert_array_equal(got, booster.predict(part, pred_contrib=True))
        assert len(shap_memo.MEMO.of(pattern.digest)) <= 500


def test_a_scorer_explains_the_same_leads_twice_with_identical_reasons_and_no_second_tree_walk(
    leads: tuple[pd.DataFrame, Any],
) -> None:
    X, y = leads
    scorer = build_scorer(ALL_SPECS["lightgbm"]).fit(X, y)
    shap_memo.MEMO.clear()
    rows = X.iloc[:500]
    direct = scorer.booster_.predict(scorer.matrix(rows), pred_contrib=True)  # type: ignore[attr-defined]
    first = scorer.explain_json(rows)
    walked: list[int] = []
    plain = scorer._tree_shap  # type: ignore[attr-defined]
    scorer._tree_shap = lambda r: walked.append(len(r)) or plain(r)  # type: ignore[attr-defined]
    second = scorer.explain_json(rows)
    assert walked == []
    pd.testing.assert_frame_equal(first, second)
    got = scorer.contributions(rows)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got.to_numpy()[:, :-1], direct[:, :-1])
