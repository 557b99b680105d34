"""`evaluate`: one call that measures a scoring model on holdout leads statistically, for the business,
by group, against the oracle and against the champion, returning a JSON-able `EvaluationReport`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadops.evaluation._inputs import ArrayLike, as_labels, as_probabilities, as_scores, require_both_classes
from leadops.evaluation.business import (
    at_capacity,
    at_threshold,
    best_cutoff,
    expected_value_at_k,
    expected_value_at_threshold,
    gains_curve,
    gains_table,
)
from leadops.evaluation.champion_stability import ChampionScores, grade_order, stability
from leadops.evaluation.errors import EvaluationError
from leadops.evaluation.groups import DEFAULT_MIN_N, DEFAULT_MIN_POSITIVES, group_frame, group_metrics
from leadops.evaluation.intervals import wilson_interval
from leadops.evaluation.metrics import (
    auc_ci,
    brier,
    calibration_in_the_large,
    ece,
    log_loss,
    pr_auc,
    reliability_curve,
    roc_points,
)
from leadops.evaluation.oracle import oracle_comparison
from leadops.evaluation.ranking import Ranking


@dataclass
class EvaluationReport:
    """Everything measured about one model on one evaluation set; plain JSON types only, so it round-trips
    through `to_dict` / `from_dict` (the registry stores it as JSON).

    Probability metrics (brier, log_loss, ece, reliability, calibration_in_the_large) are None when the model
    gives a score that is not a probability. Ranking metrics use the ranking score.
    """

    n: int
    positives: int
    conversion_rate: float
    is_probability: bool
    auc: float
    auc_ci: dict[str, Any]
    pr_auc: float
    brier: float | None
    log_loss: float | None
    ece: float | None
    calibration_in_the_large: float | None
    reliability: list[dict[str, Any]] | None
    roc: dict[str, list[float]]
    gains: list[dict[str, Any]]
    gains_curve: dict[str, list[float]]
    lift: dict[str, Any]
    capacity: dict[str, Any]
    captured_at_capacity: float | None
    revenue_at_capacity: float | None
    mql: dict[str, Any] | None
    expected_value: dict[str, Any]
    best_k: int
    best_threshold: float | None
    score_distribution: dict[str, list[float]]
    settings: dict[str, Any]
    grades: list[dict[str, Any]] | None = None
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    oracle: dict[str, Any] | None = None
    stability: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN and infinities become None)."""
        return _jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        """Rebuild a report from `to_dict` output (unknown keys refused, so a typo does not pass silently)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise EvaluationError(f"evaluation report: unexpected keys {sorted(unknown)}; expected {sorted(names)}")
        return cls(**data)

    def gains_frame(self) -> pd.DataFrame:
        """The decile gains table as a DataFrame."""
        return pd.DataFrame(self.gains)

    def group_frame(self) -> pd.DataFrame:
        """The group table as one long DataFrame."""
        return group_frame(self.groups)

    def reliability_frame(self) -> pd.DataFrame | None:
        """The reliability curve as a DataFrame (None without probabilities)."""
        return None if self.reliability is None else pd.DataFrame(self.reliability)


def evaluate(
    y: ArrayLike,
    proba_or_score: ArrayLike,
    *,
    capacity_k: int,
    mql_threshold: float | None,
    value_per_conversion: float,
    cost_per_contact: float,
    score: ArrayLike | None = None,
    grade: ArrayLike | None = None,
    deal_value: ArrayLike | None = None,
    groups: pd.DataFrame | None = None,
    oracle: ArrayLike | None = None,
    champion: ChampionScores | None = None,
    is_probability: bool | None = None,
    n_bins: int = 10,
    ece_strategy: Literal["uniform", "quantile"] = "uniform",
    min_group_n: int = DEFAULT_MIN_N,
    min_group_positives: int = DEFAULT_MIN_POSITIVES,
    ci_level: float = 0.95,
) -> EvaluationReport:
    """Evaluate one model on labelled rows (all arrays aligned by position).

    proba_or_score: the model's calibrated probability, or any score (a points total); it counts as a
    probability when every value is in [0, 1] unless `is_probability` says otherwise. `score` (optional) is
    the ranking score Sales sees when it differs from the probability; ranking, capacity, MQL (`score >=
    mql_threshold`) and expected-value figures use it. `oracle`: true conversion probabilities (simulated
    data); `champion`: the champion's scores/grades on the same rows for the stability section.
    Raises UndefinedMetricError when y holds a single class.
    """
    yy = as_labels(y)
    n = yy.shape[0]
    first = as_scores(proba_or_score, "proba_or_score", n)
    pos, _ = require_both_classes(yy, "evaluate")
    prob_like = bool(np.all((first >= 0) & (first <= 1)))
    if is_probability is None:
        is_probability = prob_like
    elif is_probability and not prob_like:
        raise EvaluationError("proba_or_score: is_probability=True but values fall outside [0, 1]")
    proba = as_probabilities(first, "proba_or_score", n) if is_probability else None
    rank_score = as_scores(score, "score", n) if score is not None else first
    if capacity_k < 1:
        raise EvaluationError(f"capacity_k: expected a positive number of leads, got {capacity_k}")
    r = Ranking(rank_score)

    ci = auc_ci(yy, rank_score, level=ci_level)
    roc = roc_points(yy, rank_score)
    gains = gains_table(yy, rank_score, ranking=r)
    curve = gains_curve(yy, rank_score, ranking=r)
    cap = at_capacity(yy, rank_score, capacity_k, deal_value=deal_value, ranking=r)
    mql = at_threshold(yy, rank_score, mql_threshold, deal_value=deal_value) if mql_threshold is not None else None
    ev_kw: dict[str, Any] = {
        "value_per_conversion": value_per_conversion,
        "cost_per_contact": cost_per_contact,
        "deal_value": deal_value,
    }
    best = best_cutoff(yy, rank_score, ranking=r, **ev_kw)
    expected_value = {
        "value_per_conversion": float(value_per_conversion),
        "cost_per_contact": float(cost_per_contact),
        "uses_deal_value": deal_value is not None,
        "at_capacity": expected_value_at_k(yy, rank_score, capacity_k, ranking=r, **ev_kw),
        "at_mql_threshold": (
            expected_value_at_threshold(yy, rank_score, mql_threshold, **ev_kw) if mql_threshold is not None else None
        ),
        "best": best.to_dict(),
    }
    reliability = None
    if proba is not None:
        reliability = reliability_curve(yy, proba, n_bins=n_bins, strategy=ece_strategy).to_dict("records")

    report = EvaluationReport(
        n=n,
        positives=pos,
        conversion_rate=pos / n,
        is_probability=bool(is_probability),
        auc=ci.auc,
        auc_ci=ci.to_dict(),
        pr_auc=pr_auc(yy, rank_score),
        brier=brier(yy, proba) if proba is not None else None,
        log_loss=log_loss(yy, proba) if proba is not None else None,
        ece=ece(yy, proba, n_bins=n_bins, strategy=ece_strategy) if proba is not None else None,
        calibration_in_the_large=calibration_in_the_large(yy, proba) if proba is not None else None,
        reliability=reliability,
        roc={"fpr": roc["fpr"].tolist(), "tpr": roc["tpr"].tolist()},
        gains=gains.to_dict("records"),
        gains_curve={k: curve[k].tolist() for k in ("share_leads", "share_conversions")},
        lift={
            "top_decile": float(gains["lift"].iloc[0]),
            "by_decile": gains["lift"].tolist(),
            "cumulative": gains["cum_lift"].tolist(),
        },
        capacity=cap.to_dict(),
        captured_at_capacity=cap.captured,
        revenue_at_capacity=cap.revenue,
        mql=mql.to_dict() if mql is not None else None,
        expected_value=expected_value,
        best_k=best.k,
        best_threshold=best.threshold,
        score_distribution=_score_distribution(yy, rank_score),
        settings={
            "capacity_k": int(capacity_k),
            "mql_threshold": mql_threshold,
            "value_per_conversion": float(value_per_conversion),
            "cost_per_contact": float(cost_per_contact),
            "n_bins": n_bins,
            "ece_strategy": ece_strategy,
            "min_group_n": min_group_n,
            "min_group_positives": min_group_positives,
            "ci_level": ci_level,
            "ranked_by": "score" if score is not None else "proba_or_score",
        },
    )
    if grade is not None:
        report.grades = _grade_table(yy, grade)
    if groups is not None:
        report.groups = group_metrics(
            yy,
            rank_score,
            groups,
            capacity_k=capacity_k,
            proba=proba,
            min_n=min_group_n,
            min_positives=min_group_positives,
            n_bins=n_bins,
            ranking=r,
        )
    if oracle is not None:
        report.oracle = oracle_comparison(yy, rank_score, oracle, capacity_k=capacity_k, proba=proba, **ev_kw)
    if champion is not None:
        report.stability = stability(
            champion,
            rank_score,
            challenger_grade=grade,
            challenger_mql_threshold=mql_threshold,
            capacity_k=capacity_k,
        )
    return EvaluationReport.from_dict(report.to_dict())


def _grade_table(y: np.ndarray, grade: ArrayLike) -> list[dict[str, Any]]:
    """Leads, conversions and conversion rate (Wilson CI) per grade."""
    g = _as_series(grade)
    if g.shape[0] != y.shape[0]:
        raise EvaluationError(f"grade: expected {y.shape[0]} grades (one per row of y), got {g.shape[0]}")
    labels = grade_order(g)
    txt = g.astype(object).where(g.notna(), "(missing)").astype(str)
    if (txt == "(missing)").any():
        labels = [*labels, "(missing)"]
    rows = []
    for lab in labels:
        mask = (txt == lab).to_numpy()
        n = int(mask.sum())
        conv = int(y[mask].sum())
        lo, hi = wilson_interval([conv], [n])
        rows.append(
            {
                "grade": lab,
                "n": n,
                "conversions": conv,
                "conversion_rate": conv / n if n else None,
                "ci_low": float(lo[0]),
                "ci_high": float(hi[0]),
            }
        )
    return rows


def _as_series(x: ArrayLike) -> pd.Series:
    """A Series by position, keeping a categorical's (ordered) categories."""
    if isinstance(x, pd.Series):
        return x.reset_index(drop=True)
    if isinstance(x, pd.Categorical):
        return pd.Series(x)
    return pd.Series(np.asarray(x, dtype=object))


def _score_distribution(y: np.ndarray, s: np.ndarray, bins: int = 20) -> dict[str, list[float]]:
    """Histogram of the ranking score for converted and non-converted leads (shared edges)."""
    lo, hi = float(s.min()), float(s.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    pos, _ = np.histogram(s[y == 1], bins=edges)
    neg, _ = np.histogram(s[y == 0], bins=edges)
    return {
        "edges": edges.tolist(),
        "positives": pos.astype(float).tolist(),
        "negatives": neg.astype(float).tolist(),
    }


def _jsonable(x: Any) -> Any:
    """Recursively turn numpy scalars into Python ones and NaN/inf into None."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        f = float(x)
        return f if math.isfinite(f) else None
    return x
