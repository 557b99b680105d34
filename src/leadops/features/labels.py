"""Snapshots and labels: when each training row is observed, whether it converted in the window after, and
whether that window had closed by the end of the data (label maturity).

A row whose window [snapshot, snapshot + window] has not closed at `data_end` is censored: it is never a
negative (its conversion may still come) and never a positive either (keeping only the early converters of
an open window would over-count positives); it is reported, not trained on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from leadops.features.sql import ql, ts_literal
from leadops.settings.features import TrainingSpec
from leadops.warehouse.connection import Warehouse

US_PER_DAY = 86_400_000_000


def is_flat(warehouse: Warehouse) -> bool:
    """A flat export: leads without creation times (and so no point-in-time history to respect)."""
    total, timed = warehouse.rows("SELECT count(*), count(created_at) FROM leads")[0]
    return bool(total) and not timed


def data_end(warehouse: Warehouse, spec: TrainingSpec) -> datetime | None:
    """The configured end of the data, else the latest event time the warehouse holds."""
    if spec.data_end is not None:
        return spec.data_end.replace(tzinfo=None)
    value = warehouse.scalar(
        "SELECT greatest((SELECT max(created_at) FROM leads), (SELECT max(occurred_at) FROM activities), "
        "(SELECT max(occurred_at) FROM outcomes))"
    )
    return value if isinstance(value, datetime) else None


def snapshot_dates(warehouse: Warehouse, spec: TrainingSpec, end: datetime) -> list[datetime]:
    """The as-of dates of the `as_of_dates` policy: the configured ones, or one every N days."""
    snap = spec.snapshot
    if snap.dates:
        return sorted(d.replace(tzinfo=None) for d in snap.dates)
    first = warehouse.scalar("SELECT min(created_at) FROM leads")
    if not isinstance(first, datetime) or snap.every_days is None:
        return []
    step = timedelta(days=snap.every_days)
    out, t = [], first + step
    while t <= end:
        out.append(t)
        t += step
    return out


def labelled_snapshots(warehouse: Warehouse, spec: TrainingSpec, end: datetime) -> pd.DataFrame:
    """One row per (lead_id, snapshot_at) with label, converted_at, deal_value and mature, time-ordered.

    Leads with an outcome in `exclude_if_before` at or before the snapshot are left out (already decided).
    """
    window_us = round(spec.label.window_days * US_PER_DAY)
    d = warehouse.sql
    snap = spec.snapshot
    if snap.policy == "after_created":
        offset = round(snap.days_after_created * US_PER_DAY)
        source = (
            f"SELECT lead_id, {d.add_us('created_at', offset)} AS snapshot_at FROM leads WHERE created_at IS NOT NULL"
        )
    else:
        dates = snapshot_dates(warehouse, spec, end)
        if not dates:
            return pd.DataFrame(columns=["lead_id", "snapshot_at", "label", "converted_at", "deal_value", "mature"])
        values = ", ".join(f"({ts_literal(d)})" for d in dates)
        source = (
            f"SELECT l.lead_id, d.t AS snapshot_at FROM leads l CROSS JOIN (VALUES {values}) d(t) "
            "WHERE l.created_at IS NOT NULL AND l.created_at <= d.t"
        )
    excluded = ", ".join(ql(o) for o in spec.exclude_if_before) or "NULL"
    sql = f"""
    WITH snaps AS ({source}),
    open_snaps AS (
      SELECT s.* FROM snaps s WHERE NOT EXISTS (
        SELECT 1 FROM outcomes o WHERE o.lead_id = s.lead_id AND o.outcome IN ({excluded})
          AND o.occurred_at IS NOT NULL AND o.occurred_at <= s.snapshot_at)),
    firsts AS (
      SELECT s.lead_id, s.snapshot_at, min(o.occurred_at) AS converted_at,
             {d.arg_min("o.deal_value", "o.occurred_at")} AS deal_value
      FROM open_snaps s JOIN outcomes o ON o.lead_id = s.lead_id AND o.outcome = {ql(spec.label.outcome)}
        AND o.occurred_at > s.snapshot_at
        AND o.occurred_at <= {d.add_us("s.snapshot_at", window_us)}
      GROUP BY s.lead_id, s.snapshot_at)
    SELECT s.lead_id, s.snapshot_at, f.converted_at IS NOT NULL AS label, f.converted_at, f.deal_value,
           {d.add_us("s.snapshot_at", window_us)} <= {ts_literal(end)} AS mature
    FROM open_snaps s LEFT JOIN firsts f ON f.lead_id = s.lead_id AND f.snapshot_at = s.snapshot_at
    ORDER BY s.snapshot_at, {d.text_order("s.lead_id")}
    """
    frame = warehouse.df(sql)
    frame["lead_id"] = frame["lead_id"].astype(str)
    return frame


def flat_labels(warehouse: Warehouse, spec: TrainingSpec) -> pd.DataFrame:
    """Flat exports: label = the lead has an outcome `label.outcome` at all (no times to respect)."""
    sql = f"""
    SELECT l.lead_id, CAST(NULL AS TIMESTAMP) AS snapshot_at,
           coalesce(f.n > 0, FALSE) AS label, CAST(NULL AS TIMESTAMP) AS converted_at, f.deal_value, TRUE AS mature
    FROM leads l LEFT JOIN (
      SELECT lead_id, count(*) AS n, max(deal_value) AS deal_value FROM outcomes
      WHERE outcome = {ql(spec.label.outcome)} GROUP BY lead_id) f ON f.lead_id = l.lead_id
    ORDER BY {warehouse.sql.text_order("l.lead_id")}
    """
    frame = warehouse.df(sql)
    frame["lead_id"] = frame["lead_id"].astype(str)
    return frame
