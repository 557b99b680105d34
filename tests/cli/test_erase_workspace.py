"""`leadops erase` on a scored workspace: afterwards no table row and no file in the workspace mentions the lead."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def call(*args: str) -> dict:  # type: ignore[type-arg]
    """Run `leadops ARGS --json` in-process and parse its one JSON object."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _files_mentioning(root: Path, needles: list[str]) -> list[str]:
    """Every file under root whose bytes hold one of the needles (what `grep -rl` would print)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                found.append(str(path.relative_to(root)))
    return sorted(found)


def _rows_mentioning(warehouse: Path, needles: list[str]) -> dict[str, int]:
    """Rows of every base table (any column, as text) that mention one of the needles."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        base = "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        tables = [r[0] for r in con.execute(base).fetchall()]
        hits = {}
        for table in tables:
            names = "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            columns = [r[0] for r in con.execute(names, [table]).fetchall()]
            text = " || '|' || ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in columns)
            where = " OR ".join(f"({text}) LIKE ?" for _ in needles)
            n = con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', [f"%{x}%" for x in needles]).fetchall()
            if n[0][0]:
                hits[table] = n[0][0]
        return hits
    finally:
        con.close()


@pytest.mark.slow
def test_erase_on_a_scored_workspace_leaves_no_row_and_no_file_mentioning_the_lead(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    call("init", str(ws))
    call("simulate", "--workspace", str(ws), "--leads", "1500", "--days", "400", "--seed", "3")
    leads_csv = ws / "source" / "leads.csv"
    lines = leads_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    # a lead that will be scored (created recently, still open), and a second, broken row of it for quarantine
    row = lines[-5]
    lead_id, email = row.split(",")[0], row.split(",")[3]
    broken = row.replace(row.split(",")[4], "Grand Vizier", 1)
    leads_csv.write_text("".join([*lines, broken]), encoding="utf-8")

    ingested = call("ingest", "--workspace", str(ws))
    assert ingested["rows_quarantined"] >= 1
    call("train", "--model", "points", "--workspace", str(ws))
    call("models", "promote", "points", "--force", "--reason", "erase test", "--workspace", str(ws))
    scored = call("score", "--workspace", str(ws))
    assert scored["status"] == "published"
    call("features", "build", "--workspace", str(ws))

    needles = [lead_id, email]
    before_rows = _rows_mentioning(ws / "warehouse.duckdb", [lead_id])
    assert {"leads", "lead_scores", "quarantine", "feature_snapshots"} <= set(before_rows), before_rows
    assert any(p.startswith("exports/") for p in _files_mentioning(ws, needles))
    quarantined = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    raw = quarantined.execute("SELECT CAST(raw AS VARCHAR) FROM quarantine").fetchall()
    quarantined.close()
    assert not any(email in r[0] for r in raw), "the email is masked in quarantine (keep_email: false)"

    result = call("erase", lead_id, "--rewrite-sources", "--workspace", str(ws))
    assert result["tables"]["leads"] == 1 and result["tables"]["quarantine"] >= 1
    assert any("exports" in f for f in result["files"]["rewritten"])
    assert _rows_mentioning(ws / "warehouse.duckdb", needles) == {}
    assert _files_mentioning(ws, needles) == []

    again = call("erase", lead_id, "--workspace", str(ws))
    assert again["nothing_to_erase"] is True and again["rows_removed"] == 0
    con = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    log = con.execute("SELECT actor, leads_requested, rows_removed FROM erasure_log ORDER BY erased_at").fetchall()
    views = con.execute("SELECT count(*) FROM current_scores").fetchall()[0][0]
    con.close()
    assert [r[2] for r in log] == [result["rows_removed"], 0] and all(r[0] for r in log)
    assert views == scored["leads_scored"] - 1, "views and keys survive the compaction of the warehouse file"
    rescored = call("score", "--workspace", str(ws))
    assert rescored["status"] in ("published", "already published")

    # erased without rewriting the CRM export: the export still lists the person, the next ingest leaves them out
    other = lines[-6].split(",")[0]
    kept = call("erase", other, "--workspace", str(ws))
    assert kept["files"]["still_mentioning"] and "warning" in kept
    reloaded = call("ingest", "--workspace", str(ws))
    assert sum(s["filtered_reasons"].get("erased", 0) for s in reloaded["per_source"]) >= 1
    assert _rows_mentioning(ws / "warehouse.duckdb", [other, lead_id]) == {}

    purged = call("purge", "--dry-run", "--workspace", str(ws))
    assert purged["dry_run"] is True and purged["message"] == "nothing is past its retention"
