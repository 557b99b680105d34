"""The analysts' copy of a DuckDB warehouse: a read-only file BI tools open while the nightly job writes.

DuckDB admits one read-write process or many read-only ones per file, never both, so an analyst's DBeaver
session on the warehouse itself would stop the job and the job would lock analysts out. Instead, once a run is
published, the job (the one writer) checkpoints the warehouse, copies its file into a fresh one beside the
target, marks it read-only on disk and renames it over the target (`os.replace`, atomic on POSIX). An
analyst's open connection keeps the inode it opened (the previous run, consistent to the end); the next
connection opens the new run. The job never opens the analysts' file, so their locks never meet. PostgreSQL
needs none of this: its readers see the last committed run through MVCC, so there is no copy there.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from leadops.errors import WarehouseError
from leadops.warehouse.connection import Warehouse, utcnow

INFO_TABLE = "analytics_copy_info"


class AnalyticsCopyError(WarehouseError):
    """The analysts' read-only copy could not be written or opened (the warehouse itself is unchanged)."""

    exit_code = 45
    http_status = 503


@dataclass(frozen=True)
class CopyInfo:
    """What one publish of the analysts' copy wrote."""

    path: str
    run_id: str | None
    published_at: datetime
    seconds: float
    bytes: int


def resolve_copy(setting: str, workspace: Path) -> Path | None:
    """The file `warehouse.analytics_copy` names (relative paths inside the workspace), None when switched off."""
    if not setting.strip():
        return None
    path = Path(setting)
    return path if path.is_absolute() else workspace / path


def copy_path(warehouse: Warehouse, setting: str, workspace: Path) -> Path | None:
    """Where the analysts' copy of this warehouse lives (None: PostgreSQL, in-memory DuckDB or switched off)."""
    target = resolve_copy(setting, workspace)
    if warehouse.path is None or target is None:
        return None
    if target.resolve() == warehouse.path.resolve():
        raise AnalyticsCopyError(
            f"warehouse.analytics_copy '{setting}' names the warehouse file itself ({warehouse.path})",
            hint="give the copy a file name of its own, e.g. analytics.duckdb",
        )
    return target


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def current_run_id(warehouse: Warehouse) -> str | None:
    """The published run analysts see now (the `current_run` view), None before the first one."""
    if not warehouse.table_exists("current_run"):
        return None
    value = warehouse.scalar("SELECT run_id FROM current_run")
    return None if value is None else str(value)


def publish_copy(warehouse: Warehouse, target: Path) -> CopyInfo:
    """Copy every table and view into a fresh read-only file and rename it over `target` in one step.

    Call while holding the writer lock and outside a transaction, after the run's publish committed.
    """
    if warehouse.path is None:
        raise AnalyticsCopyError("an analytics copy needs a DuckDB warehouse file (this one is not a file)")
    started = time.perf_counter()
    run_id = current_run_id(warehouse)
    import duckdb

    con = warehouse.duckdb()
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    wal = Path(f"{fresh}.wal")
    for leftover in (fresh, wal):
        _remove(leftover)
    at = utcnow()
    try:
        # every committed change into the file itself; as the one writer nothing changes it while it is copied
        con.execute("CHECKPOINT")
        _copy_bytes(warehouse.path, fresh)
        copy = duckdb.connect(str(fresh))
        try:
            copy.execute(
                f"CREATE TABLE {INFO_TABLE} AS SELECT CAST(? AS VARCHAR) AS run_id, "
                "CAST(? AS TIMESTAMP) AS published_at, CAST(? AS VARCHAR) AS source",
                [run_id, at, str(warehouse.path)],
            )
            copy.execute("CHECKPOINT")
        finally:
            copy.close()
        os.chmod(fresh, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # BI tools cannot open it read-write
        os.replace(fresh, target)
    except Exception as exc:
        for leftover in (fresh, wal):
            _remove(leftover)
        raise AnalyticsCopyError(
            f"writing the analysts' copy {target} failed: {type(exc).__name__}: {exc}".strip(),
            hint="the run is published in the warehouse; free disk space and rerun `leadops score` (it refreshes "
            "the copy)",
        ) from exc
    _remove(Path(f"{target}.wal"))  # a WAL beside the new file would belong to the replaced one
    return CopyInfo(
        path=str(target),
        run_id=run_id,
        published_at=at,
        seconds=round(time.perf_counter() - started, 3),
        bytes=target.stat().st_size,
    )


def _copy_bytes(source: Path, target: Path) -> None:
    """The file's bytes copied by another process: DuckDB's lock on `source` is a POSIX record lock, which this
    process would lose the moment it closed any descriptor of that file of its own (a plain shutil.copyfile let
    other processes open the warehouse while the job still held it). Bytes, not rows: ~1 s per GB, where
    `COPY FROM DATABASE` took 28 s for 40 MB."""
    import subprocess

    done = subprocess.run(["cp", "--", str(source), str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"cp {source} {target}: {done.stderr.strip() or f'exit {done.returncode}'}")


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        path.unlink(missing_ok=True)


def open_copy(target: Path) -> Warehouse:
    """The analysts' copy opened read-only (what a BI tool does), as a Warehouse for leadops' own readers."""
    if not target.exists():
        raise AnalyticsCopyError(
            f"there is no analytics copy at {target} yet", hint="it is written when `leadops score` publishes a run"
        )
    return Warehouse(f"duckdb:///{target}", read_only=True)


def copy_run_id(copy: Warehouse) -> str | None:
    """The published run an open copy shows (None when it was taken before any run was published)."""
    value = copy.scalar(f"SELECT run_id FROM {INFO_TABLE}")
    return None if value is None else str(value)


def copy_is_current(warehouse: Warehouse, target: Path) -> bool:
    """Whether the copy at `target` exists and shows the warehouse's current published run."""
    if not target.exists():
        return False
    try:
        with open_copy(target) as copy:
            return copy_run_id(copy) == current_run_id(warehouse)
    except Exception:  # a damaged or foreign file is not current: the next publish replaces it
        return False
