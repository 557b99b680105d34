"""Performance as outcomes mature: cohorts by the week leads were created, scored as Sales first saw them.

A lead's score is the one of the first published run of the model version that scored it; its label is a
conversion (`training.label.outcome`) within `training.label.window_days` after that run, as in training. A
cohort is mature once every lead's window has closed by the monitoring time: then its realised figures (AUC
with a DeLong interval, ECE, conversion rate with a Wilson interval, conversions captured at a week of Sales
capacity, each overall and by group) are reported. Every cohort, mature or not, also gets figures estimated
from the calibrated probabilities alone (expected conversion rate and expected AUC): valid when the model is
calibrated, which its held-out ECE says; set beside the realised ones once they exist, they show whether
the estimates could be trusted while the labels were still out.
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
from leadops.modeling.context import group_columns
from leadops.warehouse import Warehouse

MAX_COHORTS = 26


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


@dataclass(frozen=True)
class Cohort:
    """One week of new leads: estimated figures always, realised ones once mature."""

    week: datetime
    leads: int
    mature: bool
    expected_conversion_rate: float | None
    expected_auc: float | None
    realised: dict[str, Any] | None = None
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "week": self.week.date().isoformat(),
            "leads": self.leads,
            "mature": self.mature,
            "estimated": {"conversion_rate": self.expected_conversion_rate, "auc": self.expected_auc},
            "realised": self.realised,
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


def cohorts(
    settings: Settings, warehouse: Warehouse, version: int, now: datetime, *, limit: int = MAX_COHORTS
) -> list[Cohort]:
    """The version's weekly cohorts, newest last: estimated figures for all, realised for the mature."""
    window = timedelta(days=settings.training.label.window_days)
    latest = warehouse.rows(
        "SELECT max(as_of) FROM score_runs WHERE status = 'published' AND model_version = ? AND as_of <= ?",
        [version, now],
    )[0][0]
    if latest is None:
        return []
    since = latest - window - timedelta(weeks=limit + 1)  # runs older than this feed no cohort shown
    frame = first_scores(warehouse, version, settings.training.label.outcome, since, now)
    if frame.empty:
        return []
    frame = frame[frame["created_at"].notna()]
    converted, first = frame["converted_at"], frame["first_as_of"]
    frame = frame[~(converted.notna() & (converted <= first))]  # decided before Sales ever saw a score
    frame = frame.assign(
        label=(frame["converted_at"].notna() & (frame["converted_at"] <= frame["first_as_of"] + window)).astype(int),
        closed=(frame["first_as_of"] + window) <= now,
        week=frame["created_at"].dt.to_period("W-SUN").dt.start_time,
    )
    capacity_k = max(1, int(settings.business.capacity.total_per_day() * 7))
    wanted = list(settings.evaluation.group_columns)
    out: list[Cohort] = []
    for week, rows in sorted(frame.groupby("week"), key=lambda kv: kv[0])[-limit:]:
        p = pd.to_numeric(rows["probability"], errors="coerce").to_numpy(dtype=float)
        s = pd.to_numeric(rows["score"], errors="coerce").to_numpy(dtype=float)
        has_p = bool(np.isfinite(p).any())
        mature = bool(rows["closed"].all())
        realised, groups = None, {}
        if mature:
            y = rows["label"].to_numpy(dtype=int)
            both = pd.DataFrame({"all": ["all"] * len(rows)})
            realised = group_metrics(y, s, both, capacity_k=capacity_k, proba=p if has_p else None)["all"]["all"]
            extra = group_columns(warehouse, rows["lead_id"].reset_index(drop=True), wanted)
            if len(extra.columns):
                groups = group_metrics(y, s, extra, capacity_k=capacity_k, proba=p if has_p else None)
        out.append(
            Cohort(
                week=pd.Timestamp(week).to_pydatetime(),
                leads=len(rows),
                mature=mature,
                expected_conversion_rate=float(np.nanmean(p)) if has_p else None,
                expected_auc=expected_auc(p, s) if has_p else None,
                realised=realised,
                groups=groups,
            )
        )
    return out
