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
