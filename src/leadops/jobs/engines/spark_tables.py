"""Where the Spark engine reads the canonical tables and writes a run's files: URIs, not driver paths.

A canonical table is a Parquet path/URI, a Delta path or a metastore table (`scoring.spark.tables`); one left
unset is the warehouse's own table, exported as Parquet into the run's output folder (which must then be a
path the executors see: local mode, or a mount shared by the cluster). Outputs go under
`scoring.spark.output/<run_id>/`; pyarrow reads them back for the warehouse, batch by batch.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from leadops.jobs.errors import SparkInputError
from leadops.settings.jobs import SparkSpec, table_uri
from leadops.warehouse import Warehouse

CANONICAL = ("leads", "accounts", "activities", "outcomes")
BATCH_ROWS = 200_000


def is_remote(location: str) -> bool:
    """True for a URI with a scheme (hdfs://, s3a://, gs://, file:// counts as local)."""
    return "://" in location and not location.startswith("file://")


def output_root(spec: SparkSpec, workspace: Path) -> str:
    """The output folder as Spark and pyarrow name it: a URI as given, a relative path under the workspace."""
    if is_remote(spec.output) or spec.output.startswith("file://"):
        return spec.output.rstrip("/")
    path = Path(spec.output)
    return str(path if path.is_absolute() else (workspace / path).resolve())


def _arrow_location(location: str) -> tuple[pafs.FileSystem, str]:
    """pyarrow's filesystem and path for a Spark location (s3a:// is s3:// to pyarrow)."""
    if location.startswith("s3a://") or location.startswith("s3n://"):
        location = "s3://" + location.split("://", 1)[1]
    if "://" not in location:
        return pafs.LocalFileSystem(), location
    filesystem, path = pafs.FileSystem.from_uri(location)
    return filesystem, path


def read_view(spark: Any, table: str, uri: str) -> Any:
    """One canonical table as a Spark DataFrame, registered as a temp view under its canonical name."""
    kind, location = table_uri(uri)
    try:
        if kind == "table":
            frame = spark.table(location)
        elif kind == "delta":
            frame = spark.read.format("delta").load(location)
        else:
            frame = spark.read.parquet(location)
    except Exception as exc:  # Spark's AnalysisException / Py4J errors: one line naming the table and URI
        raise SparkInputError(
            f"scoring.spark.tables.{table}: cannot read {uri!r}: {first_line(exc)}",
            hint="give a Parquet path, delta:PATH or table:db.name that the Spark session can read",
        ) from exc
    frame.createOrReplaceTempView(table)
    return frame


def export_warehouse_table(warehouse: Warehouse, table: str, root: str) -> str:
    """The warehouse's own table as one Parquet file under the run's folder (for a table left unset)."""
    if is_remote(root):
        raise SparkInputError(
            f"scoring.spark.tables.{table}: not set, and scoring.spark.output ({root}) is not a local path the "
            "warehouse can export its table to",
            hint=f"set scoring.spark.tables.{table} to the table's URI (Parquet path, delta:PATH or table:db.name)",
        )
    target = Path(root.removeprefix("file://")) / "input" / f"{table}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    warehouse.copy_to(f"SELECT * FROM {table}", target, "parquet")
    return str(target)


def register_tables(spark: Any, spec: SparkSpec, warehouse: Warehouse, run_root: str) -> dict[str, str]:
    """Every canonical table as a temp view; returns table -> where it was read from."""
    given = spec.tables.given()
    where: dict[str, str] = {}
    for table in CANONICAL:
        uri = given.get(table) or export_warehouse_table(warehouse, table, run_root)
        read_view(spark, table, uri)
        where[table] = uri
    return where


def batches(location: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """A Parquet folder Spark wrote, as Arrow tables of at most BATCH_ROWS rows (flat memory)."""
    filesystem, path = _arrow_location(location)
    data = ds.dataset(path, format="parquet", filesystem=filesystem)
    for batch in data.to_batches(columns=columns, batch_size=BATCH_ROWS):
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


def put_file(local: Path, location: str) -> None:
    """Copy a finished local file to its place under the output folder (local or a remote filesystem)."""
    filesystem, path = _arrow_location(location)
    if isinstance(filesystem, pafs.LocalFileSystem):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(local), path)
        return
    pafs.copy_files(str(local), path, destination_filesystem=filesystem)


def remove(location: str) -> None:
    """Delete a folder the run no longer needs (intermediate features, exported inputs); absent is fine."""
    filesystem, path = _arrow_location(location)
    try:
        filesystem.delete_dir(path)
    except (FileNotFoundError, OSError):
        return


def local_scratch() -> Path:
    """A local temporary folder for a file on its way to the output folder."""
    return Path(tempfile.mkdtemp(prefix="leadops-spark-"))


def first_line(exc: BaseException) -> str:
    """The first meaningful line of an exception (Spark's messages carry a JVM stack below it)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:500]
    return type(exc).__name__
