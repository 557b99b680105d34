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


# Delta reader features whose data the current snapshot's Parquet files alone do not give (rows deleted by a
# deletion vector, columns renamed by column mapping): such a table needs Delta's own Spark reader.
DELTA_NEEDS_READER = ("deletionVectors", "columnMapping")


def _delta_location(location: str) -> str:
    """A Spark location as delta-rs names it (s3a:// is s3:// there)."""
    if location.startswith(("s3a://", "s3n://")):
        return "s3://" + location.split("://", 1)[1]
    return location


def delta_files(table: str, location: str) -> list[str] | None:
    """The Parquet files of a Delta table's current snapshot (delta-rs reads its log), as Spark names them.

    Files an older version removed stay on disk until VACUUM: only the log says which ones count now. None when
    the snapshot cannot be given as plain files (partition values live in the log, deletion vectors, column
    mapping): the session's own Delta reader (the delta-spark jar) must read it then."""
    try:
        from deltalake import DeltaTable
    except ImportError:  # without delta-rs, the session's Delta reader (if it has the jar) is the only way
        return None
    s3a = location.startswith(("s3a://", "s3n://"))
    try:
        found = DeltaTable(_delta_location(location))
    except Exception as exc:  # delta-rs' TableNotFoundError / IO errors: one line naming the table
        raise SparkInputError(
            f"scoring.spark.tables.{table}: cannot read the Delta table at {location!r}: {first_line(exc)}",
            hint="give the folder that holds the table's _delta_log",
        ) from exc
    features = set(found.protocol().reader_features or [])
    if found.metadata().partition_columns or features & set(DELTA_NEEDS_READER):
        return None
    files = found.file_uris()
    return ["s3a://" + f.split("://", 1)[1] if s3a and f.startswith("s3://") else f for f in files]


def _read_delta(spark: Any, table: str, location: str) -> Any:
    """A Delta table's current snapshot: its live Parquet files, else the session's Delta reader."""
    files = delta_files(table, location)
    if files is None:
        return spark.read.format("delta").load(location)
    if not files:  # an empty table: its schema from the log, no rows
        from deltalake import DeltaTable

        schema = pa.schema(DeltaTable(_delta_location(location)).schema().to_arrow())
        return spark.createDataFrame(schema.empty_table())
    return spark.read.parquet(*files)


def read_view(spark: Any, table: str, uri: str) -> Any:
    """One canonical table as a Spark DataFrame, registered as a temp view under its canonical name."""
    kind, location = table_uri(uri)
    try:
        if kind == "table":
            frame = spark.table(location)
        elif kind == "delta":
            frame = _read_delta(spark, table, location)
        else:
            frame = spark.read.parquet(location)
    except SparkInputError:
        raise
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
