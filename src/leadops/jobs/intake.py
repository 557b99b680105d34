"""Online intake into the warehouse: store a checked lead, route it against today's Sales capacity, drain the spool.

One function (`accept`) does it for a lead the API writes through and for a lead drained from the spool, in
one short transaction: the lead's rows, the routing decision and the `intake_leads` row keyed by the client's
request id, so a request is stored at most once however often a drain is retried. A lead joins today's Sales
queue when the champion called it an MQL with call consent and today's capacity (per day, territory or rep,
as the nightly routing counts it) still has room after what today's published run and earlier online
routings gave Sales; the next nightly run keeps it with Sales from that moment (leadops.jobs.routing).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadops.crm.intake import CheckedLead, store_lead, write_quarantine
from leadops.crm.intake_ledger import FILE, IntakeLedger
from leadops.errors import LeadOpsError, WarehouseLockedError
from leadops.settings.business import BusinessSettings
from leadops.settings.jobs import RoutingSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

log = logging.getLogger("leadops.intake")
SALES = "sales"


@dataclass(frozen=True)
class Scored:
    """What the champion said about the lead when the API received it."""

    model_version: int
    score: float
    probability: float | None
    grade: str
    mql: bool
    route: str
    route_reason: str
    reason_text: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (kept in the spool)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Intake:
    """An accepted submission on its way into the warehouse."""

    request_id: str
    body_hash: str
    received_at: datetime
    rows: CheckedLead
    scored: Scored

    @property
    def lead_id(self) -> str:
        """The lead's id."""
        return str(self.rows.lead["lead_id"])

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (the spool's payload)."""
        return {"request_id": self.request_id, "body_hash": self.body_hash,
                "received_at": self.received_at.isoformat(), "rows": self.rows.to_json(),
                "scored": self.scored.to_json()}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Intake:
        """The submission to_json wrote."""
        return cls(str(data["request_id"]), str(data["body_hash"]), datetime.fromisoformat(data["received_at"]),
                   CheckedLead.from_json(data["rows"]), Scored(**data["scored"]))  # fmt: skip


@dataclass(frozen=True)
class Decision:
    """Where the lead went: its route, why, and when it joined Sales (None: it did not, or was already there)."""

    route: str
    route_reason: str
    region: str
    rep: str | None = None
    routed_at: datetime | None = None
    capacity: int | None = None
    used: int | None = None


@dataclass(frozen=True)
class Accepted:
    """The outcome of accept: the decision, and whether the request id was already stored (nothing written)."""

    decision: Decision
    duplicate: bool
    new_activities: int = 0


@dataclass
class DrainReport:
    """What one drain of the spool did."""

    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    failed: int = 0
    left: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able counts."""
        return dict(self.__dict__)


def _day(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def capacity_of(business: BusinessSettings, region: str) -> int:
    """New leads Sales takes per day in the lead's partition (everyone, its territory, or its territory's reps)."""
    cap = business.capacity
    if cap.by == "total":
        return cap.per_day
    if cap.by == "region":
        return int(cap.regions.get(region, cap.per_day))
    return cap.per_day * len(cap.reps.get(region, []))


def given_today(warehouse: Warehouse, business: BusinessSettings, region: str, now: datetime) -> int:
    """Leads given to Sales today in the lead's partition: today's published run's new ones plus online ones."""
    start, end = _day(now)
    part, params = ("", []) if business.capacity.by == "total" else (" AND coalesce(region, 'unknown') = ?", [region])
    run = warehouse.scalar(
        "SELECT run_id FROM published_runs WHERE as_of >= ? AND as_of < ? "
        "ORDER BY as_of DESC, published_at DESC, run_id DESC LIMIT 1",
        [start, end],
    )
    by_run = 0
    if run is not None:
        sql = f"SELECT count(*) FROM sales_queue WHERE run_id = ? AND status = 'new'{part}"
        by_run = int(warehouse.scalar(sql, [run, *params]) or 0)
    sql = f"SELECT count(*) FROM intake_leads WHERE route = 'sales' AND routed_at >= ? AND routed_at < ?{part}"
    online = int(warehouse.scalar(sql, [start, end, *params]) or 0)
    return by_run + online


def _with_sales(warehouse: Warehouse, lead_id: str) -> datetime | None:
    """When the lead joined Sales, if it is with Sales now (tonight's queue, or routed online since that run)."""
    found = warehouse.scalar("SELECT routed_at FROM current_sales_queue WHERE lead_id = ?", [lead_id])
    if found is not None:
        return found
    since = warehouse.scalar("SELECT as_of FROM current_run")
    return warehouse.scalar(
        "SELECT min(routed_at) FROM intake_leads WHERE lead_id = ? AND route = 'sales' AND routed_at > ?",
        [lead_id, since if since is not None else datetime(1970, 1, 1)],
    )


def decide(
    warehouse: Warehouse, intake: Intake, routing: RoutingSpec, business: BusinessSettings, now: datetime
) -> Decision:
    """The lead's route now: the champion's call, then today's Sales capacity for an MQL with call consent."""
    found = warehouse.rows(
        "SELECT coalesce(l.region, a.region), l.owner, coalesce(l.do_not_email, FALSE) FROM leads l "
        "LEFT JOIN accounts a ON a.account_id = l.account_id WHERE l.lead_id = ?",
        [intake.lead_id],
    )
    region_value, owner, no_email = found[0] if found else (None, None, False)
    region = str(region_value or "unknown")
    scored = intake.scored
    if scored.route != SALES:
        return Decision(scored.route, scored.route_reason, region)
    since = _with_sales(warehouse, intake.lead_id)
    if since is not None:
        return Decision(SALES, f"kept: already with Sales since {since:%Y-%m-%d %H:%M} UTC", region)
    cap = capacity_of(business, region)
    used = given_today(warehouse, business, region, now)
    where = "" if business.capacity.by == "total" else f" in {region}"
    if used < cap:
        rep = None
        reps = business.capacity.reps.get(region, [])
        if business.capacity.by == "rep" and reps:
            rep = reps[used % len(reps)]
        if routing.assign_to_owner and owner:
            rep = str(owner)
        why = f"new MQL online: {scored.route_reason}; within today's Sales capacity ({used + 1} of {cap}{where})"
        return Decision(SALES, why, region, rep, now, cap, used + 1)
    over = f"an MQL over today's Sales capacity ({used} of {cap} new leads{where} already given to Sales today)"
    if no_email and routing.consent.nurture_requires_email_consent:
        return Decision("suppressed", over + "; do not email: no email nurture", region, None, None, cap, used)
    return Decision("nurture", over, region, None, None, cap, used)


def _lock_key(warehouse: Warehouse) -> int:
    return int.from_bytes(hashlib.sha256(f"leadops-intake:{warehouse.schema}".encode()).digest()[:7], "big")


def _stored(warehouse: Warehouse, request_id: str) -> Decision | None:
    rows = warehouse.rows(
        "SELECT route, route_reason, region, rep, routed_at FROM intake_leads WHERE request_id = ?", [request_id]
    )
    return None if not rows else Decision(rows[0][0], rows[0][1] or "", rows[0][2] or "unknown", rows[0][3],
                                          rows[0][4])  # fmt: skip


def accept(
    warehouse: Warehouse, intake: Intake, routing: RoutingSpec, business: BusinessSettings, *, via: str,
    now: datetime | None = None,
) -> Accepted:  # fmt: skip
    """Store the lead, decide its route and record the request, all or nothing; a stored request id is left as is."""
    when = now or utcnow()
    with warehouse.transaction():
        lock = warehouse.sql.transaction_lock(_lock_key(warehouse))
        if lock is not None:  # capacity is counted then taken by one intake at a time
            warehouse.scalar(lock)
        before = _stored(warehouse, intake.request_id)
        if before is not None:
            return Accepted(before, duplicate=True)
        new = store_lead(warehouse, intake.rows)
        decision = decide(warehouse, intake, routing, business, when)
        s = intake.scored
        warehouse.execute(
            "INSERT INTO intake_leads (request_id, lead_id, body_hash, received_at, stored_at, via, model_version, "
            "score, probability, grade, mql, route, route_reason, region, rep, routed_at, reason_text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [intake.request_id, intake.lead_id, intake.body_hash, intake.received_at, when, via, s.model_version,
             s.score, s.probability, s.grade, s.mql, decision.route, decision.route_reason, decision.region,
             decision.rep, decision.routed_at, s.reason_text or None],
        )  # fmt: skip
    return Accepted(decision, duplicate=False, new_activities=new)


def drain(
    warehouse: Warehouse, ledger: IntakeLedger, routing: RoutingSpec, business: BusinessSettings, *, limit: int = 500
) -> DrainReport:
    """Move spooled submissions into the warehouse in arrival order; each at most once (its request id)."""
    report = DrainReport()
    for entry in ledger.pending(limit):
        try:
            if entry.kind == "quarantine":
                with warehouse.transaction():
                    write_quarantine(warehouse, entry.payload["rows"])
                report.quarantined += 1
            else:
                done = accept(warehouse, Intake.from_json(entry.payload), routing, business, via="spool")
                if done.duplicate:
                    report.duplicates += 1
                else:
                    report.stored += 1
            ledger.drained(entry.seq)
        except WarehouseLockedError:
            raise
        except (LeadOpsError, KeyError, TypeError, ValueError) as exc:  # a bad entry must not stop the others
            report.failed += 1
            message = f"spool entry {entry.seq} (request {entry.request_id}): {type(exc).__name__}: {exc}"
            report.errors.append(message)
            ledger.failed(entry.seq, message)
            log.error("intake drain: %s", message)
    report.left = ledger.pending_count()
    if report.stored or report.quarantined:
        ledger.purge()
    return report


def drain_workspace(
    warehouse: Warehouse, workspace: Path, routing: RoutingSpec, business: BusinessSettings
) -> DrainReport:
    """Drain the workspace's spool if it has one (the nightly job calls this first, holding the writer)."""
    path = workspace / FILE
    if not path.exists():
        return DrainReport()
    ledger = IntakeLedger(path)
    try:
        return drain(warehouse, ledger, routing, business)
    finally:
        ledger.close()
