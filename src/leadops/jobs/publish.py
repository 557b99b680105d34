"""From staged scores to a published run: routing, reasons for the MQLs, queues, then ONE transaction flips it."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from leadops.jobs.candidates import SalesCandidates
from leadops.jobs.checkpoints import checkpoint
from leadops.jobs.inputs import FeatureSource
from leadops.jobs.model import ModelRef, ScorerLike
from leadops.jobs.scoring import explain_rows
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

REASON_BATCH = 50_000


def add_mql_reasons(
    warehouse: Warehouse,
    features: FeatureSource,
    *,
    run_id: str,
    as_of: datetime,
    champion: tuple[ModelRef, ScorerLike],
    top_n: int,
    progress: Callable[[str, int, int], None] | None = None,
    kept: SalesCandidates | None = None,
    skip: Collection[str] = (),
) -> int:
    """Reason codes for the leads routed to Sales (few, so this second pass is cheap); return how many.

    The rows `kept` from the scoring pass are explained as they are; only the Sales leads it does not hold
    have their features built again. Leads in `skip` (an experiment arm's, explained by its own version) are
    left alone."""
    ids = [
        str(r[0])
        for r in warehouse.rows(
            "SELECT lead_id FROM lead_scores WHERE run_id = ? AND route = 'sales' AND reason_text IS NULL "
            "ORDER BY lead_id",
            [run_id],
        )
    ]
    if skip:
        ids = [i for i in ids if i not in skip]
    return explain_leads(warehouse, features, ids, run_id=run_id, as_of=as_of, model=champion, top_n=top_n,
                         progress=progress, kept=kept)  # fmt: skip


def explain_leads(
    warehouse: Warehouse,
    features: FeatureSource,
    ids: list[str],
    *,
    run_id: str,
    as_of: datetime,
    model: tuple[ModelRef, ScorerLike],
    top_n: int,
    progress: Callable[[str, int, int], None] | None = None,
    kept: SalesCandidates | None = None,
) -> int:
    """Write these leads' reasons by `model` into the run's lead_scores (the one reason path of every version)."""
    ref, scorer = model
    frames, missing = kept.rows_for(ids) if kept is not None else ([], ids)
    done = 0
    for frame in frames:
        done += _write_reasons(warehouse, run_id, explain_rows(scorer, ref, frame, top_n))
        if progress is not None:
            progress("reasons", done, len(ids))
    for start in range(0, len(missing), REASON_BATCH):
        batch = missing[start : start + REASON_BATCH]
        done += _write_reasons(warehouse, run_id, explain_rows(scorer, ref, features.build(as_of, batch), top_n))
        if progress is not None:
            progress("reasons", done, len(ids))
    return len(ids)


def _write_reasons(warehouse: Warehouse, run_id: str, explained: pd.DataFrame) -> int:
    """UPDATE the run's lead_scores rows with their reasons; return how many leads were explained."""
    table = pa.table(
        {
            "run_id": [run_id] * len(explained),
            "lead_id": [str(i) for i in explained.index],
            "reasons": list(explained["reasons"]),
            "reason_text": list(explained["reason_text"]),
        }
    )
    warehouse.update("lead_scores", table, key=["run_id", "lead_id"])
    return len(explained)


def run_counts(warehouse: Warehouse, run_id: str) -> dict[str, int]:
    """The run's counts as the ledger stores them."""
    row = warehouse.rows(
        "SELECT count(*), "
        "count(CASE WHEN route = 'sales' THEN 1 END), "
        "count(CASE WHEN route = 'sales' AND sales_status = 'new' THEN 1 END), "
        "count(CASE WHEN route = 'nurture' THEN 1 END), "
        "count(CASE WHEN recycled_at = as_of THEN 1 END), "
        "count(CASE WHEN route = 'suppressed' THEN 1 END) "
        "FROM lead_scores WHERE run_id = ?",
        [run_id],
    )[0]
    keys = ("leads_scored", "routed_sales", "new_to_sales", "routed_nurture", "recycled", "suppressed")
    return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}


def publish(warehouse: Warehouse, run_id: str, fields: dict[str, Any]) -> None:
    """The atomic switch: status -> published with counts and export paths; the views change in this one commit."""
    now = utcnow()
    values = {**fields, "status": "published", "finished_at": now, "published_at": now}
    sets = ", ".join(f"{name} = ?" for name in values)
    with warehouse.transaction():
        warehouse.execute("DELETE FROM score_stage WHERE run_id = ?", [run_id])
        warehouse.execute("DELETE FROM score_run_leads WHERE run_id = ?", [run_id])
        warehouse.execute("DELETE FROM score_run_facts WHERE run_id = ?", [run_id])
        warehouse.execute(f"UPDATE score_runs SET {sets} WHERE run_id = ?", [*values.values(), run_id])
        checkpoint("publish: flipped, not yet committed")
