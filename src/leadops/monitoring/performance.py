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
(the pair-sum closed form; interval from labels drawn as Bernoulli(p)).

The expected AUC is only as right as the spread of the probabilities, which a small ECE does not vouch for (ten
equal-width bins put nearly every lead of a 7 % base rate in the first two): probabilities too flat for the leads
scored (a calibration slope above 1: a calibration map fitted on a few hundred validation rows, a lead first
scored younger than the training snapshot) make the estimate sit below a realised AUC that is fine. So, as
NannyML's CBPE does, the probabilities behind a cohort's estimates are recalibrated on a labelled reference that
measures what the cohort will: the version's own earlier leads whose label windows have closed, scored and
labelled exactly as the cohort is (`Recalibration`: label ~ logistic(intercept + slope x logit p)). With no such
reference yet (fewer than MIN_REFERENCE positives or negatives), the model's own probabilities are used and the
estimate is unchecked (`basis` "model"). The estimate is valid while the concept holds between the reference
and the cohort (the same features mean the same chance): then a mature cohort's realised figures sit inside the
intervals estimated while it was immature (`Cohort.held`); concept drift (or a base rate the model never saw)
shows as realised figures outside the estimate's interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from leadops.config import Settings
from leadops.evaluation.groups import group_metrics
from leadops.evaluation.intervals import wilson
from leadops.features.labels import US_PER_DAY
from leadops.features.sql import ql
from leadops.modeling.context import group_columns
from leadops.scorers.calibration import fit_platt
from leadops.warehouse import Warehouse

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
AUC_DRAWS = 200  # label draws behind the expected AUC's interval and the ECE a calibrated model stays under
ECE_BINS = 10
EPOCH = datetime(1970, 1, 1)
# matured positives and negatives a reference needs before it recalibrates the estimates (validating a model
# takes >= 100 events: Vergouwe et al. 2005, J Clin Epidemiol 58:475)
MIN_REFERENCE = 100


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


def expected_conversions(p: np.ndarray, *, extra_variance: float = 0.0) -> tuple[float, float, float]:
    """Expected conversions if each lead converts with its probability, and the 95 % interval of the realised count:
    the Poisson-binomial mean sum p and variance sum p (1 - p) (plus `extra_variance`: what the uncertainty of a
    recalibration adds), normal approximation, clipped to [0, n]."""
    p = np.asarray(p, dtype=float)
    p = p[np.isfinite(p)]
    mean = float(p.sum())
    half = Z95 * float(np.sqrt(np.sum(p * (1.0 - p)) + extra_variance))
    return mean, max(0.0, mean - half), min(float(p.size), mean + half)


@dataclass(frozen=True)
class Draws:
    """Where a cohort's realised figures fall if its probabilities are right (labels drawn as Bernoulli(p))."""

    auc_low: float | None
    auc_high: float | None
    ece_high: float | None  # the 95th percentile of ECE: a calibrated model's ECE stays below it 95 % of the time


def label_draws(
    p: np.ndarray, score: np.ndarray, *, draws: int = AUC_DRAWS, seed: int = 0, reference: Recalibration | None = None
) -> Draws:
    """The 2.5th and 97.5th percentiles of the AUC (Mann-Whitney on average ranks, ties one half) and the 95th
    percentile of the ECE (ten equal-width bins, as evaluation.metrics.ece) over `draws` label draws y ~ Bernoulli(p);
    draws with one class left out of the AUC's. With a `reference`, p is the model's and each draw first takes the
    recalibration's parameters from their sampling distribution (so a small reference widens the AUC interval);
    then the ECE (of the model's p) is not drawn (None)."""
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
    x = logit(p)
    for start in range(0, draws, 50):  # 50 draws at a time: memory stays at 50 x n
        k = min(50, draws - start)
        chance = p if reference is None else reference.drawn(x, rng, k)
        y = (rng.random((k, p.size)) < chance).astype(float)
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
        float(np.quantile(np.concatenate(eces), 0.95)) if reference is None else None,
    )


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds, probabilities clipped to [1e-6, 1 - 1e-6] so certain ones stay finite."""
    q = np.clip(np.asarray(p, dtype=float), 1e-6, 1.0 - 1e-6)
    return np.log(q / (1.0 - q))


@dataclass(frozen=True)
class Recalibration:
    """What the version's matured leads say its probabilities mean: P(label) = sigmoid(intercept + slope logit p).

    Slope 1 and intercept 0 are a calibrated model; a slope above 1 means probabilities too flat (the model ranks
    better than their spread says), below 1 too extreme. `slope_ci` is the Wald 95 % interval (Fisher information
    of the unpenalised logistic fit, as statsmodels' Logit reports it).
    """

    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    leads: int
    positives: int
    cov: tuple[float, float, float] = (0.0, 0.0, 0.0)  # var(slope), cov(slope, intercept), var(intercept)

    def _params(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """k draws of (slope, intercept) from the fit's normal sampling distribution."""
        va, cab, vb = self.cov
        return rng.multivariate_normal([self.slope, self.intercept], [[va, cab], [cab, vb]], size=k)

    def drawn(self, x: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
        """k x n recalibrated probabilities of log-odds x, each row under its own drawn parameters."""
        ab = self._params(rng, k)
        return 1.0 / (1.0 + np.exp(-(ab[:, 1:2] + ab[:, 0:1] * x[None, :])))

    def count_variance(self, p: np.ndarray) -> float:
        """What the parameters' uncertainty adds to the variance of sum(recalibrated p) (delta method)."""
        x = logit(np.asarray(p, dtype=float)[np.isfinite(p)])
        q = self.apply(np.asarray(p, dtype=float)[np.isfinite(p)])
        g = np.array([np.sum(q * (1.0 - q) * x), np.sum(q * (1.0 - q))])
        va, cab, vb = self.cov
        return float(g @ np.array([[va, cab], [cab, vb]]) @ g)

    @property
    def model_calibrated(self) -> bool:
        """Whether the model's own probabilities pass on the reference: slope 1 inside the interval."""
        return self.slope_ci[0] <= 1.0 <= self.slope_ci[1]

    def apply(self, p: np.ndarray) -> np.ndarray:
        """The recalibrated probabilities (NaN stays NaN)."""
        q = np.asarray(p, dtype=float)
        out = 1.0 / (1.0 + np.exp(-(self.intercept + self.slope * logit(q))))
        return np.where(np.isnan(q), np.nan, out)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "slope": self.slope,
            "slope_ci": list(self.slope_ci),
            "intercept": self.intercept,
            "leads": self.leads,
            "positives": self.positives,
            "model_calibrated": self.model_calibrated,
        }


def recalibration(p: np.ndarray, y: np.ndarray) -> Recalibration | None:
    """Fit label ~ sigmoid(b + a logit p) on matured leads (Newton, as Platt scaling); None when the reference has
    fewer than MIN_REFERENCE positives or negatives (too few to say anything about the spread)."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(p)
    p, y = p[keep], y[keep]
    positives = int(y.sum())
    if positives < MIN_REFERENCE or y.size - positives < MIN_REFERENCE:
        return None
    x = logit(p)
    a, b = fit_platt(x, y)
    fitted = 1.0 / (1.0 + np.exp(-(a * x + b)))
    w = fitted * (1.0 - fitted)
    info = np.array([[np.dot(w * x, x), np.dot(w, x)], [np.dot(w, x), w.sum()]])
    cov = np.linalg.inv(info)
    half = Z95 * float(np.sqrt(cov[0, 0]))
    return Recalibration(
        float(a),
        float(b),
        (float(a) - half, float(a) + half),
        int(y.size),
        positives,
        (float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])),
    )


def reference_of(frame: pd.DataFrame, before: datetime) -> Recalibration | None:
    """The recalibration a cohort starting at `before` gets: from the version's leads created earlier whose label
    windows have closed (frame from `labelled`), scored and labelled as the cohort will be."""
    if frame.empty:
        return None
    rows = frame[frame["closed"] & (frame["created_at"] < before)]
    p = pd.to_numeric(rows["probability"], errors="coerce").to_numpy(dtype=float)
    return recalibration(p, rows["label"].to_numpy(dtype=float))


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
    reference: Recalibration | None = None

    @property
    def basis(self) -> str:
        """What the estimates rest on: "recalibrated" on the version's matured leads, or the "model"'s own
        probabilities (unchecked: valid only if the model is calibrated for these leads)."""
        return "recalibrated" if self.reference is not None else "model"

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
                "basis": self.basis,
                "reference": self.reference.to_dict() if self.reference is not None else None,
            },
            "realised": self.realised,
            "held": self.held,
            "groups": self.groups,
        }


def first_scores(
    warehouse: Warehouse,
    version: int,
    outcome: str,
    since: datetime,
    until: datetime,
    *,
    age_days: float = 0.0,
    decided_by: Sequence[str] = (),
) -> pd.DataFrame:
    """Each lead the version scored in [since, until] once at least `age_days` old: created time, the first such
    scoring time and its score, conversion, and the first outcome among `decided_by` (when it was decided)."""
    d = warehouse.sql
    decided = ", ".join(ql(o) for o in decided_by) or "NULL"
    sql = f"""
    WITH firsts AS (
        SELECT s.lead_id, min(r.as_of) AS first_as_of
        FROM lead_scores s JOIN score_runs r ON r.run_id = s.run_id JOIN leads l ON l.lead_id = s.lead_id
        WHERE r.status = 'published' AND r.model_version = ? AND r.as_of >= ? AND r.as_of <= ?
          AND r.as_of >= {d.add_us("l.created_at", round(age_days * US_PER_DAY))}
        GROUP BY s.lead_id
    ), converted AS (
        SELECT lead_id, min(occurred_at) AS converted_at FROM outcomes WHERE outcome = ? GROUP BY lead_id
    ), decided AS (
        SELECT lead_id, min(occurred_at) AS decided_at FROM outcomes WHERE outcome IN ({decided}) GROUP BY lead_id
    )
    SELECT f.lead_id, l.created_at, f.first_as_of, s.score, s.probability, c.converted_at, x.decided_at
    FROM firsts f
    JOIN leads l ON l.lead_id = f.lead_id
    JOIN score_runs r ON r.as_of = f.first_as_of AND r.status = 'published' AND r.model_version = ?
    JOIN lead_scores s ON s.run_id = r.run_id AND s.lead_id = f.lead_id
    LEFT JOIN converted c ON c.lead_id = f.lead_id
    LEFT JOIN decided x ON x.lead_id = f.lead_id
    """
    table = warehouse.arrow(sql, [version, since, until, outcome, version])
    return table.to_pandas().drop_duplicates("lead_id")


def trained_age(settings: Settings) -> float:
    """The age in days the model's probabilities are for: the training snapshot's `days_after_created` (0 for
    `as_of_dates` snapshots, which train on leads of every age)."""
    snap = settings.training.snapshot
    return float(snap.days_after_created) if snap.policy == "after_created" else 0.0


def labelled(settings: Settings, warehouse: Warehouse, version: int, now: datetime, since: datetime) -> pd.DataFrame:
    """The version's first score of each lead at the age it was trained for (`trained_age`), since `since`, with
    the lead's label as training defines it (converted within the window after that score), whether the window
    closed by `now`, and its created week. Leads that score came more than a week after they reached that age are
    out (the version first saw them at an arbitrary age: created well before its first run, or between two runs
    far apart), and so are leads decided (`training.exclude_if_before`) before that score, as in training.

    A score from a younger lead (its first night) answers another question than the one the model was fitted
    on: with fewer activities counted its probabilities are flatter than the truth (measured on the drift drill,
    docs/performance.md), so neither the estimate nor the realised figure would be the model's."""
    window = timedelta(days=settings.training.label.window_days)
    age = trained_age(settings)
    frame = first_scores(
        warehouse,
        version,
        settings.training.label.outcome,
        since,
        now,
        age_days=age,
        decided_by=[*settings.training.exclude_if_before, settings.training.label.outcome],
    )
    if frame.empty:
        return frame.iloc[:0]
    late = frame["first_as_of"] - frame["created_at"] > timedelta(days=age, weeks=1)
    frame = frame[frame["created_at"].notna() & ~late]
    decided, first = frame["decided_at"], frame["first_as_of"]
    frame = frame[~(decided.notna() & (decided <= first))]  # decided before this score
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
    reference: Recalibration | None = None,
) -> Cohort:
    """One cohort's figures: estimated (with intervals) from its probabilities, recalibrated on `reference` when
    there is one, and realised when every window closed (the ECE limit stays the model's own: the realised ECE is
    of the model's probabilities)."""
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
    estimate = reference.apply(p) if reference is not None and has_p else p
    if has_p:
        n = int(np.isfinite(p).sum())
        extra = reference.count_variance(p) if reference is not None else 0.0
        total, low_n, high_n = expected_conversions(estimate, extra_variance=extra)
        expected_rate, rate_ci = total / n, (low_n / n, high_n / n)
        drawn = label_draws(p, s)
        if reference is not None:
            auc = label_draws(p, s, reference=reference)
            drawn = Draws(auc.auc_low, auc.auc_high, drawn.ece_high)
    return Cohort(
        week=pd.Timestamp(week).to_pydatetime(),
        leads=len(rows),
        mature=mature,
        expected_conversion_rate=expected_rate,
        expected_auc=expected_auc(estimate, s) if has_p else None,
        realised=realised,
        groups=groups,
        expected_rate_ci=rate_ci,
        expected_auc_ci=(drawn.auc_low, drawn.auc_high),
        ece_limit=drawn.ece_high,
        reference=reference if has_p else None,
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
    return [
        cohort_of(settings, warehouse, rows, week, capacity_k, reference=reference_of(frame, week))
        for week, rows in weeks
    ]


def period(
    settings: Settings, warehouse: Warehouse, version: int, now: datetime, start: datetime, end: datetime
) -> Cohort | None:
    """The version's leads created in [start, end) pooled as one cohort (capacity: a day's Sales capacity per day
    of the period): before / after comparisons with intervals narrower than a single week's. The estimate is
    recalibrated on every lead of the version created before `start` whose window closed by `now`."""
    frame = labelled(settings, warehouse, version, now, EPOCH)  # every run of the version: the reference too
    rows = frame[(frame["created_at"] >= start) & (frame["created_at"] < end)] if len(frame) else frame
    if rows.empty:
        return None
    days = max(1.0, (end - start).total_seconds() / 86_400)
    capacity_k = max(1, int(settings.business.capacity.total_per_day() * days))
    reference = reference_of(frame, start)
    return cohort_of(settings, warehouse, rows, start, capacity_k, by_group=False, reference=reference)
