"""A small synthetic CRM for the feature tests, written straight into the warehouse (no simulate/ or crm/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from leadops.warehouse import Warehouse

START = datetime(2025, 1, 1)
TYPES = [
    "email_open",
    "email_click",
    "page_view",
    "pricing_view",
    "demo_request",
    "webinar_attendance",
    "content_download",
    "careers_view",
    "unsubscribe",
]
TYPE_P = [0.3, 0.12, 0.25, 0.08, 0.03, 0.05, 0.1, 0.04, 0.03]
SOURCES = ["organic_search", "paid_search", "webinar", "referral", "purchased_list", "demo_form"]
LEVELS = ["student", "individual_contributor", "manager", "director", "vp", "c_level"]
INDUSTRIES = ["software", "retail", "healthcare", "education"]


@dataclass
class World:
    """The tables of a synthetic company, as Arrow, and when its data ends."""

    accounts: pa.Table
    leads: pa.Table
    activities: pa.Table
    outcomes: pa.Table
    end: datetime


def make_world(n_leads: int, *, days: int = 365, seed: int = 0, acts_per_lead: float = 12.0) -> World:
    """Leads arriving over `days`, activities after creation, conversions driven by a hidden intent."""
    rng = np.random.default_rng(seed)
    n_acc = max(1, n_leads // 4)
    acc_ids = np.array([f"A{i:06d}" for i in range(n_acc)])
    accounts = pa.table(
        {
            "account_id": acc_ids,
            "name": [f"Account {i}" for i in range(n_acc)],
            "industry": rng.choice([*INDUSTRIES, None], n_acc).tolist(),  # type: ignore[operator]
            "employees": rng.integers(1, 5000, n_acc),
            "annual_revenue": np.round(rng.lognormal(15, 1.5, n_acc), 2),
            "profitable_last_quarter": rng.random(n_acc) < 0.6,
            "is_competitor": rng.random(n_acc) < 0.02,
            "attributes": [json.dumps({"tier": int(t)}) for t in rng.integers(1, 4, n_acc)],
        }
    )
    lead_ids = np.array([f"L{i:07d}" for i in range(n_leads)])
    created_us = rng.integers(0, days * 86_400_000_000, n_leads)
    created = np.datetime64(START, "us") + created_us.astype("timedelta64[us]")
    intent = rng.normal(0, 1, n_leads)
    attrs = []
    for _ in range(n_leads):
        a: dict[str, object] = {
            "score_hint": round(float(rng.normal(50, 10)), 3),
            "newsletter": bool(rng.random() < 0.5),
        }
        if rng.random() < 0.3:
            a["budget"] = str(int(rng.integers(1000, 90000)))  # numeric text
        if rng.random() < 0.05:
            a["budget"] = "unknown"
        attrs.append(json.dumps(a))
    leads = pa.table(
        {
            "lead_id": lead_ids,
            "account_id": rng.choice(acc_ids, n_leads),
            "created_at": pa.array(created, pa.timestamp("us")),
            "email_domain_type": rng.choice(["corporate", "free", "edu", "unknown"], n_leads, p=[0.6, 0.3, 0.05, 0.05]),
            "job_level": rng.choice([*LEVELS, None], n_leads).tolist(),  # type: ignore[operator]
            "lead_source": rng.choice(SOURCES, n_leads),
            "do_not_email": rng.random(n_leads) < 0.1,
            "attributes": attrs,
        }
    )
    rate = np.exp(np.clip(intent, -2, 2)) * acts_per_lead / np.e**0.5
    n_acts = rng.poisson(rate)
    owner = np.repeat(np.arange(n_leads), n_acts)
    m = owner.size
    offset = (rng.exponential(40, m) * 86_400_000_000).astype(np.int64) + rng.integers(0, 86_400_000_000, m)
    occurred = created[owner] + offset.astype("timedelta64[us]")
    kinds = rng.choice(TYPES, m, p=TYPE_P)
    values = np.where(rng.random(m) < 0.8, np.round(rng.exponential(3, m), 4), np.nan)
    activities = pa.table(
        {
            "activity_id": [f"X{i:09d}" for i in range(m)],
            "lead_id": lead_ids[owner],
            "occurred_at": pa.array(occurred, pa.timestamp("us")),
            "activity_type": kinds,
            "value": pa.array(values, mask=np.isnan(values)),
            "properties": _properties(kinds, values),
        }
    )
    logit = -2.0 + 1.2 * intent
    converts = rng.random(n_leads) < 1 / (1 + np.exp(-logit))
    disq = (~converts) & (rng.random(n_leads) < 0.1)
    delay = (rng.exponential(45, n_leads) * 86_400_000_000).astype(np.int64)
    when = created + delay.astype("timedelta64[us]")
    idx = np.flatnonzero(converts | disq)
    outcomes = pa.table(
        {
            "outcome_id": [f"O{i:07d}" for i in idx],
            "lead_id": lead_ids[idx],
            "occurred_at": pa.array(when[idx], pa.timestamp("us")),
            "outcome": np.where(converts[idx], "converted", "disqualified"),
            "deal_value": np.where(converts[idx], np.round(rng.lognormal(9, 1, idx.size), 2), np.nan),
        }
    )
    end = START + timedelta(days=days)
    keep = pc_le(activities, end)
    activities = activities.filter(keep)
    outcomes = outcomes.filter(pc_le(outcomes, end))
    return World(accounts, leads, activities, outcomes, end)


PAGES = ["/", "/pricing", "/docs", "/pricing/enterprise", "/blog"]


def _properties(kinds: np.ndarray, values: np.ndarray) -> pa.Array:
    """Activity properties as JSON text, from the row itself (no new draws): a page per web visit, an outcome
    and a whole-number duration per valued email open, none elsewhere."""
    out: list[str | None] = []
    for i, (kind, value) in enumerate(zip(kinds, values, strict=True)):
        if kind in ("page_view", "pricing_view"):
            out.append(json.dumps({"page": PAGES[i % len(PAGES)]}))
        elif kind == "email_open" and not np.isnan(value):
            outcome = "Connected" if value > 2 else ("Left Voicemail" if i % 2 else "No Answer")
            out.append(json.dumps({"outcome": outcome, "minutes": int(value), "direction": "Outbound"}))
        else:
            out.append(None)
    return pa.array(out, pa.string())


def pc_le(table: pa.Table, end: datetime) -> pa.ChunkedArray:
    """Rows recorded by `end` (the data the warehouse has seen)."""
    import pyarrow.compute as pc

    return pc.less_equal(table["occurred_at"], pa.scalar(end, pa.timestamp("us")))


def load_world(warehouse: Warehouse, world: World) -> None:
    """Insert the world's tables into a migrated warehouse."""
    warehouse.insert("accounts", world.accounts)
    warehouse.insert("leads", world.leads)
    warehouse.insert("activities", world.activities)
    warehouse.insert("outcomes", world.outcomes)


SPEC = {
    "unseen": "other",
    "definitions": [
        {"name": "job_level", "label": "job level", "column": "job_level", "type": "categorical"},
        {"name": "lead_source", "label": "lead source", "column": "lead_source", "type": "categorical"},
        {
            "name": "email_domain_type",
            "label": "email domain",
            "column": "email_domain_type",
            "type": "categorical",
            "categories": ["corporate", "free"],
            "unseen": "other",
        },
        {"name": "do_not_email", "label": "opted out of email", "column": "do_not_email", "type": "boolean"},
        {
            "name": "industry",
            "label": "industry",
            "source": "account",
            "column": "industry",
            "type": "categorical",
        },
        {"name": "employees", "label": "employees", "source": "account", "column": "employees"},
        {
            "name": "annual_revenue",
            "label": "annual revenue",
            "source": "account",
            "column": "annual_revenue",
        },
        {"name": "account_tier", "label": "account tier", "source": "account", "key": "tier"},
        {"name": "score_hint", "label": "form score", "key": "score_hint"},
        {"name": "newsletter", "label": "newsletter subscriber", "key": "newsletter"},
        {"name": "budget", "label": "stated budget", "key": "budget"},
        {"name": "budget_text", "label": "stated budget (text)", "key": "budget", "type": "categorical"},
        {"name": "days_since_created", "label": "days since the lead was created", "kind": "builtin"},
        {
            "name": "email_opens_{days}d",
            "label": "email opens in the last {days} days",
            "kind": "activity",
            "types": ["email_open"],
            "agg": "count",
            "windows": [7, 30, 90],
        },
        {
            "name": "email_clicks_{days}d",
            "label": "email clicks in the last {days} days",
            "kind": "activity",
            "types": ["email_click"],
            "agg": "count",
            "windows": [30, 90],
        },
        {
            "name": "demo_requested_90d",
            "label": "requested a demo in the last 90 days",
            "kind": "activity",
            "types": ["demo_request"],
            "agg": "exists",
            "window_days": 90,
        },
        {
            "name": "days_since_pricing_view",
            "label": "days since the last pricing page view",
            "kind": "activity",
            "types": ["pricing_view"],
            "agg": "recency",
        },
        {
            "name": "days_since_web_visit_30d",
            "label": "days since the last web visit (30 days)",
            "kind": "activity",
            "types": ["page_view", "pricing_view"],
            "agg": "recency",
            "window_days": 30,
        },
        {
            "name": "engagement_decay_14",
            "label": "recent engagement",
            "kind": "activity",
            "agg": "decayed_sum",
            "half_life_days": 14,
            "window_days": 180,
        },
        {
            "name": "engagement_decay_all",
            "label": "engagement ever (decayed)",
            "kind": "activity",
            "types": ["email_click", "webinar_attendance", "content_download"],
            "agg": "decayed_sum",
            "half_life_days": 30.5,
        },
        {
            "name": "content_value_90d",
            "label": "content value in the last 90 days",
            "kind": "activity",
            "types": ["content_download"],
            "agg": "sum",
            "window_days": 90,
        },
        {
            "name": "email_ctr_30d",
            "label": "email click rate (30 days)",
            "kind": "derived",
            "expression": "email_clicks_30d / (email_opens_30d + 1)",
        },
        {
            "name": "ctr_ratio",
            "label": "click rate vs opens",
            "kind": "derived",
            "expression": "email_ctr_30d / email_opens_7d",
        },
        {
            "name": "log_employees",
            "label": "company size (log)",
            "kind": "derived",
            "expression": "log1p(employees)",
        },
        {
            "name": "hot",
            "label": "hot lead",
            "kind": "derived",
            "expression": "max(demo_requested_90d, email_clicks_30d >= 2) * min(1, engagement_decay_14 / 3.7)",
        },
    ],
}
