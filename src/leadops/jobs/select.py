"""Which leads the job scores tonight: open (not converted, disqualified or lost as of T) and created by T."""

from __future__ import annotations

from datetime import datetime

from leadops.warehouse import Warehouse

CLOSING_OUTCOMES = ("converted", "disqualified", "lost")


def stage_open_leads(warehouse: Warehouse, run_id: str, as_of: datetime, chunk_size: int) -> int:
    """Write the run's open leads with their chunk number and consent flags; return how many."""
    marks = ", ".join("?" for _ in CLOSING_OUTCOMES)
    warehouse.execute(
        "INSERT INTO score_run_leads (run_id, lead_id, chunk, region, do_not_call, do_not_email) "
        "SELECT ?, l.lead_id, "
        f"CAST(FLOOR((ROW_NUMBER() OVER (ORDER BY {warehouse.sql.text_order('l.lead_id')}) - 1) / ?) AS INTEGER), "
        "coalesce(l.region, a.region), coalesce(l.do_not_call, FALSE), coalesce(l.do_not_email, FALSE) "
        "FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id "
        "WHERE (l.created_at IS NULL OR l.created_at <= ?) AND NOT EXISTS ("
        f"  SELECT 1 FROM outcomes o WHERE o.lead_id = l.lead_id AND o.outcome IN ({marks})"
        "   AND (o.occurred_at IS NULL OR o.occurred_at <= ?))",
        [run_id, chunk_size, as_of, *CLOSING_OUTCOMES, as_of],
    )
    return int(warehouse.scalar("SELECT count(*) FROM score_run_leads WHERE run_id = ?", [run_id]) or 0)


def chunk_count(warehouse: Warehouse, run_id: str) -> int:
    """How many chunks the run's leads were cut into."""
    value = warehouse.scalar("SELECT max(chunk) FROM score_run_leads WHERE run_id = ?", [run_id])
    return 0 if value is None else int(value) + 1


def chunk_lead_ids(warehouse: Warehouse, run_id: str, chunk: int) -> list[str]:
    """The lead ids of one chunk, in lead_id order."""
    order = warehouse.sql.text_order("lead_id")
    sql = f"SELECT lead_id FROM score_run_leads WHERE run_id = ? AND chunk = ? ORDER BY {order}"
    table = warehouse.arrow(sql, [run_id, chunk])
    return [str(v) for v in table.column("lead_id").to_pylist()]
