"""Files for the CRM import: <workspace>/exports/<as-of date>/lead_scores.csv and .parquet, written atomically."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from leadops.jobs.errors import JobError
from leadops.warehouse import Warehouse

RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")

# floor(x + 0.5): half away from zero on every engine (PostgreSQL rounds a double half to even)
CSV_COLUMNS = (
    "lead_id, CAST(floor(score + 0.5) AS INTEGER) AS score, grade, score_rank AS rank, "
    "CAST(floor(percentile + 0.5) AS INTEGER) AS percentile, route, rep, "
    "coalesce(reason_text, '') AS reasons, route_reason, model_version"
)
PARQUET_COLUMNS = (
    "run_id, as_of, model_version, lead_id, score, probability, grade, score_rank AS rank, percentile, fit_score, "
    "engagement_score, expected_value, route, route_reason, region, rep, "
    "reason_text AS reasons, reasons AS reasons_json"
)


def export_dir(workspace: Path, directory: str, as_of: datetime) -> Path:
    """exports/<YYYY-MM-DD>/ inside the workspace (or under an absolute `directory`)."""
    base = Path(directory)
    base = base if base.is_absolute() else workspace / base
    return base / f"{as_of:%Y-%m-%d}"


def write_export(warehouse: Warehouse, run_id: str, target: Path, fmt: str) -> Path:
    """Write one export to a temp file beside `target`, then os.replace it: readers see old or new, never half."""
    if not RUN_ID.match(run_id):
        raise JobError(f"export: run id {run_id!r} has unexpected characters")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a killed run
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    columns = CSV_COLUMNS if fmt == "csv" else PARQUET_COLUMNS
    try:
        query = f"SELECT {columns} FROM lead_scores WHERE run_id = '{run_id}' ORDER BY score_rank"
        warehouse.copy_to(query, tmp, fmt)  # the engine streams it (DuckDB COPY, PostgreSQL a server cursor)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def write_exports(
    warehouse: Warehouse, run_id: str, directory: Path, *, csv: bool, parquet: bool
) -> tuple[Path | None, Path | None]:
    """The run's CSV (shaped for a CRM import) and Parquet (every column) exports."""
    csv_path = write_export(warehouse, run_id, directory / "lead_scores.csv", "csv") if csv else None
    pq_path = write_export(warehouse, run_id, directory / "lead_scores.parquet", "parquet") if parquet else None
    return csv_path, pq_path


def read_export(path: Path) -> pa.Table:
    """An export back as Arrow (tests and analysts' notebooks)."""
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        return pacsv.read_csv(str(path))
    import pyarrow.parquet as pq

    return pq.read_table(str(path))
