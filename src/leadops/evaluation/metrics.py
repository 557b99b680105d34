"""Statistical metrics in plain numpy (no sklearn import cost), tested against scikit-learn or a closed form.

Undefined cases: `auc`, `auc_ci` and `pr_auc` raise UndefinedMetricError when y holds a single class
(`pr_auc` only needs at least one positive); `brier`, `log_loss`, `ece` and `reliability_curve` are defined
for any non-empty input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd

from leadops.evaluation._inputs import (
    ArrayLike,
    FloatArray,
    as_labels,
    as_probabilities,
    as_scores,
    require_both_classes,
    require_nonempty,
)
from leadops.evaluation.errors import EvaluationError, UndefinedMetricError

BinStrategy = Literal["uniform", "quantile"]
LOG_LOSS_EPS = 1e-15


def midranks(x: FloatArray) -> FloatArray:
    """Return 1-based ranks with ties given their average rank (what Mann-Whitney and DeLong need)."""
    n = x.shape[0]
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    if n == 0:
        return np.zeros(0)
    change = np.flatnonzero(np.diff(xs) != 0) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, n]
    avg = (starts + ends + 1) / 2.0  # mean of ranks start+1 .. end
    ranks_sorted = np.repeat(avg, ends - starts)
    out = np.empty(n)
    out[order] = ranks_sorted
    return out


def auc(y: ArrayLike, score: ArrayLike) -> float:
    """ROC AUC from ranks in O(n log n); tied scores count one half, as in roc_auc_score."""
    yy = as_labels(y)
    s = as_scores(score, "score", yy.shape[0])
    pos, neg = require_both_classes(yy, "auc")
    r = midranks(s)
    return float((r[yy == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


@dataclass(frozen=True)
class AucInterval:
    """AUC with its standard error and a normal confidence interval clipped to [0, 1]."""

    auc: float
    se: float
    low: float
    high: float
    level: float
    method: str

    def to_dict(self) -> dict[str, float | str | None]:
        """Plain JSON-able form (NaN becomes None)."""
        return {
            "auc": _nan_none(self.auc),
            "se": _nan_none(self.se),
            "low": _nan_none(self.low),
            "high": _nan_none(self.high),
            "level": self.level,
            "method": self.method,
        }


def delong_variance(y: FloatArray, s: FloatArray) -> tuple[float, float]:
    """Return (auc, variance) by DeLong's method with the fast midrank algorithm of Sun and Xu (2014)."""
    pos_s = s[y == 1]
    neg_s = s[y == 0]
    m, n = pos_s.shape[0], neg_s.shape[0]
    tz = midranks(np.concatenate([pos_s, neg_s]))
    tx = midranks(pos_s)
    ty = midranks(neg_s)
    v10 = (tz[:m] - tx) / n  # per positive: share of negatives ranked below it (ties one half)
    v01 = 1.0 - (tz[m:] - ty) / m  # per negative: share of positives ranked above it
    a = float(v10.mean())
    s10 = float(v10.var(ddof=1)) if m > 1 else math.nan
    s01 = float(v01.var(ddof=1)) if n > 1 else math.nan
    return a, s10 / m + s01 / n


def hanley_mcneil_variance(a: float, pos: int, neg: int) -> float:
    """Hanley & McNeil (1982) variance of an AUC from its value and the class counts alone."""
    q1 = a / (2.0 - a)
    q2 = 2.0 * a * a / (1.0 + a)
    return (a * (1 - a) + (pos - 1) * (q1 - a * a) + (neg - 1) * (q2 - a * a)) / (pos * neg)


def auc_ci(
    y: ArrayLike,
    score: ArrayLike,
    *,
    level: float = 0.95,
    method: Literal["delong", "hanley_mcneil"] = "delong",
) -> AucInterval:
    """AUC with a confidence interval (DeLong by default); the SE is NaN with fewer than 2 of a class."""
    if not 0.0 < level < 1.0:
        raise EvaluationError(f"auc_ci: level must be in (0, 1), got {level}")
    yy = as_labels(y)
    s = as_scores(score, "score", yy.shape[0])
    pos, neg = require_both_classes(yy, "auc_ci")
    if method == "delong":
        a, var = delong_variance(yy, s)
    elif method == "hanley_mcneil":
        a = auc(yy, s)
        var = hanley_mcneil_variance(a, pos, neg)
    else:
        raise EvaluationError(f"auc_ci: method must be 'delong' or 'hanley_mcneil', got {method!r}")
    se = math.sqrt(var) if var >= 0 else math.nan
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    low = max(0.0, a - z * se) if not math.isnan(se) else math.nan
    high = min(1.0, a + z * se) if not math.isnan(se) else math.nan
    return AucInterval(auc=a, se=se, low=low, high=high, level=level, method=method)


def roc_points(y: ArrayLike, score: ArrayLike, max_points: int | None = 200) -> pd.DataFrame:
    """ROC curve at every distinct threshold (columns threshold, fpr, tpr), thinned to about max_points."""
    yy = as_labels(y)
    s = as_scores(score, "score", yy.shape[0])
    require_both_classes(yy, "roc_points")
    tps, fps, thr = _cumulative_counts(yy, s)
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, tps / tps[-1]]
    thresholds = np.r_[np.inf, thr]
    idx = _thin(fpr.shape[0], max_points)
    return pd.DataFrame({"threshold": thresholds[idx], "fpr": fpr[idx], "tpr": tpr[idx]})


def pr_auc(y: ArrayLike, score: ArrayLike) -> float:
    """Average precision (sum over thresholds of recall gain x precision), the same step sum as sklearn's."""
    yy = as_labels(y)
    s = as_scores(score, "score", yy.shape[0])
    require_nonempty(yy, "pr_auc")
    if yy.sum() == 0:
        raise UndefinedMetricError(
            f"pr_auc: undefined without conversions; expected at least one positive in y, got 0 of {yy.shape[0]}"
        )
    tps, fps, _ = _cumulative_counts(yy, s)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(y: ArrayLike, proba: ArrayLike) -> float:
    """Mean squared error of the probability against the 0/1 outcome."""
    yy = as_labels(y)
    p = as_probabilities(proba, "proba", yy.shape[0])
    require_nonempty(yy, "brier")
    return float(np.mean((p - yy) ** 2))


def log_loss(y: ArrayLike, proba: ArrayLike, *, eps: float = LOG_LOSS_EPS) -> float:
    """Mean negative log-likelihood with probabilities clipped to [eps, 1-eps] so 0 and 1 stay finite."""
    yy = as_labels(y)
    p = np.clip(as_probabilities(proba, "proba", yy.shape[0]), eps, 1.0 - eps)
    require_nonempty(yy, "log_loss")
    return float(-np.mean(yy * np.log(p) + (1.0 - yy) * np.log1p(-p)))


def reliability_curve(
    y: ArrayLike, proba: ArrayLike, *, n_bins: int = 10, strategy: BinStrategy = "uniform"
) -> pd.DataFrame:
    """Observed conversion rate against mean predicted probability per bin (empty bins dropped).

    Bins follow sklearn's calibration_curve: "uniform" splits [0, 1] into equal widths, "quantile" into
    equal counts; a value on an inner edge goes to the lower bin. Columns: bin, lower, upper, n,
    mean_predicted, observed_rate, ci_low, ci_high (Wilson 95 %).
    """
    from leadops.evaluation.intervals import wilson_interval

    yy = as_labels(y)
    p = as_probabilities(proba, "proba", yy.shape[0])
    require_nonempty(yy, "reliability_curve")
    edges = _bin_edges(p, n_bins, strategy)
    ids = np.searchsorted(edges[1:-1], p, side="left")
    k = edges.shape[0] - 1
    n = np.bincount(ids, minlength=k).astype(np.float64)
    sum_p = np.bincount(ids, weights=p, minlength=k)
    sum_y = np.bincount(ids, weights=yy, minlength=k)
    keep = n > 0
    rate = np.divide(sum_y, n, out=np.full(k, np.nan), where=keep)
    lo, hi = wilson_interval(sum_y[keep], n[keep])
    return pd.DataFrame(
        {
            "bin": np.arange(k)[keep],
            "lower": edges[:-1][keep],
            "upper": edges[1:][keep],
            "n": n[keep].astype(np.int64),
            "mean_predicted": sum_p[keep] / n[keep],
            "observed_rate": rate[keep],
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def ece(y: ArrayLike, proba: ArrayLike, *, n_bins: int = 10, strategy: BinStrategy = "uniform") -> float:
    """Expected calibration error: bin-size-weighted mean |observed rate - mean predicted| over the bins."""
    curve = reliability_curve(y, proba, n_bins=n_bins, strategy=strategy)
    w = curve["n"].to_numpy(dtype=np.float64)
    gap = np.abs(curve["observed_rate"].to_numpy() - curve["mean_predicted"].to_numpy())
    return float(np.sum(w * gap) / w.sum())


def calibration_in_the_large(y: ArrayLike, proba: ArrayLike) -> float:
    """Mean predicted probability minus observed conversion rate (positive = the model over-promises)."""
    yy = as_labels(y)
    p = as_probabilities(proba, "proba", yy.shape[0])
    require_nonempty(yy, "calibration_in_the_large")
    return float(p.mean() - yy.mean())


def _bin_edges(p: FloatArray, n_bins: int, strategy: BinStrategy) -> FloatArray:
    """Bin edges for the reliability curve."""
    if n_bins < 1:
        raise EvaluationError(f"n_bins: expected a positive integer, got {n_bins}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.asarray(np.percentile(p, np.linspace(0.0, 1.0, n_bins + 1) * 100), dtype=np.float64)
    raise EvaluationError(f"strategy: expected 'uniform' or 'quantile', got {strategy!r}")


def _cumulative_counts(y: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """True and false positives at each distinct threshold, scores descending (ties share one threshold)."""
    order = np.argsort(-s, kind="mergesort")
    ss = s[order]
    ys = y[order]
    last = np.r_[np.flatnonzero(np.diff(ss) != 0), ys.shape[0] - 1]
    tps = np.cumsum(ys)[last]
    fps = (last + 1) - tps
    return tps, fps, ss[last]


def _thin(n: int, max_points: int | None) -> np.ndarray:
    """Indices of about max_points evenly spaced points, always keeping both ends."""
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))


def _nan_none(x: float) -> float | None:
    """NaN -> None for JSON."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)
