"""Activity properties built once per distinct combination equal the per-row SQL text they replace."""

from __future__ import annotations

import itertools

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from leadops.crm.contracts import ident
from leadops.crm.mapping import _json_object, _missing
from leadops.crm.properties import properties_column

MISSING = ["", "NA", "N/A", "null", "NULL"]


def _sql_reference(table: pa.Table, pairs: list[tuple[str, str]]) -> list[str | None]:
    """The per-row SQL (mapping._json_object over mapping._missing) the Arrow path replaces."""
    con = duckdb.connect()
    con.register("t", table.append_column("row_no__", pa.array(range(table.num_rows), pa.int64())))
    expr = _json_object([(name, _missing(ident(src), MISSING)) for src, name in pairs])
    # a multi-chunk Arrow scan is parallel: without an ORDER BY the rows may come back chunk-shuffled
    return [row[0] for row in con.sql(f"SELECT {expr} FROM t ORDER BY row_no__").fetchall()]


def test_properties_json_matches_the_per_row_sql_on_awkward_values() -> None:
    direction = ["in", "out", None, " NA ", "in", 'say "hi"\\', "é\u2028\n", "in", "", "out"]
    outcome = ["ok", None, None, "null", "ok", "x\x01y", "ok", "  ok", "N/A", "ok"]
    page = [None, "/p", None, None, None, "/p", "/q", None, "\t", "/p"]
    table = pa.Table.from_batches(pa.table({"D": direction, "O": outcome, "P": page}).to_batches(max_chunksize=3))
    pairs = [("D", "direction"), ("O", "outcome"), ("P", "pag\u00e9")]
    built = properties_column(table, pairs, MISSING)
    assert [len(c) for c in built.chunks] == [len(c) for c in table.column(0).chunks]
    assert built.to_pylist() == _sql_reference(table, pairs)
    assert built.to_pylist()[2] is None  # nothing present: NULL, not "{}"


def test_properties_with_many_distinct_values_recode_instead_of_overflowing() -> None:
    rows = 3000
    columns = {f"C{i}": [f"v{(r * (i + 7)) % 2999}" if r % 11 else None for r in range(rows)] for i in range(7)}
    table = pa.table(columns)
    pairs = [(name, name.lower()) for name in columns]
    assert properties_column(table, pairs, MISSING).to_pylist() == _sql_reference(table, pairs)


def test_batch_keys_unique_looks_at_good_rows_only_and_never_pairs_null_keys() -> None:
    from leadops.crm.loader import batch_keys_unique

    rows = pa.table({"activity_id": ["a", "b", "a", None, None], "_check": [None, None, 3, None, None]})
    assert batch_keys_unique(rows, "activity_id", checked=True)  # the second "a" broke a check: not loaded
    assert not batch_keys_unique(rows, "activity_id", checked=False)
    twice = pa.table({"activity_id": ["a", "b", "b"], "_check": pa.array([None, None, None], pa.int32())})
    assert not batch_keys_unique(twice, "activity_id", checked=True)


def test_batch_keys_unique_agrees_with_a_set_on_sorted_shuffled_and_repeated_keys() -> None:
    import numpy as np

    from leadops.crm.loader import batch_keys_unique

    rng = np.random.default_rng(5)
    for trial in range(60):
        n = int(rng.integers(0, 400))
        keys: list[str | None] = [f"K{v:05d}" for v in rng.integers(0, 2 * n + 2 if trial % 3 else 10**6, n)]
        if trial % 2:
            keys = sorted(set(k for k in keys if k is not None))  # sorted: strictly increasing, or with a repeat
            if trial % 4 == 1 and keys:
                keys.insert(int(rng.integers(0, len(keys))), keys[int(rng.integers(0, len(keys)))])
        for i in rng.integers(0, max(1, len(keys)), 3 if keys else 0):
            keys[int(i)] = None
        checks = [None if rng.random() < 0.9 else 1 for _ in keys]
        half = len(keys) // 2  # two chunks, as the mapped batches come
        table = pa.Table.from_batches(
            [
                pa.record_batch(
                    {"k": pa.array(keys[:half], pa.string()), "_check": pa.array(checks[:half], pa.int32())}
                ),
                pa.record_batch(
                    {"k": pa.array(keys[half:], pa.string()), "_check": pa.array(checks[half:], pa.int32())}
                ),
            ]
        )
        for checked in (True, False):
            good = [k for k, c in zip(keys, checks, strict=True) if k is not None and (c is None or not checked)]
            assert batch_keys_unique(table, "k", checked=checked) == (len(set(good)) == len(good)), (trial, checked)


def test_good_keys_come_in_source_row_order_so_sorted_exports_need_no_hashing() -> None:
    import numpy as np

    from leadops.crm import loader

    rng = np.random.default_rng(11)
    for trial in range(40):
        n = int(rng.integers(2, 3000))
        keys = [f"ACT-{v:09d}" for v in np.sort(rng.choice(10 * n, n, replace=False))]
        if trial % 3 == 1:  # one key repeated
            at = int(rng.integers(1, n))
            keys[at] = keys[int(rng.integers(0, at))]
        checks = [None if rng.random() < 0.95 else 2 for _ in keys]
        cuts = sorted({0, n, *(int(c) for c in rng.integers(0, n, int(rng.integers(1, 12))))})
        runs = [list(range(a, b)) for a, b in itertools.pairwise(cuts)]
        order = [i for r in rng.permutation(len(runs)) for i in runs[int(r)]]  # runs as DuckDB's threads hand them
        mapped = pa.table({
            "k": pa.array([keys[i] for i in order], pa.string()),
            "_row": pa.array([i + 1 for i in order], pa.int64()),
            "_check": pa.array([checks[i] for i in order], pa.int32()),
        })  # fmt: skip
        good = [k for k, c in zip(keys, checks, strict=True) if c is None]
        got = loader.good_keys(mapped, "k", checked=True)
        assert got.to_pylist() == good, trial
        assert loader.keys_distinct(got) == (len(set(good)) == len(good)), trial
        if len(set(good)) == len(good) and len(good) > 1:
            assert pc.all(pc.less(got.slice(0, len(got) - 1), got.slice(1))).as_py(), "no hashing needed"
