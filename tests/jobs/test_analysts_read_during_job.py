"""Analysts read while the job writes: a BI session on the analysts' copy never blocks the job, nor it them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from jobs_fakes import AS_OF, make_settings

from leadops.jobs import checkpoints, score_job
from leadops.warehouse import Warehouse
from leadops.warehouse.snapshot import AnalyticsCopyError, copy_path, open_copy, publish_copy

READER = """
import json, sys
import duckdb
path = sys.argv[1]
con = duckdb.connect(path, read_only=True)  # what DBeaver does with a read-only DuckDB connection
def look(c):
    copy = c.sql("SELECT run_id FROM analytics_copy_info").fetchall()[0][0]
    current = c.sql("SELECT run_id FROM current_run").fetchall()[0][0]
    scores = c.sql("SELECT count(*), count(DISTINCT run_id) FROM current_scores").fetchall()[0]
    queue = c.sql("SELECT DISTINCT run_id FROM current_sales_queue").fetchall()
    return {"copy": copy, "current": current, "scores": scores[0], "runs": scores[1], "queue": queue}
print(json.dumps(look(con)), flush=True)
for line in sys.stdin:
    if line.strip() == "reconnect":
        con.close()
        con = duckdb.connect(path, read_only=True)
    print(json.dumps(look(con)), flush=True)
"""


class Reader:
    """An analyst's session in a separate process, holding one read-only connection until told to reconnect."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.first = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the reader died (exit {self.proc.poll()})"
        return dict(json.loads(line))

    def ask(self, command: str = "look") -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _fresh_session(path: Path) -> str:
    """A new analyst connecting in the middle of the job: the run id the copy shows them."""
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.sql('SELECT run_id FROM current_run').fetchall()[0][0])"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _settings(tmp_path: Path) -> Any:
    return make_settings(tmp_path, scoring={"chunk_size": 70}, business={"mql_threshold": 40})


@pytest.mark.slow
def test_a_reader_holding_the_copy_through_a_whole_nightly_run_sees_the_old_run_then_the_new_and_the_job_publishes(
    wh: Warehouse, tmp_path: Path, feats: Any, models: Any
) -> None:
    first = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    copy = tmp_path / "analytics.duckdb"
    assert first.analytics_copy == str(copy) and copy.exists()
    reader = Reader(copy)
    try:
        old = {"copy": first.run_id, "current": first.run_id, "scores": first.leads_scored, "runs": 1}
        assert {k: reader.first[k] for k in old} == old
        assert reader.first["queue"] == [[first.run_id]]
        seen: list[dict[str, Any]] = []
        newcomers: list[str] = []

        def look(name: str) -> None:
            seen.append(reader.ask())
            if name == "routed":  # a second analyst opens the copy while the job holds the warehouse
                newcomers.append(_fresh_session(copy))

        checkpoints.set_hook(look)
        try:
            second = score_job(_settings(tmp_path), wh, as_of=AS_OF + timedelta(days=1), models=models, features=feats)
        finally:
            checkpoints.set_hook(None)
        assert second.status == "published" and second.run_id != first.run_id and not second.warnings
        assert len(seen) >= 5  # started, selected, routed, reasons, exports, published...
        assert all({k: s[k] for k in old} == old for s in seen)  # the whole run long: the last published run, whole
        assert newcomers == [first.run_id]
        held = reader.ask()
        assert {k: held[k] for k in old} == old  # an open session keeps the run it opened, consistent to the end
        renewed = reader.ask("reconnect")
        assert renewed["copy"] == renewed["current"] == second.run_id
        assert renewed["scores"] == second.leads_scored and renewed["runs"] == 1
        assert renewed["queue"] == [[second.run_id]]
    finally:
        reader.close()
    # the copy holds what the warehouse holds: the same rows, table for table
    with open_copy(copy) as analytics:
        for sql in ("SELECT * FROM current_scores ORDER BY lead_id", "SELECT * FROM score_runs ORDER BY run_id"):
            assert analytics.rows(sql) == wh.rows(sql)


def test_the_copy_is_read_only_and_an_open_warehouse_writer_does_not_stop_analysts_opening_it(
    wh: Warehouse, tmp_path: Path, feats: Any, models: Any
) -> None:
    score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    copy = tmp_path / "analytics.duckdb"
    assert copy.stat().st_mode & 0o222 == 0  # no write bit: a BI tool cannot open it read-write (as non-root)
    code = "import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True)"
    held = subprocess.run([sys.executable, "-c", code, str(wh.path)], capture_output=True, text=True, timeout=60)
    # the job still holds its own file after publishing the copy (a copy by this process would drop the lock)
    assert held.returncode != 0 and "lock" in held.stderr.lower()
    assert _fresh_session(copy) == wh.scalar("SELECT run_id FROM current_run")
    with open_copy(copy) as analytics, pytest.raises(Exception, match="read-only"):
        analytics.execute("DELETE FROM lead_scores")


def test_a_rerun_of_a_published_run_restores_a_deleted_copy_and_a_killed_copy_leaves_no_partial_file(
    wh: Warehouse, tmp_path: Path, feats: Any, models: Any
) -> None:
    first = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    copy = tmp_path / "analytics.duckdb"
    copy.unlink()
    again = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    assert again.status == "already published" and again.analytics_copy == str(copy)
    with open_copy(copy) as analytics:
        assert analytics.scalar("SELECT run_id FROM analytics_copy_info") == first.run_id
    before = copy.read_bytes()
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "analytics.duckdb").mkdir()  # a directory where the file should go: the rename must fail
    with pytest.raises(AnalyticsCopyError, match=r"blocked/analytics\.duckdb"):
        publish_copy(wh, blocker / "analytics.duckdb")
    assert sorted(p.name for p in blocker.iterdir()) == ["analytics.duckdb"]  # no temporary file left behind
    assert copy.read_bytes() == before


def test_the_copy_cannot_be_the_warehouse_file_and_is_off_for_an_empty_setting(wh: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(AnalyticsCopyError, match="names the warehouse file itself"):
        copy_path(wh, "warehouse.duckdb", tmp_path)
    assert copy_path(wh, "", tmp_path) is None
    memory = Warehouse("duckdb:///:memory:")
    assert copy_path(memory, "analytics.duckdb", tmp_path) is None
    memory.close()


def test_erasing_a_lead_rewrites_the_copy_without_it(wh: Warehouse, tmp_path: Path, feats: Any, models: Any) -> None:
    from leadops.crm.erase import erase

    score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    copy = tmp_path / "analytics.duckdb"
    victim = str(wh.scalar("SELECT min(lead_id) FROM current_scores"))
    wh.insert("leads", pa.table({"lead_id": ["Lnever-scored"]}))
    result = erase(wh, [victim], workspace=tmp_path, exports_dir=tmp_path / "exports", analytics_copy=copy)
    assert result["analytics_copy"] == str(copy)
    con = duckdb.connect(str(copy), read_only=True)
    try:
        for table in ("leads", "activities", "lead_scores", "sales_queue", "nurture_queue"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE lead_id = ?", [victim]).fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM leads WHERE lead_id = 'Lnever-scored'").fetchall() == [(1,)]
    finally:
        con.close()


def test_a_copy_that_cannot_be_written_is_a_warning_of_a_published_run_not_a_failed_run(
    wh: Warehouse, tmp_path: Path, feats: Any, models: Any
) -> None:
    (tmp_path / "analytics.duckdb").mkdir()  # something in the way: the rename fails
    result = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    assert result.status == "published" and result.analytics_copy is None
    assert [w for w in result.warnings if "analysts' copy was not refreshed" in w]
    stored = str(wh.scalar("SELECT warnings FROM score_runs WHERE run_id = ?", [result.run_id]))
    assert "analysts' copy was not refreshed" in stored and "analytics.duckdb" in stored
    assert wh.scalar("SELECT count(*) FROM current_scores") == result.leads_scored
