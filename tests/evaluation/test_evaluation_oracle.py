"""Model figures beside the oracle's."""

from __future__ import annotations

import numpy as np
import pytest
from evaluation_fixtures import group_scenario
from sklearn.metrics import roc_auc_score

from leadops.evaluation import captured_at_capacity, oracle_comparison


def test_oracle_figures_and_lift_ratio() -> None:
    sc = group_scenario()
    o = oracle_comparison(
        sc.y,
        sc.champion,
        sc.true_p,
        capacity_k=800,
        value_per_conversion=100,
        cost_per_contact=10,
        proba=sc.champion,
    )
    a_model, a_oracle = roc_auc_score(sc.y, sc.champion), roc_auc_score(sc.y, sc.true_p)
    assert o["oracle_auc"] == pytest.approx(a_oracle)
    assert o["figures"]["auc"]["model"] == pytest.approx(a_model)
    assert o["lift_ratio"] == pytest.approx((a_model - 0.5) / (a_oracle - 0.5))
    assert o["oracle_captured_at_capacity"] == pytest.approx(captured_at_capacity(sc.y, sc.true_p, 800))
    assert 0 < o["lift_ratio"] < 1
    # the noise-free view: the oracle holds the most expected conversions in any top K
    exp = o["figures"]["expected_captured_at_capacity"]
    top = np.argsort(-sc.true_p)[:800]
    assert exp["oracle"] == pytest.approx(sc.true_p[top].sum() / sc.true_p.sum())
    assert exp["model"] < exp["oracle"]
    assert o["figures"]["brier"]["oracle"] < o["figures"]["brier"]["model"]


def test_oracle_against_itself_has_ratio_one() -> None:
    sc = group_scenario(n=3000)
    o = oracle_comparison(sc.y, sc.true_p, sc.true_p, capacity_k=100, value_per_conversion=1, cost_per_contact=0)
    assert o["lift_ratio"] == pytest.approx(1.0) and o["captured_ratio"] == pytest.approx(1.0)
    assert o["figures"]["brier"]["model"] is None
