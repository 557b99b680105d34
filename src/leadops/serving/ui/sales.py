"""What the Sales pages read: tonight's queue (ranked, filtered, one page at a time) and one lead's whole story.

A page costs the same with 1,000 or 1,000,000 open leads: the queue is read with ORDER BY score_rank LIMIT/OFFSET
on the current run only, the trend and the details are fetched for the page's leads alone, and the filter
choices and counts are kept per run id (a run is immutable once published).
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadops.errors import LeadOpsError
from leadops.warehouse import Warehouse

QUEUE_COLUMNS = ("lead_id", "score", "grade", "score_rank", "rep", "region", "status", "routed_at", "reason_text")
CSV_COLUMNS = ("score_rank", "lead_id", "score", "grade", "rep", "region", "status", "routed_at", "reason_text")


class PageParamError(LeadOpsError):
    """A dashboard page was asked for with a query parameter out of its range (page, rep, territory): HTTP 422."""

    exit_code = 39
    http_status = 422


@dataclass(frozen=True)
class Filters:
    """The queue's filters: a rep and/or a territory (region); None = all."""

    rep: str | None = None
    territory: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition (on alias q) and its parameters."""
        parts, params = ["q.run_id = ?"], []
        if self.rep is not None:
            parts.append("q.rep = ?")
            params.append(self.rep)
        if self.territory is not None:
            parts.append("q.region = ?")
            params.append(self.territory)
        return " AND ".join(parts), params


@dataclass
class Row:
    """One lead of the queue as the page shows it."""

    lead_id: str
    score: float | None
    grade: str | None
    rank: int | None
    rep: str | None
    territory: str | None
    status: str | None
    routed_at: datetime | None
    reasons: str | None
    in_queue_days: float | None = None
    trend: str = "unknown"
    change: float | None = None


@dataclass
class QueuePage:
    """A page of the queue and what the page needs around it."""

    run_id: str | None
    as_of: datetime | None
    model_version: int | None
    rows: list[Row]
    total: int
    page: int
    pages: int
    reps: list[str] = field(default_factory=list)
    territories: list[str] = field(default_factory=list)


_CACHE: dict[tuple[str, ...], Any] = {}
_RANKS: dict[tuple[str, ...], Any] = {}
_LOCK = threading.Lock()
RANK_INDEXES = 16
"""Filtered queues whose rank index a worker keeps (8 bytes a lead: 8 MB for a 1M-lead queue)."""


def _cached(store: dict[tuple[str, ...], Any], key: tuple[str, ...], compute: Any, limit: int = 512) -> Any:
    """A value of an immutable published run, computed once per process (bounded: cleared when it grows)."""
    with _LOCK:
        if key in store:
            return store[key]
    value = compute()
    with _LOCK:
        if len(store) >= limit:
            store.clear()
        store[key] = value
    return value


def current_run(warehouse: Warehouse) -> tuple[str, datetime, int] | None:
    """The latest published run: (run id, as of, model version); None before the first run."""
    rows = warehouse.rows("SELECT run_id, as_of, model_version FROM current_run")
    return None if not rows else (str(rows[0][0]), rows[0][1], int(rows[0][2]))


def recent_runs(warehouse: Warehouse, runs: int) -> list[str]:
    """The last `runs` published run ids, newest first."""
    rows = warehouse.rows(
        "SELECT run_id FROM published_runs ORDER BY as_of DESC, published_at DESC, run_id DESC LIMIT ?", [runs]
    )
    return [str(r[0]) for r in rows]


def _choices(warehouse: Warehouse, run_id: str, column: str) -> list[str]:
    sql = f"SELECT DISTINCT {column} FROM sales_queue WHERE run_id = ? AND {column} IS NOT NULL ORDER BY 1"
    return [str(r[0]) for r in warehouse.rows(sql, [run_id])]


def _rank_index(warehouse: Warehouse, where: str, params: list[Any]) -> Any:
    """The filtered queue's ranks in order: page p is then a BETWEEN on score_rank (unique in a run), not an OFFSET."""
    from array import array

    table = warehouse.arrow(f"SELECT q.score_rank FROM sales_queue q WHERE {where} ORDER BY q.score_rank", params)
    ranks = array("q")
    ranks.frombytes(table.column(0).to_numpy(zero_copy_only=False).astype("int64").tobytes())
    return ranks


def trends(
    warehouse: Warehouse, lead_ids: list[str], run_ids: list[str], points: float
) -> dict[str, tuple[str, float | None]]:
    """Each lead's direction over the given runs (latest minus earliest score, as GET /v1/leads/{id} says it)."""
    if not lead_ids or not run_ids:
        return {}
    order = {run: i for i, run in enumerate(reversed(run_ids))}  # oldest first
    rows = warehouse.rows(
        f"SELECT lead_id, run_id, score FROM lead_scores WHERE run_id IN ({', '.join('?' * len(run_ids))}) "
        f"AND lead_id IN ({', '.join('?' * len(lead_ids))})",
        [*run_ids, *lead_ids],
    )
    history: dict[str, list[tuple[int, float]]] = {}
    for lead_id, run_id, score in rows:
        if score is not None:
            history.setdefault(str(lead_id), []).append((order[str(run_id)], float(score)))
    out: dict[str, tuple[str, float | None]] = {}
    for lead_id, scored in history.items():
        scored.sort()
        if len(scored) < 2:
            out[lead_id] = ("unknown", None)
            continue
        change = round(scored[-1][1] - scored[0][1], 6)
        out[lead_id] = ("improving" if change >= points else "declining" if change <= -points else "steady", change)
    return out


def queue_page(
    warehouse: Warehouse, filters: Filters, page: int, size: int, *, trend_runs: int, trend_points: float
) -> QueuePage:
    """One page of tonight's Sales queue, best first, with trend and time in queue for the page's leads."""
    if page < 1:
        raise PageParamError(f"page: expected 1 or more, got {page}")
    run = current_run(warehouse)
    if run is None:
        return QueuePage(None, None, None, [], 0, 1, 1)
    run_id, as_of, version = run
    url = str(getattr(warehouse, "url", ""))
    reps = _cached(_CACHE, (url, run_id, "reps"), lambda: _choices(warehouse, run_id, "rep"))
    territories = _cached(_CACHE, (url, run_id, "regions"), lambda: _choices(warehouse, run_id, "region"))
    if filters.rep is not None and filters.rep not in reps:
        raise PageParamError(f"rep: {filters.rep[:60]!r} has no lead in tonight's queue; expected one of the list")
    if filters.territory is not None and filters.territory not in territories:
        raise PageParamError(f"territory: {filters.territory[:60]!r} is not in tonight's queue")
    where, params = filters.where()
    ranks = _cached(
        _RANKS,
        (url, run_id, "ranks", filters.rep or "", filters.territory or ""),
        lambda: _rank_index(warehouse, where, [run_id, *params]),
        limit=RANK_INDEXES,
    )
    total = len(ranks)
    pages = max(1, -(-total // size))
    if page > pages:
        raise PageParamError(f"page: expected 1..{pages} for this filter, got {page}")
    columns = ", ".join(f"q.{c}" for c in QUEUE_COLUMNS)
    found = []
    if total:
        low, high = int(ranks[(page - 1) * size]), int(ranks[min(page * size, total) - 1])
        found = warehouse.rows(
            f"SELECT {columns} FROM sales_queue q WHERE {where} AND q.score_rank BETWEEN ? AND ? "
            "ORDER BY q.score_rank, q.lead_id LIMIT ?",
            [run_id, *params, low, high, size],
        )
    rows = [
        Row(
            lead_id=str(r[0]),
            score=r[1],
            grade=r[2],
            rank=r[3],
            rep=r[4],
            territory=r[5],
            status=r[6],
            routed_at=r[7],
            reasons=r[8],
        )
        for r in found
    ]
    directions = trends(warehouse, [r.lead_id for r in rows], recent_runs(warehouse, trend_runs), trend_points)
    for row in rows:
        row.trend, row.change = directions.get(row.lead_id, ("unknown", None))
        if row.routed_at is not None and as_of is not None:
            row.in_queue_days = max(0.0, (as_of - row.routed_at).total_seconds() / 86400)
    return QueuePage(run_id, as_of, version, rows, total, page, pages, reps, territories)


def queue_csv(warehouse: Warehouse, filters: Filters) -> tuple[bytes, str | None]:
    """The whole filtered queue as CSV (the columns Sales imports), and the run's as-of date for the file name."""
    import pyarrow.csv as pacsv

    run = current_run(warehouse)
    if run is None:
        return (b"rank,lead_id,score,grade,rep,territory,status,routed_at,reasons\n"), None
    where, params = filters.where()
    table = warehouse.arrow(
        f"SELECT {', '.join(f'q.{c}' for c in CSV_COLUMNS)} FROM sales_queue q WHERE {where} "
        "ORDER BY q.score_rank, q.lead_id",
        [run[0], *params],
    )
    table = table.rename_columns(
        ["rank", "lead_id", "score", "grade", "rep", "territory", "status", "routed_at", "reasons"]
    )
    out = io.BytesIO()
    pacsv.write_csv(table, out)
    return out.getvalue(), run[1].date().isoformat() if run[1] is not None else None


@dataclass
class LeadStory:
    """One lead as its page shows it: who it is, its score over time, its activities and latest reasons."""

    lead_id: str
    facts: dict[str, Any]
    history: list[dict[str, Any]]
    activities: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    activity_count: int


LEAD_FACTS = (
    "created_at",
    "job_level",
    "department",
    "country",
    "region",
    "lead_source",
    "email_domain_type",
    "do_not_email",
    "do_not_call",
    "owner",
    "account_id",
)
ACCOUNT_FACTS = ("name", "industry", "employees", "annual_revenue")


def lead_story(warehouse: Warehouse, lead_id: str, *, activities: int = 100) -> LeadStory | None:
    """Everything the lead page shows but the fresh score; None when the lead is not in the warehouse."""
    found = warehouse.rows(f"SELECT {', '.join(LEAD_FACTS)} FROM leads WHERE lead_id = ?", [lead_id])
    if not found:
        return None
    facts = dict(zip(LEAD_FACTS, found[0], strict=True))
    if facts.get("account_id"):
        account = warehouse.rows(
            f"SELECT {', '.join(ACCOUNT_FACTS)} FROM accounts WHERE account_id = ?", [facts["account_id"]]
        )
        if account:
            facts.update({f"account_{k}": v for k, v in zip(ACCOUNT_FACTS, account[0], strict=True)})
    history = [
        {"run_id": r[0], "as_of": r[1], "score": r[2], "grade": r[3], "route": r[4], "model_version": r[5]}
        for r in warehouse.rows(
            "SELECT s.run_id, r.as_of, s.score, s.grade, s.route, s.model_version FROM lead_scores s "
            "JOIN published_runs r ON r.run_id = s.run_id WHERE s.lead_id = ? ORDER BY r.as_of, r.published_at",
            [lead_id],
        )
    ]
    rows = warehouse.rows(
        "SELECT occurred_at, activity_type, channel, value FROM activities WHERE lead_id = ? "
        "ORDER BY occurred_at DESC LIMIT ?",
        [lead_id, activities],
    )
    acts = [{"occurred_at": r[0], "activity_type": r[1], "channel": r[2], "value": r[3]} for r in rows]
    count = int(warehouse.scalar("SELECT count(*) FROM activities WHERE lead_id = ?", [lead_id]) or 0)
    latest = warehouse.rows("SELECT reasons FROM current_scores WHERE lead_id = ?", [lead_id])
    reasons: list[dict[str, Any]] = []
    if latest and latest[0][0] is not None:
        data = json.loads(latest[0][0]) if isinstance(latest[0][0], str) else latest[0][0]
        reasons = [dict(r) for r in data] if isinstance(data, list) else []
    return LeadStory(lead_id, facts, history, acts, reasons, count)
