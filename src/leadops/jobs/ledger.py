"""The run ledger (score_runs): deterministic run ids, the config hash, and each run's status transitions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadops.hashing import content_hash
from leadops.settings.jobs import Operations
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

# Every table holding a run's rows; a restarted run clears them before writing again.
RUN_TABLES = (
    "score_run_leads",
    "score_run_facts",
    "score_stage",
    "lead_scores",
    "shadow_scores",
    "sales_queue",
    "nurture_queue",
)


def config_hash(ops: Operations, spec_hashes: Mapping[int, str] | None = None) -> str:
    """Hash of everything that changes tonight's rows (routing, reasons, each model's fitted feature spec), not
    how they're computed; the features come from the models' bundles, so leadops.yaml's `features:` is no part."""
    scoring = ops.scoring.model_dump(mode="json", exclude={"engine", "chunk_size", "spark", "exports"})
    body: dict[str, Any] = {
        "scoring": scoring,
        "routing": ops.routing.model_dump(mode="json"),
        "business": ops.business.model_dump(mode="json"),
    }
    if spec_hashes:
        body["feature_specs"] = {str(v): h for v, h in sorted(spec_hashes.items())}
    return content_hash(body)[:16]


def make_run_id(as_of: datetime, model_version: int, cfg_hash: str, engine: str = "duckdb") -> str:
    """Same as-of, model version, config and engine -> same run id, so a rerun finds (and never duplicates) its
    run, while a DuckDB and a Spark run of one as-of are two runs side by side (comparable, not "already done")."""
    digest = hashlib.sha256(f"{as_of.isoformat()}|{model_version}|{cfg_hash}|{engine}".encode()).hexdigest()[:10]
    return f"score-{as_of:%Y%m%dT%H%M}-v{model_version}-{engine}-{digest}"


@dataclass(frozen=True)
class RunRow:
    """The ledger's view of one run."""

    run_id: str
    status: str
    leads_scored: int | None
    routed_sales: int | None
    routed_nurture: int | None
    shadow_versions: str | None
    export_csv: str | None
    export_parquet: str | None
    started_at: datetime | None
    finished_at: datetime | None
    engine: str


def get_run(warehouse: Warehouse, run_id: str) -> RunRow | None:
    """The run's ledger row, or None."""
    rows = warehouse.rows(
        "SELECT run_id, status, leads_scored, routed_sales, routed_nurture, shadow_versions, export_csv, "
        "export_parquet, started_at, finished_at, engine FROM score_runs WHERE run_id = ?",
        [run_id],
    )
    return RunRow(*rows[0]) if rows else None


def start_run(
    warehouse: Warehouse,
    *,
    run_id: str,
    as_of: datetime,
    model_version: int,
    scorer: str,
    engine: str,
    cfg_hash: str,
) -> None:
    """(Re)open the run in 'staging': clear whatever an interrupted attempt left, then write the ledger row."""
    with warehouse.transaction():
        for table in RUN_TABLES:
            warehouse.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        warehouse.execute("DELETE FROM score_runs WHERE run_id = ?", [run_id])
        warehouse.execute(
            "INSERT INTO score_runs (run_id, as_of, model_version, scorer, engine, status, config_hash, started_at) "
            "VALUES (?, ?, ?, ?, ?, 'staging', ?, ?)",
            [run_id, as_of, model_version, scorer, engine, cfg_hash, utcnow()],
        )


def fail_run(warehouse: Warehouse, run_id: str, error: str) -> None:
    """Mark a run failed (it stays invisible to every view); its staged rows are dropped."""
    with warehouse.transaction():
        for table in RUN_TABLES:
            warehouse.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        warehouse.execute(
            "UPDATE score_runs SET status = 'failed', finished_at = ?, error = ? WHERE run_id = ?",
            [utcnow(), error[:2000], run_id],
        )


def previous_published(warehouse: Warehouse, as_of: datetime) -> str | None:
    """The latest published run strictly before this as-of (its queues carry Sales' state forward)."""
    value = warehouse.scalar(
        "SELECT run_id FROM score_runs WHERE status = 'published' AND as_of < ? "
        "ORDER BY as_of DESC, published_at DESC, run_id DESC LIMIT 1",
        [as_of],
    )
    return None if value is None else str(value)
