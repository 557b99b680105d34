"""Routing policies as one set-based SQL statement: rank, percentile, threshold / capacity / expected value,
consent, and Sales' state carried from the previous published run (kept, recycled after N untouched days)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from leadops.jobs.specs import RoutingSpec
from leadops.warehouse import Warehouse


def _fmt(x: float) -> str:
    return f"{x:g}"


def _policy_parts(spec: RoutingSpec) -> tuple[str, list[Any], str, str, str]:
    """(eligible SQL, its params, order key, reason when picked, reason when not eligible)."""
    if spec.policy == "threshold":
        return (
            "b.score >= ?",
            [spec.threshold],
            "score DESC NULLS LAST, raw DESC NULLS LAST, lead_id",
            f"new MQL: score >= {_fmt(spec.threshold)}",
            (f"score below {_fmt(spec.threshold)}"),
        )
    if spec.policy == "capacity":
        return (
            "TRUE",
            [],
            "score DESC NULLS LAST, raw DESC NULLS LAST, lead_id",
            "new MQL: among the top scores within today's capacity",
            "not eligible",
        )
    return (
        "b.expected_value > 0",
        [],
        "expected_value DESC NULLS LAST, score DESC NULLS LAST, raw DESC NULLS LAST, lead_id",
        "new MQL: expected value of a contact > 0",
        "expected value of a contact <= 0",
    )


def _capacity_parts(spec: RoutingSpec) -> tuple[str, str, list[Any], str, str, list[Any]]:
    """(partition, extra joins, join params, within-capacity SQL, new rep SQL, select params)."""
    cap = spec.capacity
    if cap is None:
        return "1", "", [], "TRUE", "CAST(NULL AS VARCHAR)", []
    if cap.by == "total":
        return "1", "", [], "k.slot <= ?", "CAST(NULL AS VARCHAR)", [cap.per_day]
    if cap.by == "region":
        if cap.regions:
            values = ", ".join("(?, ?)" for _ in cap.regions)
            params: list[Any] = [x for item in cap.regions.items() for x in (item[0], int(item[1]))]
            join = f" LEFT JOIN (VALUES {values}) AS caps(cap_region, cap) ON caps.cap_region = k.region"
            return (
                "region",
                join,
                params,
                "k.slot <= coalesce(caps.cap, ?)",
                "CAST(NULL AS VARCHAR)",
                [cap.per_day],
            )
        return "region", "", [], "k.slot <= ?", "CAST(NULL AS VARCHAR)", [cap.per_day]
    rows = [(region, i, rep) for region, reps in cap.reps.items() for i, rep in enumerate(reps)]
    counts = {region: len(reps) for region, reps in cap.reps.items() if reps}
    rep_values = ", ".join("(?, ?, ?)" for _ in rows)
    n_values = ", ".join("(?, ?)" for _ in counts)
    join = (
        f" LEFT JOIN (VALUES {n_values}) AS team(team_region, n_reps) ON team.team_region = k.region"
        f" LEFT JOIN (VALUES {rep_values}) AS reps(rep_region, rep_index, rep_name)"
        " ON reps.rep_region = k.region AND reps.rep_index = (k.slot - 1) % team.n_reps"
    )
    params = [x for item in counts.items() for x in item] + [x for row in rows for x in row]
    within = "(team.n_reps IS NOT NULL AND k.slot <= ? * team.n_reps)"
    return "region", join, params, within, "reps.rep_name", [cap.per_day]


def route_run(
    warehouse: Warehouse,
    *,
    run_id: str,
    as_of: datetime,
    model_version: int,
    previous_run: str | None,
    spec: RoutingSpec,
) -> None:
    """Insert the run's lead_scores rows (ranked and routed) from its staged scores, in one statement."""
    eligible, eligible_params, order_key, picked_reason, below_reason = _policy_parts(spec)
    partition, joins, join_params, within, new_rep, within_params = _capacity_parts(spec)
    ev = spec.expected_value
    ev_sql = "s.probability * ? - ?" if ev else "CAST(NULL AS DOUBLE)"
    ev_params: list[Any] = [ev.value_per_conversion, ev.cost_per_contact] if ev else []
    no_call = "b.do_not_call" if spec.consent.sales_requires_call_consent else "FALSE"
    no_email = "k.do_not_email" if spec.consent.nurture_requires_email_consent else "FALSE"
    untouched_cutoff = as_of - timedelta(days=spec.recycle.untouched_days)
    cooldown_cutoff = as_of - timedelta(days=spec.recycle.cooldown_days)
    recycle_reason = f"recycled to nurture: no sales touch in {spec.recycle.untouched_days} days with Sales"
    sql = f"""
INSERT INTO lead_scores (run_id, lead_id, as_of, model_version, score, probability, grade, raw, score_rank,
    percentile, fit_score, engagement_score, expected_value, mql, route, route_reason, region, rep, sales_status,
    with_sales_since, last_sales_touch_at, recycled_at, do_not_call, do_not_email, reasons, reason_text)
WITH base AS (
    SELECT l.lead_id, coalesce(l.region, 'unknown') AS region, l.do_not_call, l.do_not_email,
           s.score, s.probability, s.grade, s.raw, s.fit_score, s.engagement_score, s.reasons, s.reason_text,
           ROW_NUMBER() OVER (ORDER BY s.score DESC NULLS LAST, s.raw DESC NULLS LAST, l.lead_id) AS score_rank,
           100.0 * CUME_DIST() OVER (ORDER BY s.score) AS percentile,
           {ev_sql} AS expected_value
    FROM score_run_leads l JOIN score_stage s ON s.run_id = l.run_id AND s.lead_id = l.lead_id
    WHERE l.run_id = ?
),
prev_sales AS (SELECT lead_id, routed_at, rep FROM sales_queue WHERE run_id = ?),
prev_recycled AS (SELECT lead_id, recycled_at FROM nurture_queue WHERE run_id = ? AND recycled_at IS NOT NULL),
touch AS (
    SELECT a.lead_id, max(a.occurred_at) AS last_touch
    FROM activities a JOIN prev_sales p ON p.lead_id = a.lead_id
    WHERE a.activity_type = 'sales_touch' AND a.occurred_at >= p.routed_at AND a.occurred_at <= ?
    GROUP BY a.lead_id
),
state AS (
    SELECT b.*, p.routed_at AS prev_routed_at, p.rep AS prev_rep, t.last_touch, r.recycled_at AS prev_recycled_at,
        CASE
            WHEN p.lead_id IS NOT NULL AND {no_call} THEN 'no_call'
            WHEN p.lead_id IS NOT NULL AND t.last_touch IS NULL AND p.routed_at <= ? THEN 'recycle'
            WHEN p.lead_id IS NOT NULL THEN 'keep'
            WHEN {no_call} THEN 'no_call'
            WHEN r.recycled_at IS NOT NULL AND r.recycled_at > ? THEN 'cooldown'
            WHEN {eligible} THEN 'eligible'
            ELSE 'below'
        END AS state
    FROM base b
    LEFT JOIN prev_sales p ON p.lead_id = b.lead_id
    LEFT JOIN touch t ON t.lead_id = b.lead_id
    LEFT JOIN prev_recycled r ON r.lead_id = b.lead_id
),
ranked AS (
    SELECT s.*, CASE WHEN s.state = 'eligible'
        THEN ROW_NUMBER() OVER (PARTITION BY s.state, {partition} ORDER BY {order_key}) END AS slot
    FROM state s
),
decided AS (
    SELECT k.*, CASE WHEN k.state = 'keep' OR (k.state = 'eligible' AND {within}) THEN 'sales'
                     WHEN {no_email} THEN 'suppressed' ELSE 'nurture' END AS route,
           CASE WHEN k.state = 'keep' THEN k.prev_rep WHEN k.state = 'eligible' THEN {new_rep} END AS rep_pick,
           CASE k.state
               WHEN 'keep' THEN 'already with Sales'
               WHEN 'recycle' THEN ?
               WHEN 'no_call' THEN 'do not call: not queued for Sales'
               WHEN 'cooldown' THEN 'recently recycled from Sales: nurture until the cool-down ends'
               WHEN 'eligible' THEN CASE WHEN {within} THEN ? ELSE 'qualified but over today''s Sales capacity' END
               ELSE ?
           END AS base_reason
    FROM ranked k{joins}
)
SELECT ?, lead_id, ?, ?, score, probability, grade, raw, score_rank, percentile, fit_score, engagement_score,
       expected_value, route = 'sales', route,
       CASE WHEN route = 'suppressed' THEN base_reason || '; do not email: no email nurture' ELSE base_reason END,
       region, CASE WHEN route = 'sales' THEN rep_pick END,
       CASE WHEN route = 'sales' AND state = 'keep' THEN 'kept' WHEN route = 'sales' THEN 'new' END,
       CASE WHEN route = 'sales' AND state = 'keep' THEN prev_routed_at WHEN route = 'sales' THEN ? END,
       CASE WHEN route = 'sales' THEN last_touch END,
       CASE WHEN state = 'recycle' THEN ? WHEN state = 'cooldown' THEN prev_recycled_at END,
       do_not_call, do_not_email, reasons, reason_text
FROM decided
"""
    none = previous_run or ""
    params: list[Any] = [
        *ev_params,
        run_id,
        none,
        none,
        as_of,
        untouched_cutoff,
        cooldown_cutoff,
        *eligible_params,
        *within_params,  # route CASE
        recycle_reason,
        *within_params,  # reason CASE
        picked_reason,
        below_reason,
        *join_params,
        run_id,
        as_of,
        model_version,
        as_of,
        as_of,
    ]
    warehouse.execute(sql, params)


def write_queues(warehouse: Warehouse, run_id: str) -> None:
    """The run's Sales and nurture queues, copied from its routed lead_scores rows."""
    warehouse.execute(
        "INSERT INTO sales_queue (run_id, as_of, lead_id, region, rep, score, grade, score_rank, status, routed_at, "
        "last_sales_touch_at, reason_text) "
        "SELECT run_id, as_of, lead_id, region, rep, score, grade, score_rank, sales_status, with_sales_since, "
        "last_sales_touch_at, reason_text FROM lead_scores WHERE run_id = ? AND route = 'sales'",
        [run_id],
    )
    warehouse.execute(
        "INSERT INTO nurture_queue (run_id, as_of, lead_id, region, score, grade, score_rank, channel, route_reason, "
        "recycled_at) "
        "SELECT run_id, as_of, lead_id, region, score, grade, score_rank, "
        "CASE WHEN do_not_email THEN 'no_email' ELSE 'email' END, route_reason, recycled_at "
        "FROM lead_scores WHERE run_id = ? AND route = 'nurture'",
        [run_id],
    )
