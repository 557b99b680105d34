"""The dialect object's phrases give the same values on both engines, and no part outside it tests the engine."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from leadops.errors import WarehouseError
from leadops.warehouse import Warehouse

SRC = Path(__file__).resolve().parents[2] / "src" / "leadops"
TEXTS = ["", "L000001", "Zoë Ångström", "名前", "a'b\"c\\d", "x" * 500]


def test_sha256_hex_matches_hashlib_on_each_engine(warehouse: Warehouse) -> None:
    d = warehouse.sql
    with warehouse.staged(pa.table({"v": pa.array(TEXTS, pa.string())})) as rel:
        got = dict(warehouse.rows(f"SELECT v, {d.sha256_hex('v')} FROM {rel}"))
    assert got == {t: hashlib.sha256(t.encode("utf-8")).hexdigest() for t in TEXTS}


def test_json_merge_lets_the_patch_win_like_a_dict_update_on_each_engine(warehouse: Warehouse) -> None:
    d = warehouse.sql
    base, patch = {"plan": "free", "seats": 3, "region": "EMEA"}, {"plan": "pro", "owner": "dana"}
    sql = f"SELECT CAST({d.json_merge(f'CAST(? AS {d.json})', f'CAST(? AS {d.json})')} AS {d.text})"
    merged = json.loads(str(warehouse.scalar(sql, [json.dumps(base), json.dumps(patch)])))
    assert merged == base | patch


def test_native_types_and_the_transaction_lock_run_on_each_engine(warehouse: Warehouse) -> None:
    d = warehouse.sql
    value = warehouse.scalar(f"SELECT CAST(CAST(? AS {d.native('DOUBLE')}) AS {d.text})", ["0.1"])
    assert float(value) == 0.1
    assert warehouse.scalar(f"SELECT CAST(? AS {d.native('VARCHAR')})", ["x"]) == "x"
    lock = d.transaction_lock(12345)
    assert (lock is None) == d.single_writer
    if lock is not None:
        with warehouse.transaction():
            warehouse.scalar(lock)  # held until the end of the transaction, then released
        assert warehouse.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 12345") == 0
    assert d.ingest_batch_rows > 0
    if d.in_process:  # Arrow batches are read where they lie: the engine's own connection is this process's
        warehouse.duckdb().register("_phrase_rows", pa.table({"x": [1, 2]}))
        assert warehouse.scalar("SELECT sum(x) FROM _phrase_rows") == 3
    else:
        with pytest.raises(WarehouseError):
            warehouse.duckdb()


def test_no_part_outside_the_warehouse_asks_which_engine_it_talks_to() -> None:
    checks = re.compile(r"\bdialect\s*[!=]=|\.dialect\s+in\b|sql\.name\s*[!=]=")
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if "warehouse" not in path.relative_to(SRC).parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if checks.search(line)
    ]
    assert found == [], "engine checks belong in warehouse/dialect.py (SqlDialect):\n" + "\n".join(found)


STAMPS = ["1969-12-31 23:00:00.000001", "1970-01-01 00:00:00", "2026-02-28 23:59:59.999999", "2026-12-01 15:04:05.5"]


def test_epoch_us_is_exact_to_the_microsecond_on_each_engine(warehouse: Warehouse) -> None:
    from datetime import datetime

    d = warehouse.sql
    for text in STAMPS:
        delta = datetime.fromisoformat(text) - datetime(1970, 1, 1)
        expected = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds  # closed form
        assert warehouse.scalar(f"SELECT {d.epoch_us(f'TIMESTAMP {chr(39)}{text}{chr(39)}')}") == expected, text


def test_a_typed_result_keeps_empty_text_nan_infinity_and_microseconds_apart_from_null(warehouse: Warehouse) -> None:
    d = warehouse.sql
    schema = pa.schema([("a", pa.string()), ("b", pa.float64()), ("t", pa.timestamp("us"))])
    rows = [
        ("null", "NaN", STAMPS[0]),
        ("", "Infinity", None),
        (None, None, STAMPS[2]),
        ('NaN, "quoted"\nline', "0.1", STAMPS[3]),
    ]
    values = ", ".join(
        f"({'NULL' if a is None else chr(39) + a.replace(chr(39), chr(39) * 2) + chr(39)}, "
        f"CAST({'NULL' if b is None else chr(39) + b + chr(39)} AS {d.double}), "
        f"CAST({'NULL' if t is None else chr(39) + t + chr(39)} AS TIMESTAMP))"
        for a, b, t in rows
    )
    sql = f"SELECT * FROM (VALUES {values}) v(a, b, t)"
    got = warehouse.arrow_typed(sql, schema)
    assert got.schema == schema
    plain = warehouse.arrow(sql).cast(schema)
    assert got.column("a").to_pylist() == ["null", "", None, 'NaN, "quoted"\nline'] == plain.column("a").to_pylist()
    b = got.column("b").to_pylist()
    assert b[0] != b[0] and b[1] == float("inf") and b[2] is None and b[3] == 0.1  # NaN, not NULL
    assert got.column("t").to_pylist() == plain.column("t").to_pylist()
    assert got.column("t")[3].as_py().microsecond == 500_000
