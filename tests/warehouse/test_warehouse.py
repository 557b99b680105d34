"""The warehouse behaves the same on DuckDB and PostgreSQL: migrations, upserts, transactions, the writer lock."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from leadops.errors import WarehouseError, WarehouseLockedError
from leadops.warehouse import Warehouse, migrator, open_warehouse


def test_migrations_create_canonical_tables_and_record_versions(warehouse: Warehouse) -> None:
    for table in ("accounts", "leads", "activities", "outcomes", "ingest_runs", "quarantine"):
        assert warehouse.table_exists(table), table
    latest = max(m.version for m in migrator.available())
    assert warehouse.schema_version() == latest
    assert warehouse.migrate() == []  # idempotent
    applied = warehouse.rows("SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in applied] == [m.version for m in migrator.available()]


def test_upsert_by_key_replaces_instead_of_duplicating(warehouse: Warehouse) -> None:
    first = pa.table({"lead_id": ["a", "b"], "job_level": ["vp", "manager"], "do_not_email": [True, False]})
    warehouse.upsert("leads", first, ["lead_id"])
    warehouse.upsert("leads", first, ["lead_id"])
    assert warehouse.counts(["leads"]) == {"leads": 2}
    warehouse.upsert("leads", pa.table({"lead_id": ["a"], "job_level": ["c_level"]}), ["lead_id"])
    rows = warehouse.rows("SELECT lead_id, job_level, do_not_email FROM leads ORDER BY lead_id")
    assert rows == [("a", "c_level", True), ("b", "manager", False)]


def test_timestamps_json_and_nulls_round_trip(warehouse: Warehouse) -> None:
    when = datetime(2025, 3, 4, 14, 15, 16, 123456)
    data = pa.table(
        {
            "lead_id": ["x", "y"],
            "created_at": pa.array([when, None], pa.timestamp("us")),
            "attributes": ['{"age": 41, "job": "admin."}', None],
        }
    )
    warehouse.insert("leads", data)
    got = warehouse.df("SELECT lead_id, created_at, attributes FROM leads ORDER BY lead_id")
    assert got["created_at"].iloc[0].to_pydatetime() == when
    assert got["created_at"].isna().iloc[1]
    import json

    assert json.loads(got["attributes"].iloc[0]) == {"age": 41, "job": "admin."}
    assert got["attributes"].isna().iloc[1]


def test_failed_transaction_leaves_nothing_behind(warehouse: Warehouse) -> None:
    with pytest.raises(RuntimeError), warehouse.transaction():
        warehouse.insert("leads", pa.table({"lead_id": ["gone"]}))
        raise RuntimeError("boom")
    assert warehouse.counts(["leads"]) == {"leads": 0}


def test_unknown_column_is_named_in_the_error(warehouse: Warehouse) -> None:
    with pytest.raises(WarehouseError, match="nonsense"):
        warehouse.insert("leads", pa.table({"lead_id": ["a"], "nonsense": [1]}))


def test_second_writer_is_refused_while_the_first_holds_the_lock(warehouse: Warehouse, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if warehouse.dialect == "duckdb":
        with warehouse.writer("first"), pytest.raises(WarehouseLockedError), warehouse.writer("second"):
            pass
        with warehouse.writer("again"):
            pass
        return
    other = Warehouse(warehouse.url)
    try:
        with warehouse.writer("first"), pytest.raises(WarehouseLockedError), other.writer("second"):
            pass
        with other.writer("after release"):
            pass
    finally:
        other.close()


def test_duckdb_file_held_by_another_process_gives_a_locked_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    import textwrap

    open_warehouse("duckdb:///w.duckdb", tmp_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time, duckdb
                c = duckdb.connect({str(tmp_path / "w.duckdb")!r})
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError, match="another process"):
            open_warehouse("duckdb:///w.duckdb", tmp_path)
    finally:
        holder.communicate("")


def test_bad_url_says_what_is_expected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WarehouseError, match="duckdb:///"):
        open_warehouse("mysql://nope", tmp_path)
