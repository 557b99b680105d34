"""Which leads the job scores tonight: open (not converted, disqualified or lost as of T) and created by T."""

from __future__ import annotations

from datetime import datetime

from leadops.features.sql import ql, ts_literal
from leadops.warehouse import Warehouse

CLOSING_OUTCOMES = ("converted", "disqualified", "lost")


def open_leads_sql(as_of: datetime) -> str:
    """The open leads as of T with region and consent flags: one SELECT every engine runs (Spark included)."""
    now = ts_literal(as_of)
    closing = ", ".join(ql(o) for o in CLOSING_OUTCOMES)
    return (
        "SELECT l.lead_id AS lead_id, coalesce(l.region, a.region) AS region, "
        "coalesce(l.do_not_call, FALSE) AS do_not_call, coalesce(l.do_not_email, FALSE) AS do_not_email "
        "FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id "
        f"WHERE (l.created_at IS NULL OR l.created_at <= {now}) AND NOT EXISTS ("
        f"SELECT 1 FROM outcomes o WHERE o.lead_id = l.lead_id AND o.outcome IN ({closing}) "
        f"AND (o.occurred_at IS NULL OR o.occurred_at <= {now}))"
    )


def stage_open_leads(warehouse: Warehouse, run_id: str, as_of: datetime, chunk_size: int) -> int:
    """Write the run's open leads with their chunk number and consent flags; return how many."""
    warehouse.execute(
        "INSERT INTO score_run_leads (run_id, lead_id, chunk, region, do_not_call, do_not_email) "
        "SELECT ?, s.lead_id, "
        f"CAST(FLOOR((ROW_NUMBER() OVER (ORDER BY {warehouse.sql.text_order('s.lead_id')}) - 1) / ?) AS INTEGER), "
        f"s.region, s.do_not_call, s.do_not_email FROM ({open_leads_sql(as_of)}) s",
        [run_id, chunk_size],
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
