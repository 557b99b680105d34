"""The CLI contract: every command takes --workspace and --json, prints one JSON object, exits non-zero on error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def call(*args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    """Run `leadops ARGS --json` in-process and parse its one JSON object."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else {}


@pytest.fixture(scope="module")
def faulty_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("faults") / "ws"
    call("init", str(ws))
    return ws


def test_init_simulate_ingest_quarantines_every_broken_row_and_reingest_adds_nothing(faulty_workspace: Path) -> None:
    ws = str(faulty_workspace)
    sim = call("simulate", "--workspace", ws, "--scenario", "faults", "--leads", "3000", "--fault-rate", "0.03")
    for key in ("leads", "accounts", "activities", "outcomes", "faulty_rows"):
        assert key in sim
    assert sim["faulty_rows"] > 0
    first = call("ingest", "--workspace", ws)
    for key in ("rows_read", "rows_loaded", "rows_quarantined", "quarantine_reasons", "tables"):
        assert key in first
    faults = pd.read_csv(faulty_workspace / "ground_truth" / "faults.csv")
    assert first["rows_quarantined"] == len(faults)
    parts = ("rows_loaded", "rows_unchanged", "rows_quarantined", "rows_filtered")
    assert first["rows_read"] == sum(first[k] for k in parts)
    second = call("ingest", "--workspace", ws)
    assert second["tables"] == first["tables"]
    assert (second["rows_loaded"], second["rows_unchanged"]) == (0, first["rows_loaded"])

    import duckdb

    con = duckdb.connect(str(faulty_workspace / "warehouse.duckdb"), read_only=True)
    quarantined = con.sql("SELECT count(*), count(DISTINCT reason) FROM quarantine").fetchall()[0]
    con.close()
    assert quarantined[0] == len(faults), "re-ingest must not duplicate quarantine rows"
    assert quarantined[1] >= 5, "faults of many kinds are quarantined with their own reasons"


def test_config_show_json_redacts_and_reflects_overrides(
    faulty_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADOPS_SIMULATE__SEED", "7")
    shown = call("config", "show", "--workspace", str(faulty_workspace))
    assert shown["simulate"]["seed"] == 7


def test_errors_are_one_line_with_a_nonzero_exit(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", "--workspace", str(tmp_path), "--json"])
    assert result.exit_code != 0
    assert "leadops init" in result.output
    assert result.stdout.strip() == "" or "Traceback" not in result.output


def test_unknown_scenario_names_the_allowed_ones(faulty_workspace: Path) -> None:
    result = runner.invoke(app, ["simulate", "--workspace", str(faulty_workspace), "--scenario", "nope", "--json"])
    assert result.exit_code != 0
    assert "baseline" in result.output and "tutorial" in result.output
