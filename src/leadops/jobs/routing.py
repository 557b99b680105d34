"""Routing as one set-based SQL statement: rank, percentile, policy, freshness, capacity per territory or rep,
consent, and Sales' state carried from the previous published run (kept, or recycled after N days without a
Sales activity). Every lead gets a route reason that says what happened to it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadops.features.sql import ql, ts_literal
from leadops.settings.business import BusinessSettings
from leadops.settings.crm import ContractsSpec, SourceSpec
from leadops.settings.jobs import RoutingSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

SALES_SIDE_TYPES = (
    "sales_touch",
    "sales_call",
    "sales_email",
    "sales_meeting",
    "call",
    "phone_call",
    "outbound_call",
    "meeting",
    "outbound_email",
)
"""Activity types that mean a salesperson worked the lead (any declared type starting with `sales_` counts too)."""


def declared_activity_types(contracts: ContractsSpec, sources: Iterable[SourceSpec]) -> list[str]:
    """Every activity type the mapping can produce: the contract's allowed list and the sources' value maps."""
    found: list[str] = []
    rule = contracts.activities.categories.get("activity_type")
    if rule is not None:
        found.extend(rule.allowed)
    for source in sources:
        if source.table == "activities":
            found.extend(str(v) for v in (source.values.get("activity_type") or {}).values() if v is not None)
    return list(dict.fromkeys(found))


def sales_activity_types(spec: RoutingSpec, declared: Iterable[str]) -> list[str]:
    """The configured types, else the sales-side types among those declared (else every known sales-side type)."""
    if spec.sales_activity_types is not None:
        return list(dict.fromkeys(spec.sales_activity_types))
    picked = [t for t in declared if t in SALES_SIDE_TYPES or t.startswith("sales_")]
    return list(dict.fromkeys(picked)) or list(SALES_SIDE_TYPES)


@dataclass(frozen=True)
class Slot:
    """One new-to-Sales slot of tonight: its territory, its number there (1 = the best lead) and its rep, if any."""

    region: str
    number: int
    rep: str | None


@dataclass(frozen=True)
class RoutingPlan:
    """What tonight's routing runs with: the policy section, the business facts, the threshold and its source."""

    spec: RoutingSpec
    business: BusinessSettings
    mql_threshold: float | None
    threshold_source: str
    sales_types: tuple[str, ...]
    slots: tuple[Slot, ...] | None = None  # an experiment arm's own new-to-Sales slots (jobs/arms.py), else None

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for `score --json`."""
        return {
            "policy": self.spec.policy,
            "mql_threshold": self.mql_threshold,
            "threshold_source": self.threshold_source,
            "capacity_per_day": self.business.capacity.total_per_day(),
            "capacity_by": self.business.capacity.by,
            "fresh_days": self.spec.fresh_days,
            "sales_activity_types": list(self.sales_types),
        }


def plan(
    spec: RoutingSpec, business: BusinessSettings, model_threshold: float | None, declared: Iterable[str]
) -> RoutingPlan:
    """Tonight's threshold: `business.mql_threshold` when declared, else the one stored with the champion."""
    if business.mql_threshold is not None:
        threshold, source = float(business.mql_threshold), "business.mql_threshold"
    elif model_threshold is not None:
        threshold, source = float(model_threshold), "chosen on the validation set at training"
    else:
        threshold, source = None, "none: Sales gets the top leads up to capacity"
    return RoutingPlan(spec, business, threshold, source, tuple(sales_activity_types(spec, declared)))


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class _Policy:
    """SQL of one policy: who is eligible, who counts as an MQL, the queue order, and the reasons."""

    eligible: str
    eligible_params: list[Any]
    order_key: str
    picked: str
    picked_below: str
    below: str
    over: str


def _policy(p: RoutingPlan, lead_key: str = "lead_id") -> _Policy:
    t = p.mql_threshold
    order = f"score DESC NULLS LAST, raw DESC NULLS LAST, {lead_key}"
    if p.spec.policy == "expected_value":
        b = p.business
        formula = f"probability x {_fmt(b.value_per_conversion)} - {_fmt(b.cost_per_contact)}"
        return _Policy(
            "b.expected_value > 0",
            [],
            "expected_value DESC NULLS LAST, " + order,
            f"new MQL: expected value of a contact > 0 ({formula}), within today's Sales capacity",
            "",
            f"below the MQL bar: expected value of a contact <= 0 ({formula})",
            "an MQL over today's Sales capacity (expected value > 0, not among today's best)",
        )
    if t is None:
        return _Policy(
            "TRUE",
            [],
            order,
            "new to Sales: among today's top scores within Sales capacity (no MQL threshold set)",
            "",
            "",
            "not among today's top scores within Sales capacity (no MQL threshold set)",
        )
    if p.spec.policy == "capacity":
        return _Policy(
            "TRUE",
            [],
            order,
            f"new MQL: score >= {_fmt(t)}, within today's Sales capacity",
            f"new to Sales: fills today's capacity (score below the MQL threshold {_fmt(t)})",
            f"below the MQL threshold ({_fmt(t)})",
            f"an MQL over today's Sales capacity (score >= {_fmt(t)})",
        )
    return _Policy(
        "b.score >= ?",
        [t],
        order,
        f"new MQL: score >= {_fmt(t)}, within today's Sales capacity",
        "",
        f"below the MQL threshold ({_fmt(t)})",
        f"an MQL over today's Sales capacity (score >= {_fmt(t)})",
    )


def _slot_capacity(slots: tuple[Slot, ...]) -> tuple[str, str, list[Any], str, list[Any], str]:
    """_capacity for named slots: a lead takes Sales when its territory has a slot of its number, and that rep."""
    if not slots:
        return "region", "", [], "FALSE", [], "CAST(NULL AS VARCHAR)"
    values = ", ".join("(CAST(? AS VARCHAR), CAST(? AS BIGINT), CAST(? AS VARCHAR))" for _ in slots)
    join = (
        f" LEFT JOIN (VALUES {values}) AS arm_slots(slot_region, slot_no, slot_rep)"
        " ON arm_slots.slot_region = k.region AND arm_slots.slot_no = k.slot"
    )
    params: list[Any] = [x for slot in slots for x in (slot.region, slot.number, slot.rep)]
    return "region", join, params, "arm_slots.slot_no IS NOT NULL", [], "arm_slots.slot_rep"


def _capacity(
    business: BusinessSettings, slots: tuple[Slot, ...] | None = None
) -> tuple[str, str, list[Any], str, list[Any], str]:
    """(partition, extra joins, join params, within-capacity SQL, its params, new rep SQL)."""
    if slots is not None:
        return _slot_capacity(slots)
    cap = business.capacity
    if cap.by == "total":
        return "1", "", [], "k.slot <= ?", [cap.per_day], "CAST(NULL AS VARCHAR)"
    if cap.by == "region":
        if cap.regions:
            values = ", ".join("(?, ?)" for _ in cap.regions)
            params: list[Any] = [x for item in cap.regions.items() for x in (item[0], int(item[1]))]
            join = f" LEFT JOIN (VALUES {values}) AS caps(cap_region, cap) ON caps.cap_region = k.region"
            return "region", join, params, "k.slot <= coalesce(caps.cap, ?)", [cap.per_day], "CAST(NULL AS VARCHAR)"
        return "region", "", [], "k.slot <= ?", [cap.per_day], "CAST(NULL AS VARCHAR)"
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
    return "region", join, params, within, [cap.per_day], "reps.rep_name"


# Who was with Sales before tonight: the previous run's Sales queue, and leads the online API routed since.
PREV_SALES_SQL = """
    SELECT lead_id, routed_at, rep FROM sales_queue WHERE run_id = ?
    UNION ALL  -- leads the online API gave Sales since the previous run: with Sales from when it routed them
    SELECT i.lead_id, min(i.routed_at), min(i.rep) FROM intake_leads i
    WHERE i.route = 'sales' AND i.routed_at IS NOT NULL AND i.routed_at <= ?
      AND i.routed_at > coalesce((SELECT r.as_of FROM score_runs r WHERE r.run_id = ?), TIMESTAMP '1970-01-01 00:00:00')
      AND NOT EXISTS (SELECT 1 FROM sales_queue q WHERE q.run_id = ? AND q.lead_id = i.lead_id)
    GROUP BY i.lead_id
"""


def prev_sales_params(previous_run: str | None) -> list[Any]:
    """PREV_SALES_SQL's parameters: the previous published run (none: nobody) and now."""
    none = previous_run or ""
    return [none, utcnow(), none, none]


def routing_facts_sql(as_of: datetime, sales_types: Sequence[str]) -> str:
    """score_run_facts' rows from the canonical tables: one SELECT over run_leads, leads, activities and
    prev_sales (lead_id, routed_at) that the engine holding the tables runs (Spark's dialect included); the
    account and created_at are what experiment assignment reads too (jobs/arms.assign_run)."""
    now = ts_literal(as_of)
    types = ", ".join(ql(t) for t in sales_types) or "NULL"
    return (
        "WITH act AS (SELECT lead_id, max(occurred_at) AS last_active_at FROM activities "
        f"WHERE occurred_at <= {now} GROUP BY lead_id), "
        "touch AS (SELECT a.lead_id, max(a.occurred_at) AS last_touch FROM activities a "
        "JOIN prev_sales p ON p.lead_id = a.lead_id "
        f"WHERE a.activity_type IN ({types}) AND a.occurred_at >= p.routed_at AND a.occurred_at <= {now} "
        "GROUP BY a.lead_id) "
        "SELECT r.lead_id AS lead_id, ld.owner AS owner, ld.account_id AS account_id, ld.created_at AS created_at, "
        "act.last_active_at AS last_active_at, touch.last_touch AS last_sales_touch_at "
        "FROM run_leads r LEFT JOIN leads ld ON ld.lead_id = r.lead_id "
        "LEFT JOIN act ON act.lead_id = r.lead_id LEFT JOIN touch ON touch.lead_id = r.lead_id"
    )


def route_run(
    warehouse: Warehouse,
    *,
    run_id: str,
    as_of: datetime,
    model_version: int,
    previous_run: str | None,
    routing: RoutingPlan,
    only: str | None = None,
    count_online: bool = True,
    facts: bool = False,
) -> None:
    """Insert the run's lead_scores rows (ranked, routed, each with its route reason) from its staged scores.

    `only` names a relation of lead_ids to route alone (an experiment arm's leads, see jobs/arms.py), ranked
    among themselves; `count_online=False` leaves out the Sales slots the online API filled today (the arm's
    capacity is already its share of what is left); `facts=True` reads each lead's owner, age, activity and
    Sales touch from score_run_facts (written by the engine from its own tables) instead of leads/activities."""
    spec, business = routing.spec, routing.business
    pol = _policy(routing, warehouse.sql.text_order("lead_id"))
    partition, joins, join_params, within, within_params, new_rep = _capacity(business, routing.slots)
    if spec.assign_to_owner:  # the CRM's owner of the lead takes it; capacity still counts per territory / rep
        new_rep = f"coalesce(k.owner, {new_rep})"
    no_call = "b.do_not_call" if spec.consent.sales_requires_call_consent else "FALSE"
    no_email = "k.do_not_email" if spec.consent.nurture_requires_email_consent else "FALSE"
    types = list(routing.sales_types)
    type_marks = ", ".join("?" for _ in types)
    untouched_cutoff = as_of - timedelta(days=spec.recycle.untouched_days)
    cooldown_cutoff = as_of - timedelta(days=spec.recycle.cooldown_days)
    fresh_days = spec.fresh_days
    fresh_cutoff = as_of - timedelta(days=fresh_days if fresh_days is not None else 0)
    is_mql = "k.score >= ?" if routing.mql_threshold is not None and spec.policy == "capacity" else "TRUE"
    mql_params: list[Any] = [routing.mql_threshold] if is_mql != "TRUE" else []
    recycle_reason = (
        f"recycled to nurture: no Sales activity ({', '.join(types)}) in {_days(spec.recycle.untouched_days)} "
        "with Sales"
    )
    known_mql = spec.policy == "expected_value" or (spec.policy == "threshold" and routing.mql_threshold is not None)
    stale = f"not fresh: neither created nor active in the last {_days(fresh_days or 0)}"
    stale_reason = f"an MQL, but {stale}" if known_mql else stale
    if facts:  # the engine's own tables gave each lead's owner, created_at, latest activity and Sales touch
        lead_join = "LEFT JOIN score_run_facts ld ON ld.run_id = l.run_id AND ld.lead_id = l.lead_id"
        active, active_params = "coalesce(ld.last_active_at > ?, FALSE)", [fresh_cutoff]  # NULL: never active
        touch_sql = (
            "SELECT lead_id, last_sales_touch_at AS last_touch FROM score_run_facts "
            "WHERE run_id = ? AND last_sales_touch_at IS NOT NULL"
        )
        touch_params: list[Any] = [run_id]
    else:
        lead_join = "LEFT JOIN leads ld ON ld.lead_id = l.lead_id"
        active = (
            "EXISTS (SELECT 1 FROM activities fa "
            "WHERE fa.lead_id = l.lead_id AND fa.occurred_at > ? AND fa.occurred_at <= ?)"
        )
        active_params = [fresh_cutoff, as_of]
        touch_sql = f"""
    SELECT a.lead_id, max(a.occurred_at) AS last_touch
    FROM activities a JOIN prev_sales p ON p.lead_id = a.lead_id
    WHERE a.activity_type IN ({type_marks}) AND a.occurred_at >= p.routed_at AND a.occurred_at <= ?
    GROUP BY a.lead_id
"""
        touch_params = [*types, as_of]
    fresh_sql = "TRUE" if fresh_days is None else f"(ld.created_at IS NULL OR ld.created_at > ? OR {active})"
    fresh_params: list[Any] = [] if fresh_days is None else [fresh_cutoff, *active_params]
    if spec.policy == "expected_value":
        mql_column, mql_column_params = "coalesce(expected_value > 0, FALSE)", []
    elif routing.mql_threshold is not None:
        mql_column, mql_column_params = "coalesce(score >= ?, FALSE)", [routing.mql_threshold]
    else:
        mql_column, mql_column_params = "route = 'sales'", []
    if not count_online:
        taken, taken_join = "CAST(0 AS BIGINT)", ""
    elif business.capacity.by == "total":
        taken, taken_join = "(SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM online_today)", ""
    else:
        taken, taken_join = "coalesce(ot.n, 0)", " LEFT JOIN online_today ot ON ot.region = st.region"
    b = business
    lead_order = warehouse.sql.text_order("l.lead_id")
    subset = "" if only is None else f" AND l.lead_id IN (SELECT lead_id FROM {only})"
    ev_sql = "s.probability * ? - ?"
    ev_params: list[Any] = [b.value_per_conversion, b.cost_per_contact]
    sql = f"""
INSERT INTO lead_scores (run_id, lead_id, as_of, model_version, score, probability, grade, raw, score_rank,
    percentile, fit_score, engagement_score, expected_value, mql, route, route_reason, region, rep, sales_status,
    with_sales_since, last_sales_touch_at, recycled_at, do_not_call, do_not_email, reasons, reason_text)
WITH base AS (
    SELECT l.lead_id, coalesce(l.region, 'unknown') AS region, l.do_not_call, l.do_not_email, ld.owner,
           s.score, s.probability, s.grade, s.raw, s.fit_score, s.engagement_score, s.reasons, s.reason_text,
           ROW_NUMBER() OVER (ORDER BY s.score DESC NULLS LAST, s.raw DESC NULLS LAST, {lead_order}) AS score_rank,
           100.0 * CUME_DIST() OVER (ORDER BY s.score) AS percentile,
           {ev_sql} AS expected_value,
           {fresh_sql} AS fresh
    FROM score_run_leads l JOIN score_stage s ON s.run_id = l.run_id AND s.lead_id = l.lead_id
    {lead_join}
    WHERE l.run_id = ?{subset}
),
prev_sales AS ({PREV_SALES_SQL}),
prev_recycled AS (SELECT lead_id, recycled_at FROM nurture_queue WHERE run_id = ? AND recycled_at IS NOT NULL),
touch AS ({touch_sql}),
online_today AS (  -- Sales slots the online API already filled on the run's day (they count against capacity)
    SELECT coalesce(region, 'unknown') AS region, count(*) AS n FROM intake_leads
    WHERE route = 'sales' AND routed_at >= ? AND routed_at < ? GROUP BY coalesce(region, 'unknown')
),
state AS (
    SELECT b.*, p.routed_at AS prev_routed_at, p.rep AS prev_rep, t.last_touch, r.recycled_at AS prev_recycled_at,
        CASE
            WHEN p.lead_id IS NOT NULL AND {no_call} THEN 'no_call'
            WHEN p.lead_id IS NOT NULL AND t.last_touch IS NULL AND p.routed_at <= ? THEN 'recycle'
            WHEN p.lead_id IS NOT NULL THEN 'keep'
            WHEN {no_call} THEN 'no_call'
            WHEN r.recycled_at IS NOT NULL AND r.recycled_at > ? THEN 'cooldown'
            WHEN NOT ({pol.eligible}) THEN 'below'
            WHEN NOT b.fresh THEN 'stale'
            ELSE 'eligible'
        END AS state
    FROM base b
    LEFT JOIN prev_sales p ON p.lead_id = b.lead_id
    LEFT JOIN touch t ON t.lead_id = b.lead_id
    LEFT JOIN prev_recycled r ON r.lead_id = b.lead_id
),
ranked AS (
    SELECT s.*, CASE WHEN s.state = 'eligible'
        THEN ROW_NUMBER() OVER (PARTITION BY s.state, {partition} ORDER BY {pol.order_key}) + s.taken END AS slot
    FROM (SELECT st.*, {taken} AS taken FROM state st{taken_join}) s
),
decided AS (
    SELECT k.*, CASE WHEN k.state = 'keep' OR (k.state = 'eligible' AND {within}) THEN 'sales'
                     WHEN {no_email} THEN 'suppressed' ELSE 'nurture' END AS route,
           CASE WHEN k.state = 'keep' THEN k.prev_rep WHEN k.state = 'eligible' THEN {new_rep} END AS rep_pick,
           CASE k.state
               WHEN 'keep' THEN 'kept: already with Sales and worked recently'
               WHEN 'recycle' THEN ?
               WHEN 'no_call' THEN 'no call consent (do not call): not queued for Sales'
               WHEN 'cooldown' THEN 'recently recycled from Sales: nurture until the cool-down ends'
               WHEN 'stale' THEN ?
               WHEN 'eligible' THEN CASE
                   WHEN {within} THEN CASE WHEN {is_mql} THEN ? ELSE ? END
                   WHEN {is_mql} THEN ? ELSE ? END
               ELSE ?
           END AS base_reason
    FROM ranked k{joins}
)
SELECT ?, lead_id, ?, ?, score, probability, grade, raw, score_rank, percentile, fit_score, engagement_score,
       expected_value, {mql_column}, route,
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
    day = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    below = pol.below or pol.over
    params: list[Any] = [
        *ev_params,
        *fresh_params,
        run_id,
        *prev_sales_params(previous_run),
        none,
        *touch_params,
        day,
        day + timedelta(days=1),
        untouched_cutoff,
        cooldown_cutoff,
        *pol.eligible_params,
        *within_params,  # route CASE
        recycle_reason,
        stale_reason,
        *within_params,  # reason CASE: within capacity
        *mql_params,
        pol.picked,
        pol.picked_below or pol.picked,
        *mql_params,
        pol.over,
        below,
        below,
        *join_params,
        run_id,
        as_of,
        model_version,
        *mql_column_params,
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


def route_summary(warehouse: Warehouse, run_id: str) -> dict[str, int]:
    """How many leads got each route reason (what `score --json` explains an empty Sales queue with)."""
    rows = warehouse.rows(
        "SELECT route_reason, count(*) FROM lead_scores WHERE run_id = ? GROUP BY route_reason ORDER BY 2 DESC, 1",
        [run_id],
    )
    return {str(r[0]): int(r[1]) for r in rows}
