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

CSV_COLUMNS = (
    "lead_id, CAST(round(score) AS INTEGER) AS score, grade, score_rank AS rank, "
    "CAST(round(percentile) AS INTEGER) AS percentile, route, rep, "
    "coalesce(reason_text, '') AS reasons, route_reason, model_version"
)
PARQUET_COLUMNS = (
    "run_id, as_of, model_version, lead_id, score, probability, grade, score_rank AS rank, percentile, fit_score, "
    "engagement_score, expected_value, route, route_reason, region, rep, "
    "reason_text AS reasons, reasons AS reasons_json"
)
SLICE = 200_000


def export_dir(workspace: Path, directory: str, as_of: datetime) -> Path:
    """exports/<YYYY-MM-DD>/ inside the workspace (or under an absolute `directory`)."""
    base = Path(directory)
    base = base if base.is_absolute() else workspace / base
    return base / f"{as_of:%Y-%m-%d}"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _duckdb_copy(warehouse: Warehouse, run_id: str, columns: str, target: Path, fmt: str) -> None:
    options = "FORMAT csv, HEADER" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
    sql = (
        f"COPY (SELECT {columns} FROM lead_scores WHERE run_id = '{run_id}' ORDER BY score_rank) "
        f"TO {_sql_path(target)} ({options})"
    )
    warehouse.execute(sql)


def _sliced_write(warehouse: Warehouse, run_id: str, columns: str, target: Path, fmt: str) -> None:
    """Any warehouse: read the run in rank slices and stream them into one file (flat memory)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    total = int(warehouse.scalar("SELECT count(*) FROM lead_scores WHERE run_id = ?", [run_id]) or 0)
    writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
    try:
        for start in range(0, max(total, 1), SLICE):
            table = warehouse.arrow(
                f"SELECT {columns} FROM lead_scores WHERE run_id = ? AND score_rank > ? AND score_rank <= ? "
                "ORDER BY score_rank",
                [run_id, start, start + SLICE],
            )
            if writer is None:
                writer = (
                    pacsv.CSVWriter(str(target), table.schema)
                    if fmt == "csv"
                    else pq.ParquetWriter(str(target), table.schema, compression="zstd")
                )
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


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
        if warehouse.dialect == "duckdb":
            _duckdb_copy(warehouse, run_id, columns, tmp, fmt)
        else:
            _sliced_write(warehouse, run_id, columns, tmp, fmt)
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
