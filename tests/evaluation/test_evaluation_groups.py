"""Per-group metrics, small-group marking and Wilson intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_fixtures import group_scenario
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from leadops.evaluation import EvaluationError, group_frame, group_metrics, wilson, wilson_interval
from leadops.evaluation.metrics import ece


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (17, 230), (1, 2000)])
def test_wilson_matches_scipy_binomtest(k: int, n: int) -> None:
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)
    ref90 = binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
    assert wilson(k, n, level=0.9) == pytest.approx((ref90.low, ref90.high), abs=1e-12)


def test_wilson_of_no_trials_is_nan_and_bad_counts_are_refused() -> None:
    lo, hi = wilson_interval([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    with pytest.raises(EvaluationError):
        wilson(5, 3)


def test_group_metrics_match_per_group_references() -> None:
    sc = group_scenario()
    g = group_metrics(sc.y, sc.challenger, sc.groups, capacity_k=1000, proba=sc.challenger)
    assert set(g) == {"lead_source", "region"}
    src = sc.groups["lead_source"].to_numpy()
    for value, m in g["lead_source"].items():
        mask = src == value
        assert m["n"] == mask.sum() and m["positives"] == sc.y[mask].sum()
        assert m["auc"] == pytest.approx(roc_auc_score(sc.y[mask], sc.challenger[mask]))
        assert m["ece"] == pytest.approx(ece(sc.y[mask], sc.challenger[mask]))
        assert m["auc_ci"][0] < m["auc"] < m["auc_ci"][1]
    # capacity shares: the groups split the top K, and captured = conversions in top K / group conversions
    assert sum(m["in_top_k"] for m in g["lead_source"].values()) == pytest.approx(1000)
    top = np.argsort(-sc.challenger)[:1000]
    in_top = np.zeros(len(sc.y), bool)
    in_top[top] = True
    web = src == "webinar"
    assert g["lead_source"]["webinar"]["captured_at_capacity"] == pytest.approx(
        sc.y[web & in_top].sum() / sc.y[web].sum()
    )


def test_small_groups_are_marked_and_keep_their_auc_interval() -> None:
    sc = group_scenario()
    g = group_metrics(sc.y, sc.challenger, sc.groups, capacity_k=1000)["lead_source"]
    assert g["partner"]["small"] is True and g["partner"]["n"] < 200
    assert g["partner"]["auc_ci"][0] is not None and g["partner"]["auc_ci"][1] is not None
    assert g["organic"]["small"] is False
    wide = g["partner"]["auc_ci"][1] - g["partner"]["auc_ci"][0]
    narrow = g["organic"]["auc_ci"][1] - g["organic"]["auc_ci"][0]
    assert wide > 3 * narrow
    # a large group with few conversions is small too
    few = group_metrics([1] * 5 + [0] * 995, np.linspace(0, 1, 1000), pd.DataFrame({"g": ["x"] * 1000}), capacity_k=10)
    assert few["g"]["x"]["small"] is True


def test_single_class_group_has_no_auc_and_nulls_are_their_own_group() -> None:
    y = np.array([1, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.1, 0.8, 0.3, 0.2, 0.4])
    groups = pd.DataFrame({"industry": ["a", "a", "b", "b", None, None]})
    g = group_metrics(y, s, groups, capacity_k=2, min_n=1, min_positives=0)["industry"]
    assert set(g) == {"a", "b", "(missing)"}
    assert g["(missing)"]["auc"] is None and g["(missing)"]["captured_at_capacity"] is None
    assert g["a"]["auc"] == 1.0
    frame = group_frame({"industry": g})
    assert {"group_column", "group_value", "auc", "auc_ci_low", "auc_ci_high", "small"} <= set(frame.columns)


def test_group_frame_must_align_with_y() -> None:
    with pytest.raises(EvaluationError, match="groups: expected 3 rows"):
        group_metrics([0, 1, 0], [0.1, 0.2, 0.3], pd.DataFrame({"g": ["a", "b"]}), capacity_k=1)
