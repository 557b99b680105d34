"""`leadops experiment list --json`: declared experiments appear with their phase, arms and units per arm."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def test_experiment_list_shows_declared_experiments_and_unknown_names_fail_with_24(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--json"]).exit_code == 0
    with (ws / "leadops.yaml").open("a", encoding="utf-8") as fh:
        fh.write(
            "\nexperiments:\n  - name: routing-ab\n    start: 2026-01-01\n"
            "    arms: [{name: control}, {name: capacity, routing: capacity, weight: 2}]\n"
        )
    result = runner.invoke(app, ["experiment", "list", "--workspace", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["experiments"]
    assert [e["name"] for e in listed] == ["routing-ab"]
    assert listed[0]["control"] == "control" and listed[0]["arms"][1]["routing"] == "capacity"
    assert listed[0]["units"] == {}
