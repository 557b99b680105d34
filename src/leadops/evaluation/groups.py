"""Every metric by group (lead source, industry, region, size band ...): a model better overall can be
worse for an important group. Groups too small to judge are marked `small` and keep their (wide) AUC
interval."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from leadops.evaluation._inputs import ArrayLike, FloatArray, as_labels, as_probabilities, as_scores
from leadops.evaluation.errors import EvaluationError
from leadops.evaluation.intervals import wilson
from leadops.evaluation.metrics import auc_ci, ece
from leadops.evaluation.ranking import Ranking

MISSING = "(missing)"
DEFAULT_MIN_N = 200
DEFAULT_MIN_POSITIVES = 20


def _group_metrics(
    y: FloatArray,
    s: FloatArray,
    p: FloatArray | None,
    in_top: FloatArray,
    k: int,
    *,
    min_n: int,
    min_positives: int,
    n_bins: int,
) -> dict[str, Any]:
    """Metrics of one group's rows; AUC is None when the group holds a single class."""
    n = int(y.shape[0])
    pos = int(y.sum())
    lo, hi = wilson(pos, n)
    row: dict[str, Any] = {
        "n": n,
        "positives": pos,
        "conversion_rate": pos / n if n else None,
        "conversion_rate_ci": [_f(lo), _f(hi)],
        "auc": None,
        "auc_ci": [None, None],
        "auc_se": None,
        "ece": None,
        "mean_predicted": None,
        "in_top_k": float(in_top.sum()),
        "share_of_top_k": float(in_top.sum()) / k if k else None,
        "captured_at_capacity": float((in_top * y).sum()) / pos if pos else None,
        "small": bool(n < min_n or pos < min_positives),
    }
    if 0 < pos < n:
        ci = auc_ci(y, s)
        row["auc"] = ci.auc
        row["auc_ci"] = [_f(ci.low), _f(ci.high)]
        row["auc_se"] = _f(ci.se)
    if p is not None and n:
        row["ece"] = ece(y, p, n_bins=n_bins)
        row["mean_predicted"] = float(p.mean())
    return row


def group_metrics(
    y: ArrayLike,
    score: ArrayLike,
    groups: pd.DataFrame,
    *,
    capacity_k: int,
    proba: ArrayLike | None = None,
    min_n: int = DEFAULT_MIN_N,
    min_positives: int = DEFAULT_MIN_POSITIVES,
    n_bins: int = 10,
    ranking: Ranking | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """group column -> group value (as text; nulls as '(missing)') -> metrics, rows aligned by position.

    `captured_at_capacity` is the share of the group's conversions that fall in the overall top
    `capacity_k` (the leads Sales works), `share_of_top_k` the group's share of those K slots.
    """
    yy = as_labels(y)
    n = yy.shape[0]
    s = as_scores(score, "score", n)
    p = as_probabilities(proba, "proba", n) if proba is not None else None
    if not isinstance(groups, pd.DataFrame):
        raise EvaluationError(f"groups: expected a pandas DataFrame of group columns, got {type(groups).__name__}")
    if groups.shape[0] != n:
        raise EvaluationError(f"groups: expected {n} rows (one per row of y), got {groups.shape[0]}")
    if capacity_k < 1:
        raise EvaluationError(f"capacity_k: expected a positive number of leads, got {capacity_k}")
    r = ranking or Ranking(s)
    k = min(int(capacity_k), n)
    in_top = r.membership(k)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for col in groups.columns:
        values = groups[col].reset_index(drop=True)
        labels = values.astype(object).where(values.notna(), MISSING).astype(str).to_numpy()
        codes, uniques = pd.factorize(labels, sort=True)
        per: dict[str, dict[str, Any]] = {}
        order = np.argsort(codes, kind="mergesort")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for i, label in enumerate(uniques):
            idx = order[bounds[i] : bounds[i + 1]]
            per[str(label)] = _group_metrics(
                yy[idx],
                s[idx],
                None if p is None else p[idx],
                in_top[idx],
                k,
                min_n=min_n,
                min_positives=min_positives,
                n_bins=n_bins,
            )
        out[str(col)] = per
    return out


def group_frame(groups: dict[str, dict[str, dict[str, Any]]]) -> pd.DataFrame:
    """The nested group dict as one long table (group_column, group_value, metrics...)."""
    rows = []
    for col, per in groups.items():
        for value, m in per.items():
            row = {"group_column": col, "group_value": value}
            for key, v in m.items():
                if isinstance(v, list):
                    row[f"{key}_low"], row[f"{key}_high"] = v[0], v[1]
                else:
                    row[key] = v
            rows.append(row)
    return pd.DataFrame(rows)


def _f(x: float) -> float | None:
    """NaN -> None."""
    return None if x is None or math.isnan(x) else float(x)
