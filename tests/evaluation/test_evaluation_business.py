"""Gains, lift, capacity, MQL and expected value against hand-worked examples and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from leadops.evaluation import (
    EvaluationError,
    at_capacity,
    at_threshold,
    best_cutoff,
    captured_at_capacity,
    expected_value_at_k,
    expected_value_at_threshold,
    expected_value_curve,
    gains_table,
)

# 20 leads, scores 20..1 (no ties), conversions at ranks 1, 2, 3, 5, 8, 13 (1 = best score)
SCORE = np.arange(20, 0, -1, dtype=float)
Y = np.zeros(20, dtype=int)
Y[[0, 1, 2, 4, 7, 12]] = 1


def test_gains_table_hand_example() -> None:
    g = gains_table(Y, SCORE)
    assert g["n"].tolist() == [2] * 10
    assert g["conversions"].tolist() == [2, 1, 1, 1, 0, 0, 1, 0, 0, 0]
    base = 6 / 20
    np.testing.assert_allclose(g["lift"], np.array([2, 1, 1, 1, 0, 0, 1, 0, 0, 0]) / 2 / base)
    np.testing.assert_allclose(g["cum_gain"], np.array([2, 3, 4, 5, 5, 5, 6, 6, 6, 6]) / 6)
    np.testing.assert_allclose(g["cum_lift"], (np.array([2, 3, 4, 5, 5, 5, 6, 6, 6, 6]) / 6) / (np.arange(1, 11) / 10))
    assert g["min_score"].tolist() == [19, 17, 15, 13, 11, 9, 7, 5, 3, 1]
    assert g["cum_gain"].iloc[-1] == 1.0 and g["cum_lift"].iloc[-1] == pytest.approx(1.0)


def test_gains_table_row_order_does_not_matter() -> None:
    perm = np.random.default_rng(0).permutation(20)
    assert gains_table(Y[perm], SCORE[perm]).equals(gains_table(Y, SCORE))


def test_gains_with_uneven_deciles() -> None:
    g = gains_table(np.r_[Y, 0, 0, 0], np.r_[SCORE, -1, -2, -3])
    assert g["n"].sum() == 23 and g["cum_n"].iloc[-1] == 23


def test_captured_at_capacity_hand_example() -> None:
    assert captured_at_capacity(Y, SCORE, 5) == pytest.approx(4 / 6)
    cap = at_capacity(Y, SCORE, 8, deal_value=np.where(Y == 1, 100.0, np.nan))
    assert cap.conversions == 5 and cap.captured == pytest.approx(5 / 6)
    assert cap.conversion_rate == pytest.approx(5 / 8)
    assert cap.revenue == 500 and cap.revenue_share == pytest.approx(5 / 6)


def test_capacity_above_the_number_of_leads_takes_everyone() -> None:
    cap = at_capacity(Y, SCORE, 1000)
    assert cap.k == 20 and cap.k_requested == 1000 and cap.captured == 1.0
    with pytest.raises(EvaluationError, match="capacity_k: expected a positive number of leads, got 0"):
        at_capacity(Y, SCORE, 0)


def test_ties_straddling_capacity_count_their_expected_share() -> None:
    # 4 leads tied at the top, 2 of them convert; K=2 takes half the tie in expectation -> 1 conversion
    y = [1, 1, 0, 0, 1]
    s = [5, 5, 5, 5, 1]
    cap = at_capacity(y, s, 2)
    assert cap.conversions == pytest.approx(1.0)
    assert cap.captured == pytest.approx(1 / 3)
    # brute force: average over every order of the tied leads
    sims = [sum(y[i] for i in perm[:2]) for perm in itertools.permutations(range(4))]
    assert cap.conversions == pytest.approx(np.mean(sims))


def test_mql_threshold_hand_example() -> None:
    m = at_threshold(Y, SCORE, 16, deal_value=np.where(Y == 1, 10.0, np.nan))
    assert m.n_mql == 5 and m.conversions == 4
    assert m.conversion_rate == pytest.approx(0.8) and m.captured == pytest.approx(4 / 6)
    assert m.non_mql_conversion_rate == pytest.approx(2 / 15)
    assert m.revenue == 40
    lo, hi = m.conversion_rate_ci
    assert lo < 0.8 < hi
    empty = at_threshold(Y, SCORE, 100)
    assert empty.n_mql == 0 and math.isnan(empty.conversion_rate)
    assert empty.to_dict()["conversion_rate"] is None


def test_expected_value_closed_form() -> None:
    # top 5: 4 conversions x 1000 - 5 x 50
    assert expected_value_at_k(Y, SCORE, 5, value_per_conversion=1000, cost_per_contact=50) == 4000 - 250
    assert expected_value_at_threshold(Y, SCORE, 16, value_per_conversion=1000, cost_per_contact=50) == 3750
    dv = np.where(Y == 1, 300.0, np.nan)
    dv[0] = np.nan  # converted without a recorded deal value: falls back to the flat value
    ev = expected_value_at_k(Y, SCORE, 3, value_per_conversion=1000, cost_per_contact=10, deal_value=dv)
    assert ev == 1000 + 300 + 300 - 30


def _brute_force_best(y: np.ndarray, s: np.ndarray, value: float, cost: float) -> tuple[int, float]:
    order = np.argsort(-s, kind="stable")
    evs = [value * y[order[:k]].sum() - cost * k for k in range(len(y) + 1)]
    k = int(np.argmax(evs))
    return k, float(evs[k])


@pytest.mark.parametrize(("value", "cost"), [(1000.0, 50.0), (100.0, 40.0), (10.0, 100.0), (1.0, 0.0)])
def test_best_k_maximises_expected_value_by_brute_force(value: float, cost: float) -> None:
    rng = np.random.default_rng(int(value + cost))
    s = rng.random(400)
    y = (rng.random(400) < s * 0.5).astype(int)
    best = best_cutoff(y, s, value_per_conversion=value, cost_per_contact=cost)
    k, ev = _brute_force_best(y, s, value, cost)
    assert best.expected_value == pytest.approx(ev)
    assert best.k == k
    if k:
        assert best.threshold == pytest.approx(np.sort(s)[::-1][k - 1])
        assert expected_value_at_threshold(
            y, s, best.threshold, value_per_conversion=value, cost_per_contact=cost
        ) == pytest.approx(ev)
    else:
        assert best.threshold is None


def test_best_k_with_ties_is_the_best_tie_boundary() -> None:
    rng = np.random.default_rng(3)
    s = np.round(rng.random(300), 1)
    y = (rng.random(300) < s * 0.6).astype(int)
    curve = expected_value_curve(y, s, value_per_conversion=100, cost_per_contact=30)
    # every boundary k selects exactly score >= threshold, so EV(k) is computable without tie-breaking
    for k, thr, ev in curve.itertuples(index=False):
        sel = s >= thr
        assert sel.sum() == k
        assert ev == pytest.approx(100 * y[sel].sum() - 30 * k)
    best = best_cutoff(y, s, value_per_conversion=100, cost_per_contact=30)
    assert best.expected_value == pytest.approx(curve["expected_value"].max())


def test_contacting_nobody_is_best_when_contacts_cost_more_than_conversions_bring() -> None:
    best = best_cutoff(Y, SCORE, value_per_conversion=10, cost_per_contact=100)
    assert best.k == 0 and best.threshold is None and best.expected_value == 0
