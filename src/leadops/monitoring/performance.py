"""Performance as outcomes mature: cohorts by the week leads were created, scored as Sales first saw them.

A lead's score is the one of the first published run of the model version that scored it; its label is a
conversion (`training.label.outcome`) within `training.label.window_days` after that run, as in training. Leads
created before the version's first run (minus a week) are left out: another version was scoring them, and this
one first saw them at an arbitrary age. A cohort is mature once every lead's window has closed by the monitoring
time: then its realised figures (AUC with a DeLong interval, ECE, conversion rate with a Wilson interval,
conversions captured at a week of Sales capacity with a Wilson interval, each overall and by group) are reported.
Every cohort, mature or not, also gets figures estimated from the calibrated probabilities alone, each with the
interval the realised figure falls in with 95 % probability if the probabilities are right: expected conversions
(the sum of the probabilities; normal interval on the Poisson-binomial variance sum p(1 - p)) and expected AUC
(the pair-sum closed form; interval from labels drawn as Bernoulli(p)). The estimate is valid while the model is
calibrated for the leads it scores and the concept holds (the same features mean the same chance): then a mature
cohort's realised figures sit inside the intervals estimated while it was immature (`Cohort.held`); concept
drift (or a base rate the model never saw) shows as realised figures below the estimate's interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from leadops.config import Settings
from leadops.evaluation.groups import group_metrics
from leadops.evaluation.intervals import wilson
from leadops.modeling.context import group_columns
from leadops.warehouse import Warehouse

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
AUC_DRAWS = 200  # label draws behind the expected AUC's interval and the ECE a calibrated model stays under
ECE_BINS = 10


def expected_auc(p: np.ndarray, score: np.ndarray) -> float | None:
    """E[pairs ranked right] / E[pairs] when each lead converts with its probability p (ties count one half).

    The ratio of expectations: sum_{i != j} p_i (1 - p_j) [s_i > s_j] over sum_{i != j} p_i (1 - p_j).
    """
    p = np.asarray(p, dtype=float)
    s = np.asarray(score, dtype=float)
    keep = ~(np.isnan(p) | np.isnan(s))
    p, s = p[keep], s[keep]
    if p.size < 2:
        return None
    q = 1.0 - p
    order = np.argsort(s, kind="mergesort")
    p, q, s = p[order], q[order], s[order]
    _, start = np.unique(s, return_index=True)
    bounds = np.append(start, s.size)
    q_by = np.add.reduceat(q, start)
    p_by = np.add.reduceat(p, start)
    below = np.concatenate([[0.0], np.cumsum(q_by)[:-1]])  # sum of (1 - p) of leads scored strictly lower
    tie_pairs = p_by * q_by - np.array([float(np.sum(p[a:b] * q[a:b])) for a, b in pairwise(bounds)])
    right = float(np.sum(p_by * below) + 0.5 * np.sum(tie_pairs))
    total = float(p.sum() * q.sum() - np.sum(p * q))
    return right / total if total > 0 else None


def expected_conversions(p: np.ndarray) -> tuple[float, float, float]:
    """Expected conversions if each lead converts with its probability, and the 95 % interval of the realised count:
    the Poisson-binomial mean sum p and variance sum p (1 - p), normal approximation, clipped to [0, n]."""
    p = np.asarray(p, dtype=float)
    p = p[np.isfinite(p)]
    mean = float(p.sum())
    half = Z95 * float(np.sqrt(np.sum(p * (1.0 - p))))
    return mean, max(0.0, mean - half), min(float(p.size), mean + half)


@dataclass(frozen=True)
class Draws:
    """Where a cohort's realised figures fall if its probabilities are right (labels drawn as Bernoulli(p))."""

    auc_low: float | None
    auc_high: float | None
    ece_high: float | None  # the 95th percentile of ECE: a calibrated model's ECE stays below it 95 % of the time


def label_draws(p: np.ndarray, score: np.ndarray, *, draws: int = AUC_DRAWS, seed: int = 0) -> Draws:
    """The 2.5th and 97.5th percentiles of the AUC (Mann-Whitney on average ranks, ties one half) and the 95th
    percentile of the ECE (ten equal-width bins, as evaluation.metrics.ece) over `draws` label draws y ~ Bernoulli(p);
    draws with one class left out of the AUC's."""
    from scipy.stats import rankdata

    p = np.asarray(p, dtype=float)
    s = np.asarray(score, dtype=float)
    keep = ~(np.isnan(p) | np.isnan(s))
    p, s = p[keep], s[keep]
    if p.size < 2:
        return Draws(None, None, None)
    ranks = rankdata(s)
    bins = np.searchsorted(np.linspace(0.0, 1.0, ECE_BINS + 1)[1:-1], p, side="left")
    onehot = np.zeros((p.size, ECE_BINS))
    onehot[np.arange(p.size), bins] = 1.0
    sum_p = p @ onehot
    rng = np.random.default_rng(seed)
    aucs: list[np.ndarray] = []
    eces: list[np.ndarray] = []
    for start in range(0, draws, 50):  # 50 draws at a time: memory stays at 50 x n
        y = (rng.random((min(50, draws - start), p.size)) < p).astype(float)
        eces.append(np.abs(y @ onehot - sum_p).sum(axis=1) / p.size)
        pos = y.sum(axis=1)
        neg = p.size - pos
        ok = (pos > 0) & (neg > 0)
        aucs.append((y[ok] @ ranks - pos[ok] * (pos[ok] + 1) / 2.0) / (pos[ok] * neg[ok]))
    auc = np.concatenate(aucs)
    low, high = np.quantile(auc, [0.025, 0.975]) if auc.size >= draws // 2 else (None, None)
    return Draws(
        None if low is None else float(low),
        None if high is None else float(high),
        float(np.quantile(np.concatenate(eces), 0.95)),
    )


@dataclass(frozen=True)
class Cohort:
    """One week of new leads (or a pooled period): estimated figures with intervals always, realised once mature."""

    week: datetime
    leads: int
    mature: bool
    expected_conversion_rate: float | None
    expected_auc: float | None
    realised: dict[str, Any] | None = None
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    expected_rate_ci: tuple[float | None, float | None] = (None, None)
    expected_auc_ci: tuple[float | None, float | None] = (None, None)
    ece_limit: float | None = None

    @property
    def held(self) -> bool | None:
        """Mature: whether the realised conversion rate and AUC fell inside the estimate's intervals and the ECE
        under what a calibrated model shows 95 % of the time (else None)."""
        if not self.mature or not self.realised:
            return None
        checks = [
            (self.realised.get("conversion_rate"), self.expected_rate_ci),
            (self.realised.get("auc"), self.expected_auc_ci),
            (self.realised.get("ece"), (0.0, self.ece_limit)),
        ]
        known = [(v, lo, hi) for v, (lo, hi) in checks if v is not None and lo is not None and hi is not None]
        return all(lo <= v <= hi for v, lo, hi in known) if known else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "week": self.week.date().isoformat(),
            "leads": self.leads,
            "mature": self.mature,
            "estimated": {
                "conversion_rate": self.expected_conversion_rate,
                "conversion_rate_ci": list(self.expected_rate_ci),
                "auc": self.expected_auc,
                "auc_ci": list(self.expected_auc_ci),
                "ece_limit": self.ece_limit,
            },
            "realised": self.realised,
            "held": self.held,
            "groups": self.groups,
        }


def first_scores(warehouse: Warehouse, version: int, outcome: str, since: datetime, until: datetime) -> pd.DataFrame:
    """Each lead the version scored in [since, until]: created time, first scoring time and score, conversion."""
    sql = """
    WITH firsts AS (
        SELECT s.lead_id, min(r.as_of) AS first_as_of
        FROM lead_scores s JOIN score_runs r ON r.run_id = s.run_id
        WHERE r.status = 'published' AND r.model_version = ? AND r.as_of >= ? AND r.as_of <= ?
        GROUP BY s.lead_id
    ), converted AS (
        SELECT lead_id, min(occurred_at) AS converted_at FROM outcomes WHERE outcome = ? GROUP BY lead_id
    )
    SELECT f.lead_id, l.created_at, f.first_as_of, s.score, s.probability, c.converted_at
    FROM firsts f
    JOIN leads l ON l.lead_id = f.lead_id
    JOIN score_runs r ON r.as_of = f.first_as_of AND r.status = 'published' AND r.model_version = ?
    JOIN lead_scores s ON s.run_id = r.run_id AND s.lead_id = f.lead_id
    LEFT JOIN converted c ON c.lead_id = f.lead_id
    """
    table = warehouse.arrow(sql, [version, since, until, outcome, version])
    return table.to_pandas().drop_duplicates("lead_id")


def labelled(settings: Settings, warehouse: Warehouse, version: int, now: datetime, since: datetime) -> pd.DataFrame:
    """The version's first scores since `since`, with each lead's label, whether its window closed by `now`, and
    its created week; leads created before the version's first run (minus a week) or decided before it are out."""
    window = timedelta(days=settings.training.label.window_days)
    first_run = warehouse.rows(
        "SELECT min(as_of) FROM score_runs WHERE status = 'published' AND model_version = ?", [version]
    )[0][0]
    frame = first_scores(warehouse, version, settings.training.label.outcome, since, now)
    if frame.empty or first_run is None:
        return frame.iloc[:0]
    frame = frame[frame["created_at"].notna() & (frame["created_at"] >= first_run - timedelta(weeks=1))]
    converted, first = frame["converted_at"], frame["first_as_of"]
    frame = frame[~(converted.notna() & (converted <= first))]  # decided before Sales ever saw a score
    return frame.assign(
        label=(frame["converted_at"].notna() & (frame["converted_at"] <= frame["first_as_of"] + window)).astype(int),
        closed=(frame["first_as_of"] + window) <= now,
        week=frame["created_at"].dt.to_period("W-SUN").dt.start_time,
    )


def cohort_of(
    settings: Settings,
    warehouse: Warehouse,
    rows: pd.DataFrame,
    week: datetime,
    capacity_k: int,
    *,
    by_group: bool = True,
) -> Cohort:
    """One cohort's figures: estimated (with intervals) from its probabilities, realised when every window closed."""
    p = pd.to_numeric(rows["probability"], errors="coerce").to_numpy(dtype=float)
    s = pd.to_numeric(rows["score"], errors="coerce").to_numpy(dtype=float)
    has_p = bool(np.isfinite(p).any())
    mature = bool(rows["closed"].all())
    realised: dict[str, Any] | None = None
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    if mature:
        y = rows["label"].to_numpy(dtype=int)
        both = pd.DataFrame({"all": ["all"] * len(rows)})
        realised = group_metrics(y, s, both, capacity_k=capacity_k, proba=p if has_p else None)["all"]["all"]
        captured, positives = realised.get("captured_at_capacity"), int(realised["positives"])
        low, high = wilson(round(captured * positives), positives) if captured is not None else (None, None)
        realised["captured_ci"] = [low, high]
        wanted = list(settings.evaluation.group_columns)
        extra = group_columns(warehouse, rows["lead_id"].reset_index(drop=True), wanted) if by_group else None
        if extra is not None and len(extra.columns):
            groups = group_metrics(y, s, extra, capacity_k=capacity_k, proba=p if has_p else None)
    rate_ci: tuple[float | None, float | None] = (None, None)
    drawn = Draws(None, None, None)
    expected_rate = None
    if has_p:
        n = int(np.isfinite(p).sum())
        total, low_n, high_n = expected_conversions(p)
        expected_rate, rate_ci = total / n, (low_n / n, high_n / n)
        drawn = label_draws(p, s)
    return Cohort(
        week=pd.Timestamp(week).to_pydatetime(),
        leads=len(rows),
        mature=mature,
        expected_conversion_rate=expected_rate,
        expected_auc=expected_auc(p, s) if has_p else None,
        realised=realised,
        groups=groups,
        expected_rate_ci=rate_ci,
        expected_auc_ci=(drawn.auc_low, drawn.auc_high),
        ece_limit=drawn.ece_high,
    )


def _latest(warehouse: Warehouse, version: int, now: datetime) -> datetime | None:
    return warehouse.rows(
        "SELECT max(as_of) FROM score_runs WHERE status = 'published' AND model_version = ? AND as_of <= ?",
        [version, now],
    )[0][0]


def cohorts(
    settings: Settings, warehouse: Warehouse, version: int, now: datetime, *, limit: int | None = None
) -> list[Cohort]:
    """The version's weekly cohorts, newest last (`monitoring.cohort_weeks` of them): estimated figures for all,
    realised for the mature."""
    limit = settings.monitoring.cohort_weeks if limit is None else limit
    window = timedelta(days=settings.training.label.window_days)
    latest = _latest(warehouse, version, now)
    if latest is None:
        return []
    since = latest - window - timedelta(weeks=limit + 1)  # runs older than this feed no cohort shown
    frame = labelled(settings, warehouse, version, now, since)
    if frame.empty:
        return []
    capacity_k = max(1, int(settings.business.capacity.total_per_day() * 7))
    weeks = sorted(frame.groupby("week"), key=lambda kv: kv[0])[-limit:]
    return [cohort_of(settings, warehouse, rows, week, capacity_k) for week, rows in weeks]


def period(
    settings: Settings, warehouse: Warehouse, version: int, now: datetime, start: datetime, end: datetime
) -> Cohort | None:
    """The version's leads created in [start, end) pooled as one cohort (capacity: a day's Sales capacity per day
    of the period): before / after comparisons with intervals narrower than a single week's."""
    frame = labelled(settings, warehouse, version, now, start - timedelta(weeks=1))
    rows = frame[(frame["created_at"] >= start) & (frame["created_at"] < end)] if len(frame) else frame
    if rows.empty:
        return None
    days = max(1.0, (end - start).total_seconds() / 86_400)
    capacity_k = max(1, int(settings.business.capacity.total_per_day() * days))
    return cohort_of(settings, warehouse, rows, start, capacity_k, by_group=False)
