"""Ranking and business measures: gains and lift by decile, what Sales' capacity and the MQL threshold
capture, and the expected value of contacting the top K (with the K and threshold that maximise it).

Top-K figures are expectations under random tie-breaking (see `ranking.Ranking`), so they can be fractional.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadops.evaluation._inputs import ArrayLike, FloatArray, as_labels, as_scores, require_nonempty
from leadops.evaluation.errors import EvaluationError
from leadops.evaluation.intervals import wilson
from leadops.evaluation.ranking import Ranking


def _prepare(y: ArrayLike, score: ArrayLike, what: str) -> tuple[FloatArray, FloatArray]:
    """Validate labels and scores together."""
    yy = as_labels(y)
    s = as_scores(score, "score", yy.shape[0])
    require_nonempty(yy, what)
    return yy, s


def conversion_values(y: FloatArray, *, value_per_conversion: float, deal_value: ArrayLike | None = None) -> FloatArray:
    """Value each row brings if contacted: its deal value when known and converted, else the flat value."""
    if deal_value is None:
        return y * float(value_per_conversion)
    dv = np.asarray(pd.to_numeric(pd.Series(np.asarray(deal_value)), errors="coerce"), dtype=np.float64)
    if dv.shape[0] != y.shape[0]:
        raise EvaluationError(f"deal_value: expected {y.shape[0]} values (one per row of y), got {dv.shape[0]}")
    per = np.where(np.isfinite(dv), dv, float(value_per_conversion))
    return y * per


def revenue_values(y: FloatArray, deal_value: ArrayLike) -> FloatArray:
    """Realised revenue per row: the deal value of converted rows, 0 elsewhere (missing counts as 0)."""
    dv = np.asarray(pd.to_numeric(pd.Series(np.asarray(deal_value)), errors="coerce"), dtype=np.float64)
    if dv.shape[0] != y.shape[0]:
        raise EvaluationError(f"deal_value: expected {y.shape[0]} values (one per row of y), got {dv.shape[0]}")
    return y * np.nan_to_num(dv, nan=0.0)


def gains_table(y: ArrayLike, score: ArrayLike, *, n_bins: int = 10, ranking: Ranking | None = None) -> pd.DataFrame:
    """Cumulative gains and lift by decile (decile 1 = highest scores).

    Boundaries sit at round(d * n / n_bins). Columns: decile, n, conversions, conversion_rate, lift,
    cum_n, cum_share_leads, cum_conversions, cum_gain (share of all conversions), cum_lift, min_score.
    """
    yy, s = _prepare(y, score, "gains_table")
    if n_bins < 1:
        raise EvaluationError(f"n_bins: expected a positive integer, got {n_bins}")
    r = ranking or Ranking(s)
    n = yy.shape[0]
    bounds = np.round(np.arange(n_bins + 1) * n / n_bins).astype(np.int64)
    cum_conv = r.cumulative(yy, bounds)
    cnt = np.diff(bounds).astype(np.float64)
    conv = np.diff(cum_conv)
    total = float(yy.sum())
    base = total / n
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(cnt > 0, conv / cnt, np.nan)
        lift = rate / base if base > 0 else np.full(n_bins, np.nan)
        cum_rate = cum_conv[1:] / bounds[1:]
        cum_lift = cum_rate / base if base > 0 else np.full(n_bins, np.nan)
        cum_gain = cum_conv[1:] / total if total > 0 else np.full(n_bins, np.nan)
    min_score = np.array([r.sorted_scores[b - 1] if b > 0 else np.nan for b in bounds[1:]])
    return pd.DataFrame(
        {
            "decile": np.arange(1, n_bins + 1),
            "n": cnt.astype(np.int64),
            "conversions": conv,
            "conversion_rate": rate,
            "lift": lift,
            "cum_n": bounds[1:],
            "cum_share_leads": bounds[1:] / n,
            "cum_conversions": cum_conv[1:],
            "cum_gain": cum_gain,
            "cum_lift": cum_lift,
            "min_score": min_score,
        }
    )


def gains_curve(
    y: ArrayLike, score: ArrayLike, *, max_points: int = 101, ranking: Ranking | None = None
) -> pd.DataFrame:
    """Share of conversions captured against share of leads contacted, at evenly spaced points (for plots)."""
    yy, s = _prepare(y, score, "gains_curve")
    r = ranking or Ranking(s)
    n = yy.shape[0]
    ks = np.unique(np.round(np.linspace(0, n, max_points)).astype(np.int64))
    total = float(yy.sum())
    cum = r.cumulative(yy, ks)
    return pd.DataFrame({"share_leads": ks / n, "share_conversions": cum / total if total > 0 else np.nan})


@dataclass(frozen=True)
class CapacityFigures:
    """What Sales' daily capacity (the top K leads) captures."""

    k_requested: int
    k: int
    conversions: float
    captured: float
    conversion_rate: float
    revenue: float | None
    revenue_share: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return _clean(asdict(self))


def at_capacity(
    y: ArrayLike,
    score: ArrayLike,
    k: int,
    *,
    deal_value: ArrayLike | None = None,
    ranking: Ranking | None = None,
) -> CapacityFigures:
    """Conversions and revenue among the top k; `captured` is their share of all conversions (K > n -> n)."""
    yy, s = _prepare(y, score, "at_capacity")
    if int(k) < 1:
        raise EvaluationError(f"capacity_k: expected a positive number of leads, got {k}")
    r = ranking or Ranking(s)
    kk = min(int(k), yy.shape[0])
    conv = float(r.cumulative(yy, [kk])[0])
    total = float(yy.sum())
    revenue = revenue_share = None
    if deal_value is not None:
        rv = revenue_values(yy, deal_value)
        revenue = float(r.cumulative(rv, [kk])[0])
        revenue_share = revenue / float(rv.sum()) if rv.sum() > 0 else math.nan
    return CapacityFigures(
        k_requested=int(k),
        k=kk,
        conversions=conv,
        captured=conv / total if total > 0 else math.nan,
        conversion_rate=conv / kk,
        revenue=revenue,
        revenue_share=revenue_share,
    )


def captured_at_capacity(y: ArrayLike, score: ArrayLike, k: int) -> float:
    """Share of all conversions that fall among the top k leads."""
    return at_capacity(y, score, k).captured


@dataclass(frozen=True)
class MqlFigures:
    """What the MQL rule `score >= threshold` routes to Sales, and how those leads convert."""

    threshold: float
    n_mql: int
    share_mql: float
    conversions: int
    conversion_rate: float
    conversion_rate_ci: tuple[float, float]
    captured: float
    non_mql_conversion_rate: float
    revenue: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        d = asdict(self)
        d["conversion_rate_ci"] = list(self.conversion_rate_ci)
        return _clean(d)


def at_threshold(
    y: ArrayLike, score: ArrayLike, threshold: float, *, deal_value: ArrayLike | None = None
) -> MqlFigures:
    """MQL figures at `score >= threshold`: volume, conversion rate (Wilson CI) and share captured."""
    yy, s = _prepare(y, score, "at_threshold")
    mql = s >= float(threshold)
    n_mql = int(mql.sum())
    n = yy.shape[0]
    conv = int(yy[mql].sum())
    total = float(yy.sum())
    rest = n - n_mql
    return MqlFigures(
        threshold=float(threshold),
        n_mql=n_mql,
        share_mql=n_mql / n,
        conversions=conv,
        conversion_rate=conv / n_mql if n_mql else math.nan,
        conversion_rate_ci=wilson(conv, n_mql),
        captured=conv / total if total > 0 else math.nan,
        non_mql_conversion_rate=(total - conv) / rest if rest else math.nan,
        revenue=float(revenue_values(yy, deal_value)[mql].sum()) if deal_value is not None else None,
    )


def expected_value_curve(
    y: ArrayLike,
    score: ArrayLike,
    *,
    value_per_conversion: float,
    cost_per_contact: float,
    deal_value: ArrayLike | None = None,
    ranking: Ranking | None = None,
) -> pd.DataFrame:
    """Expected value of contacting the top k, at every tie-group boundary k (and k = 0).

    EV(k) = value of conversions among the top k - cost_per_contact * k; value is the deal value of a
    converted lead when given (missing -> value_per_conversion), else value_per_conversion.
    Columns: k, threshold (score >= threshold selects exactly k; +inf at k = 0), expected_value.
    """
    yy, s = _prepare(y, score, "expected_value_curve")
    r = ranking or Ranking(s)
    vals = conversion_values(yy, value_per_conversion=value_per_conversion, deal_value=deal_value)
    ks = r.boundaries()
    ev = r.cumulative(vals, ks) - float(cost_per_contact) * ks
    thr = np.r_[np.inf, r.sorted_scores[ks[1:] - 1]]
    return pd.DataFrame({"k": ks, "threshold": thr, "expected_value": ev})


def expected_value_at_k(
    y: ArrayLike,
    score: ArrayLike,
    k: int,
    *,
    value_per_conversion: float,
    cost_per_contact: float,
    deal_value: ArrayLike | None = None,
    ranking: Ranking | None = None,
) -> float:
    """Expected value of contacting the top k leads (k clipped to n)."""
    yy, s = _prepare(y, score, "expected_value_at_k")
    r = ranking or Ranking(s)
    kk = min(max(int(k), 0), yy.shape[0])
    vals = conversion_values(yy, value_per_conversion=value_per_conversion, deal_value=deal_value)
    return float(r.cumulative(vals, [kk])[0] - float(cost_per_contact) * kk)


def expected_value_at_threshold(
    y: ArrayLike,
    score: ArrayLike,
    threshold: float,
    *,
    value_per_conversion: float,
    cost_per_contact: float,
    deal_value: ArrayLike | None = None,
) -> float:
    """Expected value of contacting every lead with score >= threshold."""
    yy, s = _prepare(y, score, "expected_value_at_threshold")
    sel = s >= float(threshold)
    vals = conversion_values(yy, value_per_conversion=value_per_conversion, deal_value=deal_value)
    return float(vals[sel].sum() - float(cost_per_contact) * sel.sum())


@dataclass(frozen=True)
class BestCutoff:
    """The K (and equivalent threshold) that maximises expected value; threshold None means contact nobody."""

    k: int
    threshold: float | None
    expected_value: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return _clean(asdict(self))


def best_cutoff(
    y: ArrayLike,
    score: ArrayLike,
    *,
    value_per_conversion: float,
    cost_per_contact: float,
    deal_value: ArrayLike | None = None,
    ranking: Ranking | None = None,
) -> BestCutoff:
    """The top-K size maximising expected value (smallest K on ties); EV is linear inside a tie group so only
    group boundaries need checking."""
    curve = expected_value_curve(
        y,
        score,
        value_per_conversion=value_per_conversion,
        cost_per_contact=cost_per_contact,
        deal_value=deal_value,
        ranking=ranking,
    )
    i = int(np.argmax(curve["expected_value"].to_numpy()))
    k = int(curve["k"].iloc[i])
    thr = float(curve["threshold"].iloc[i])
    return BestCutoff(k=k, threshold=None if k == 0 else thr, expected_value=float(curve["expected_value"].iloc[i]))


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Replace NaN floats (also inside lists) by None for JSON."""
    out: dict[str, Any] = {}
    for key, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[key] = None
        elif isinstance(v, list | tuple):
            out[key] = [None if isinstance(x, float) and not math.isfinite(x) else x for x in v]
        else:
            out[key] = v
    return out
