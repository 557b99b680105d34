"""Leads as the warehouse holds them, turned into /v1/score request bodies (what a CRM webhook would send)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from leadops.config import load
from leadops.warehouse.connection import open_warehouse

LEAD_FIELDS = (
    "lead_id", "account_id", "created_at", "email_domain_type", "job_level", "department", "country", "region",
    "lead_source", "do_not_email", "do_not_call", "attributes",
)  # fmt: skip
ACCOUNT_FIELDS = (
    "account_id", "name", "industry", "employees", "annual_revenue", "country", "region",
    "profitable_last_quarter", "is_competitor", "attributes",
)  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return dict(json.loads(value) if isinstance(value, str) else value)


def request_leads(ws: Path, limit: int, as_of: datetime) -> list[dict[str, Any]]:
    """`limit` leads created before `as_of` with their account and every activity, as LeadIn JSON objects."""
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        leads = wh.rows(
            f"SELECT {', '.join(LEAD_FIELDS)} FROM leads WHERE created_at < ? ORDER BY lead_id LIMIT ?", [as_of, limit]
        )
        ids = [r[0] for r in leads]
        marks = ", ".join("?" for _ in ids)
        accounts = {
            r[0]: r
            for r in wh.rows(
                f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM accounts WHERE account_id IN "
                f"(SELECT account_id FROM leads WHERE lead_id IN ({marks}))",
                ids,
            )
        }
        acts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for lead_id, occurred, kind, channel, value, props in wh.rows(
            "SELECT lead_id, occurred_at, activity_type, channel, value, properties FROM activities "
            f"WHERE lead_id IN ({marks}) ORDER BY lead_id, occurred_at",
            ids,
        ):
            acts[lead_id].append(
                {
                    "activity_type": kind,
                    "occurred_at": occurred.isoformat(),
                    "channel": channel,
                    "value": value,
                    "properties": _json(props) or None,
                }
            )
    out = []
    for row in leads:
        lead = {k: _plain(v) for k, v in zip(LEAD_FIELDS, row, strict=True)}
        lead["attributes"] = _json(lead["attributes"])
        account = accounts.get(lead["account_id"])
        if account is not None:
            acc = {k: _plain(v) for k, v in zip(ACCOUNT_FIELDS, account, strict=True)}
            acc["attributes"] = _json(acc["attributes"])
            lead["account"] = acc
        lead["activities"] = acts[lead["lead_id"]]
        out.append(lead)
    return out
