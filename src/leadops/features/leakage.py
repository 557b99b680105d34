"""The leakage guard: find features that act as outcome proxies before a model ever sees them.

Activity features cannot leak by time: the SQL only reads activities with occurred_at <= snapshot (and a test
proves later events never change a training row). What can leak is a value recorded during or after the
outcome that sits in a static attribute (or a derived feature built on one), e.g. the bank-marketing call
`duration`, known only once the call ended. The rule, applied to every feature on the training split:

1. Perfect separation: the feature's single-feature AUC (rank-based, direction-free: max(AUC, 1 - AUC);
   categoricals encoded by their training-part conversion rate and scored out of sample) is >= `threshold`
   (default 0.95).
2. Dominance: its single-feature AUC is >= `dominance_floor` (default 0.75) AND >= the held-out AUC of a
   gradient-boosted model trained on all the OTHER features together, minus `dominance_margin` (default 0).
   A legitimate signal is one of many views of the same lead, so the rest of the record predicts the outcome
   at least as well as any one field; a field that knows more than everything else combined carries
   information the lead's record cannot have had before the outcome. Near-copies of the feature (|Spearman|
   >= 0.9, or any other feature above `threshold`) are left out of "the rest" so two proxies cannot hide each
   other.

Rule 2 applies only to features that are not time-safe: activity features (and lead age, and derived features
built only on them) of a point-in-time training set are computed from events before the snapshot, so a strong
one is intent showing, not a leak; rule 1 still applies to them.

On bank-additional-full.csv `duration` alone has AUC ~0.82, below 0.95, but the other 19 fields together reach
only ~0.80 held out, so rule 2 flags it; the strongest legitimate field (nr.employed, ~0.75) is far below the
rest (~0.95). Flagged features are excluded by default (`action: exclude`), unless listed in `allow`; the
report says which and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import FeatureError
from leadops.features.specs import LeakageSpec

NEAR_COPY = 0.9


@dataclass
class FeatureCheck:
    """The guard's verdict on one feature."""

    name: str
    auc: float
    rest_auc: float | None = None
    flagged: bool = False
    excluded: bool = False
    reason: str = ""


@dataclass
class LeakageReport:
    """What the guard checked, what it flagged, what it excluded, and why."""

    checks: list[FeatureCheck] = field(default_factory=list)
    rows: int = 0
    skipped: str | None = None

    @property
    def flagged(self) -> list[str]:
        """Names of the flagged features."""
        return [c.name for c in self.checks if c.flagged]

    @property
    def excluded(self) -> list[str]:
        """Names of the features removed from training."""
        return [c.name for c in self.checks if c.excluded]

    def reasons(self) -> dict[str, str]:
        """Flagged feature -> why."""
        return {c.name: c.reason for c in self.checks if c.flagged}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON reports."""
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "flagged": self.flagged,
            "excluded": self.excluded,
            "checks": [asdict(c) for c in self.checks],
        }


def rank_auc(score: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney AUC with midranks for ties (what roc_auc_score computes), NaN-free input."""
    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise FeatureError(f"AUC needs both classes, got {n_pos} positives and {n_neg} negatives")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(s.size, dtype=np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
    ends = np.r_[starts[1:], s.size]
    mid = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mid, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _numeric(x: pd.Series) -> np.ndarray:
    """Missing values rank below everything (missingness itself can be the proxy)."""
    v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(v).all():
        return np.zeros(v.size)
    low = np.nanmin(v) - 1.0
    return np.where(np.isnan(v), low, v)


def _rate_encode(x: pd.Series, y: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Each category's conversion rate on the fit rows, smoothed to the base rate; missing is a category."""
    keys = x.astype(object).where(x.notna(), "\x00missing").astype(str).to_numpy()
    base = float(y[fit].mean())
    frame = pd.DataFrame({"k": keys[fit], "y": y[fit]})
    stats = frame.groupby("k")["y"].agg(["sum", "count"])
    rates = (stats["sum"] + 10 * base) / (stats["count"] + 10)
    return pd.Series(keys).map(rates).fillna(base).to_numpy(dtype=np.float64)


def single_feature_auc(x: pd.Series, y: np.ndarray, *, categorical: bool, fit: np.ndarray) -> float:
    """Direction-free single-feature AUC; categoricals scored out of sample (fit on `fit`)."""
    if categorical:
        enc = _rate_encode(x, y, fit)
        hold = ~fit
        auc = rank_auc(enc[hold], y[hold])
    else:
        auc = rank_auc(_numeric(x), y)
    return max(auc, 1.0 - auc)


def _encoded(X: pd.DataFrame, y: np.ndarray, categorical: set[str], fit: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({c: (_rate_encode(X[c], y, fit) if c in categorical else _numeric(X[c])) for c in X.columns})


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two rank vectors (Spearman), 0 when either is constant."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _rest_auc(enc: pd.DataFrame, y: np.ndarray, fit: np.ndarray, seed: int) -> float:
    """Held-out AUC of a gradient-boosted model on the given columns."""
    if enc.shape[1] == 0:
        return 0.5
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=seed)
    with threadpool_limits(1):  # OpenMP on a busy 2-core host is ~10x slower than one thread
        model.fit(enc.to_numpy()[fit], y[fit])
        p = model.predict_proba(enc.to_numpy()[~fit])[:, 1]
    return rank_auc(p, y[~fit])


def check_leakage(
    X: pd.DataFrame,
    y: Any,
    *,
    categorical: list[str] | None = None,
    spec: LeakageSpec | None = None,
    seed: int = 0,
    time_safe: set[str] | None = None,
) -> LeakageReport:
    """Apply the rule in the module docstring to every column of X against the binary label y.

    `time_safe` features (point-in-time activity features) are checked for perfect separation only: they cannot
    have been recorded after the snapshot, so a strong one is a strong signal, not a proxy."""
    safe = time_safe or set()
    spec = spec or LeakageSpec()
    y_arr = np.asarray(y, dtype=np.int8)
    if len(y_arr) != len(X):
        raise FeatureError(f"leakage check: X has {len(X)} rows but y has {len(y_arr)}")
    if not spec.enabled:
        return LeakageReport(rows=len(X), skipped="disabled by training.leakage.enabled")
    if y_arr.min(initial=0) == y_arr.max(initial=0) or len(y_arr) < 50:
        return LeakageReport(rows=len(X), skipped="needs at least 50 rows with both classes")
    rng = np.random.default_rng(seed)
    if len(X) > spec.max_rows:
        keep = np.sort(rng.choice(len(X), spec.max_rows, replace=False))
        X, y_arr = X.iloc[keep], y_arr[keep]
    X = X.reset_index(drop=True)
    fit = np.zeros(len(X), dtype=bool)
    for cls in (0, 1):  # stratified 70/30 fit/holdout
        idx = np.flatnonzero(y_arr == cls)
        fit[rng.permutation(idx)[: round(0.7 * idx.size)]] = True
    cats = set(categorical or [])
    report = LeakageReport(rows=len(X))
    aucs = {c: single_feature_auc(X[c], y_arr, categorical=c in cats, fit=fit) for c in X.columns}
    enc: pd.DataFrame | None = None
    ranks = np.zeros((0, 0))
    for name in X.columns:
        check = FeatureCheck(name=name, auc=round(aucs[name], 4))
        if aucs[name] >= spec.threshold:
            check.flagged = True
            check.reason = (
                f"separates the label almost perfectly on its own (single-feature AUC "
                f"{aucs[name]:.3f} >= {spec.threshold})"
            )
        elif aucs[name] >= spec.dominance_floor and name not in safe:
            if enc is None:
                enc = _encoded(X, y_arr, cats, fit)
                ranks = enc.rank().to_numpy()
            col = {c: i for i, c in enumerate(X.columns)}
            others = [
                c
                for c in X.columns
                if c != name
                and aucs[c] < spec.threshold
                and abs(_corr(ranks[:, col[name]], ranks[:, col[c]])) < NEAR_COPY
            ]
            rest = _rest_auc(enc[others], y_arr, fit, seed)
            check.rest_auc = round(rest, 4)
            if aucs[name] >= rest - spec.dominance_margin:
                check.flagged = True
                check.reason = (
                    f"on its own it ranks outcomes better than the {len(others)} other features "
                    f"together (AUC {aucs[name]:.3f} vs {rest:.3f}): an outcome proxy, likely "
                    "recorded during or after the outcome"
                )
        if check.flagged:
            check.excluded = spec.action == "exclude" and name not in spec.allow
            if name in spec.allow:
                check.reason += " [kept: listed in leakage.allow]"
        report.checks.append(check)
    return report
