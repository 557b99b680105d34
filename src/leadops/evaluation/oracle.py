"""Every figure beside the oracle's: what a scorer that knew each lead's true conversion probability would
achieve on the same rows, so "AUC 0.74" reads as "x % of what is achievable"."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from leadops.evaluation._inputs import ArrayLike, as_labels, as_probabilities, as_scores
from leadops.evaluation.business import at_capacity, best_cutoff
from leadops.evaluation.errors import UndefinedMetricError
from leadops.evaluation.metrics import auc, brier, log_loss, pr_auc
from leadops.evaluation.ranking import Ranking


def oracle_comparison(
    y: ArrayLike,
    score: ArrayLike,
    true_proba: ArrayLike,
    *,
    capacity_k: int,
    value_per_conversion: float,
    cost_per_contact: float,
    proba: ArrayLike | None = None,
    deal_value: ArrayLike | None = None,
) -> dict[str, Any]:
    """Model vs oracle on the same rows.

    Returns oracle_auc, oracle_captured_at_capacity, lift_ratio = (auc - 0.5) / (oracle_auc - 0.5),
    captured_ratio, expected_captured (share of the true expected conversions sum(p) that each top K holds,
    free of outcome noise) and `figures`: name -> {"model", "oracle"} for auc, pr_auc, brier, log_loss,
    captured_at_capacity, conversions_at_capacity, expected_captured_at_capacity, revenue_at_capacity,
    best_expected_value.
    """
    yy = as_labels(y)
    n = yy.shape[0]
    s = as_scores(score, "score", n)
    t = as_probabilities(true_proba, "oracle", n)
    p = as_probabilities(proba, "proba", n) if proba is not None else None
    r_model, r_oracle = Ranking(s), Ranking(t)
    figures: dict[str, dict[str, float | None]] = {}

    def pair(name: str, model: float | None, oracle: float | None) -> None:
        figures[name] = {"model": _f(model), "oracle": _f(oracle)}

    pair("auc", _safe(lambda: auc(yy, s)), _safe(lambda: auc(yy, t)))
    pair("pr_auc", _safe(lambda: pr_auc(yy, s)), _safe(lambda: pr_auc(yy, t)))
    pair("brier", None if p is None else brier(yy, p), brier(yy, t))
    pair("log_loss", None if p is None else log_loss(yy, p), log_loss(yy, t))
    cap_m = at_capacity(yy, s, capacity_k, deal_value=deal_value, ranking=r_model)
    cap_o = at_capacity(yy, t, capacity_k, deal_value=deal_value, ranking=r_oracle)
    pair("captured_at_capacity", cap_m.captured, cap_o.captured)
    pair("conversions_at_capacity", cap_m.conversions, cap_o.conversions)
    k = cap_m.k
    total_p = float(t.sum())
    exp_m = float(r_model.cumulative(t, [k])[0]) / total_p if total_p > 0 else math.nan
    exp_o = float(r_oracle.cumulative(t, [k])[0]) / total_p if total_p > 0 else math.nan
    pair("expected_captured_at_capacity", exp_m, exp_o)
    pair("revenue_at_capacity", cap_m.revenue, cap_o.revenue)
    kw: dict[str, Any] = {
        "value_per_conversion": value_per_conversion,
        "cost_per_contact": cost_per_contact,
        "deal_value": deal_value,
    }
    pair(
        "best_expected_value",
        best_cutoff(yy, s, ranking=r_model, **kw).expected_value,
        best_cutoff(yy, t, ranking=r_oracle, **kw).expected_value,
    )
    a_m, a_o = figures["auc"]["model"], figures["auc"]["oracle"]
    lift_ratio = (a_m - 0.5) / (a_o - 0.5) if a_m is not None and a_o is not None and a_o != 0.5 else None
    c_m, c_o = figures["captured_at_capacity"]["model"], figures["captured_at_capacity"]["oracle"]
    return {
        "oracle_auc": a_o,
        "oracle_captured_at_capacity": c_o,
        "lift_ratio": _f(lift_ratio),
        "captured_ratio": _f(c_m / c_o) if c_m is not None and c_o else None,
        "expected_captured_ratio": _f(exp_m / exp_o) if exp_o and not math.isnan(exp_o) else None,
        "figures": figures,
    }


def _safe(fn: Any) -> float | None:
    """Value of a metric, or None when it is undefined for these labels."""
    try:
        return float(fn())
    except UndefinedMetricError:
        return None


def _f(x: float | None) -> float | None:
    """NaN -> None, numpy -> float."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or np.isinf(x) else x
