"""few_checkpoints: DuckDB keeps a long run of small commits in its WAL, then folds them in once and restores the
setting; a size that is not a size never reaches SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadops.errors import WarehouseError
from leadops.warehouse import open_warehouse


def _setting(wh: object) -> str:
    return str(wh.scalar("SELECT current_setting('checkpoint_threshold')"))  # type: ignore[attr-defined]


def _wal(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_commits_stay_in_the_wal_inside_and_are_checkpointed_at_the_end(tmp_path: Path) -> None:
    wh = open_warehouse("duckdb:///w.duckdb", tmp_path)
    wal = tmp_path / "w.duckdb.wal"
    before = _setting(wh)
    wh.execute("CREATE TABLE t AS SELECT range AS i, printf('row %09d', range) AS s FROM range(400000)")
    wh.execute("CHECKPOINT")

    def nights(n: int) -> list[int]:
        sizes = []
        for _ in range(n):  # each commit logs ~11 MB of updates
            with wh.transaction():
                wh.execute("UPDATE t SET s = s || 'x'")
            sizes.append(_wal(wal))
        return sizes

    try:
        outside = nights(3)
        with wh.few_checkpoints("1GB"):
            assert _setting(wh) != before
            inside = nights(3)
        assert _setting(wh) == before
        assert min(outside) < 16 * 2**20  # DuckDB's default folds the log in once it passes 16 MB
        assert inside[-1] > 30 * 2**20 and inside == sorted(inside)  # kept growing
        assert _wal(wal) == 0  # folded in at the end
        assert wh.scalar("SELECT min(length(s)) FROM t") == len("row 000000000") + 6
    finally:
        wh.close()


def test_a_size_that_is_not_a_size_is_refused(tmp_path: Path) -> None:
    wh = open_warehouse("duckdb:///w.duckdb", tmp_path)
    try:
        with pytest.raises(WarehouseError, match="checkpoint size"), wh.few_checkpoints("1GB'; DROP TABLE x; --"):
            pass
    finally:
        wh.close()
