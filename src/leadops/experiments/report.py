"""`leadops experiment report NAME`: each unit's KPI read point in time from the warehouse, the readout computed
(analysis.analyse), stored in `experiment_readouts`, and written as an HTML report with plots.

A unit's KPI counts what happened from its assignment to assignment + window_days, and only what the warehouse
held by `as_of`; a unit whose window has not closed by `as_of` is immature and left out of the comparison. Only
units assigned before the experiment's stop count (a hand stop given a past time leaves later ones in the log,
outside the readout, which says how many and when, why and by whom it stopped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from leadops.experiments import store
from leadops.experiments.analysis import analyse
from leadops.experiments.assignment import expected_shares
from leadops.experiments.store import StopInfo
from leadops.settings.business import BusinessSettings
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

PRE_DAYS = 30
"""Pre-assignment engagement (CUPED's covariate): the lead's activities in this many days before assignment."""
DAY_US = 86_400_000_000


def unit_frame(
    warehouse: Warehouse,
    spec: ExperimentSpec,
    *,
    as_of: datetime,
    sales_types: list[str],
    value_per_conversion: float,
) -> pd.DataFrame:
    """One row per assigned lead: arm, unit, assignment time, maturity and every KPI and guardrail input."""
    sql = warehouse.sql
    window_end = sql.add_us("assigned_at", spec.primary_kpi.window_days * DAY_US)
    pre_start = sql.add_us("a.assigned_at", -PRE_DAYS * DAY_US)
    sales = ", ".join("?" for _ in sales_types) or "NULL"
    has_queue = warehouse.table_exists("sales_queue")
    queue_cte = (
        ", sq AS (SELECT a.lead_id, 1 AS routed FROM a JOIN sales_queue q ON q.lead_id = a.lead_id "
        "WHERE q.as_of >= a.assigned_at AND q.as_of < a.window_end AND q.as_of <= ? GROUP BY a.lead_id)"
        if has_queue
        else ""
    )
    query = f"""
        WITH a AS (
            SELECT lead_id, unit_id, arm, assigned_at, {window_end} AS window_end
            FROM experiment_assignments WHERE experiment = ? AND assigned_at <= ? AND assigned_at < ?
        ), conv AS (
            SELECT a.lead_id, COUNT(*) AS n, SUM(COALESCE(o.deal_value, ?)) AS revenue
            FROM a JOIN outcomes o ON o.lead_id = a.lead_id
            WHERE o.outcome = 'converted' AND o.occurred_at >= a.assigned_at AND o.occurred_at < a.window_end
              AND o.occurred_at <= ?
            GROUP BY a.lead_id
        ), act AS (
            SELECT a.lead_id,
                SUM(CASE WHEN x.activity_type IN ({sales}) AND x.occurred_at >= a.assigned_at
                    AND x.occurred_at < a.window_end THEN 1 ELSE 0 END) AS contacts,
                MAX(CASE WHEN x.activity_type = 'unsubscribe' AND x.occurred_at >= a.assigned_at
                    AND x.occurred_at < a.window_end THEN 1 ELSE 0 END) AS unsubscribed,
                SUM(CASE WHEN x.activity_type NOT IN ({sales}) AND x.occurred_at < a.assigned_at
                    AND x.occurred_at >= {pre_start} THEN 1 ELSE 0 END) AS pre_engagement
            FROM a JOIN activities x ON x.lead_id = a.lead_id
            WHERE x.occurred_at <= ?
            GROUP BY a.lead_id
        ){queue_cte}
        SELECT a.arm, a.unit_id, a.lead_id, a.assigned_at, a.window_end <= ? AS mature,
            CASE WHEN conv.n > 0 THEN 1 ELSE 0 END AS converted,
            COALESCE(conv.revenue, 0) AS revenue,
            COALESCE(act.contacts, 0) AS contacts,
            COALESCE(act.unsubscribed, 0) AS unsubscribed,
            {"COALESCE(sq.routed, 0)" if has_queue else "0"} AS routed_sales,
            COALESCE(act.pre_engagement, 0) AS pre_engagement
        FROM a LEFT JOIN conv ON conv.lead_id = a.lead_id LEFT JOIN act ON act.lead_id = a.lead_id
        {"LEFT JOIN sq ON sq.lead_id = a.lead_id" if has_queue else ""}
        ORDER BY a.assigned_at, a.lead_id
    """
    params: list[Any] = [
        spec.name,
        as_of,
        _before_stop(spec),
        value_per_conversion,
        as_of,
        *sales_types,
        *sales_types,
        as_of,
    ]
    if has_queue:
        params.append(as_of)
    params.append(as_of)
    frame = warehouse.df(query, params)
    frame["mature"] = frame["mature"].astype(bool)
    return frame


def _before_stop(spec: ExperimentSpec) -> datetime:
    """The bound units must be assigned before to count: the stop, or far in the future while open-ended."""
    return spec.stop if spec.stop is not None else datetime(9999, 1, 1)


@dataclass(frozen=True)
class ReportResult:
    """A readout as `experiment report --json` prints it, with where its HTML went."""

    readout: dict[str, Any]
    html: Path | None

    def to_dict(self) -> dict[str, Any]:
        """The readout plus headline fields of its (first) comparison at the top level, as the CLI contract asks."""
        first = self.readout["comparisons"][0] if self.readout["comparisons"] else {}
        return self.readout | {
            "lift": {"value": first.get("lift"), "low": first.get("lift_low"), "high": first.get("lift_high")},
            "diff": {"value": first.get("diff"), "low": first.get("diff_low"), "high": first.get("diff_high")},
            "recommendation": first.get("recommendation", "inconclusive"),
            "reason": first.get("reason", "no treatment arm"),
            "business": first.get("business"),
            "html": str(self.html) if self.html else None,
        }


def _previous_sequential(warehouse: Warehouse, name: str, as_of: datetime) -> dict[str, float]:
    """The smallest mSPRT p-value each treatment reached at earlier looks (the always-valid running minimum)."""
    found: dict[str, float] = {}
    for row in store.readouts(warehouse, name):
        if row["as_of"] < as_of and row["sequential_p"] is not None:
            arm = row["treatment_arm"]
            found[arm] = min(found.get(arm, 1.0), float(row["sequential_p"]))
    return found


def comparison_row(readout: dict[str, Any], comp: dict[str, Any]) -> dict[str, Any]:
    """One comparison's arms, KPIs and lift as a stored readout row holds them (what the KPI and lift plots read)."""
    arms = {a["name"]: a for a in readout["arms"]}
    return {
        "control_arm": comp["control"],
        "treatment_arm": comp["treatment"],
        "control_kpi": arms[comp["control"]]["kpi"],
        "treatment_kpi": arms[comp["treatment"]]["kpi"],
        "lift": comp.get("lift"),
        "lift_low": comp.get("lift_low"),
        "lift_high": comp.get("lift_high"),
    }


def experiment_report(
    warehouse: Warehouse,
    spec: ExperimentSpec,
    business: BusinessSettings,
    *,
    sales_types: list[str],
    as_of: datetime | None = None,
    html_dir: Path | None = None,
    now: datetime | None = None,
    stop: StopInfo | None = None,
) -> ReportResult:
    """Compute, store and render one readout of `spec` at `as_of` (default now); `stop` says who stopped it, why."""
    as_of = as_of or utcnow()
    now = now or utcnow()
    frame = unit_frame(
        warehouse, spec, as_of=as_of, sales_types=sales_types, value_per_conversion=business.value_per_conversion
    )
    readout = analyse(
        frame,
        spec,
        business,
        as_of=as_of,
        expected_shares=expected_shares(spec),
        previous_sequential_p=_previous_sequential(warehouse, spec.name, as_of),
    )
    stopped = stop if stop is not None and readout["stopped"] else None
    readout |= {
        "stop": None if stopped is None else stopped.to_dict(),
        "units_after_stop": store.units_assigned_from(warehouse, spec.name, spec.stop, as_of),
    }
    html: Path | None = None
    history = store.readouts(warehouse, spec.name)
    if html_dir is not None:
        from leadops.experiments.html import write_html

        html = write_html(html_dir / f"experiment-{spec.name}-{as_of:%Y%m%d}.html", readout, frame, history)
    stamp = as_of.strftime("%Y%m%dT%H%M%S")
    for comp in readout["comparisons"]:
        money = comp.get("business") or {}
        store.save_readout(
            warehouse,
            {
                "readout_id": f"{spec.name}:{comp['treatment']}:{stamp}",
                "experiment": spec.name,
                "as_of": as_of,
                "created_at": now,
                "kpi": readout["kpi"],
                "window_days": readout["window_days"],
                "units": readout["units"],
                "mature_units": readout["mature_units"],
                "mature": readout["mature"],
                **comparison_row(readout, comp),
                "diff": comp.get("diff"),
                "diff_low": comp.get("diff_low"),
                "diff_high": comp.get("diff_high"),
                "p_value": comp.get("p_value"),
                "sequential_p": comp.get("sequential_p"),
                "srm_p": readout["srm_p"],
                "recommendation": comp["recommendation"],
                "reason": comp["reason"],
                "incremental_revenue": money.get("incremental_revenue_per_year"),
                "roi": money.get("roi"),
                "html_path": str(html) if html else None,
                "readout": readout,
            },
        )
    return ReportResult(readout, html)
