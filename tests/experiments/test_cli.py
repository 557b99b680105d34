"""`leadops experiment list --json`: declared experiments appear with their phase, arms and units per arm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


def test_plan_json_gives_n_per_arm_for_a_relative_mde_and_bad_input_exits_23() -> None:
    from leadops.experiments.stats import sample_size_proportions

    result = runner.invoke(app, ["experiment", "plan", "--baseline-rate", "0.1", "--mde", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["n_per_arm"] == sample_size_proportions(0.1, 0.1) == 14_751
    assert body["treatment_rate"] == pytest.approx(0.11)
    bad = runner.invoke(app, ["experiment", "plan", "--baseline-rate", "1.5", "--mde", "0.1", "--json"])
    assert bad.exit_code == 23
    assert "--baseline-rate" in json.loads(bad.stdout)["error"]


def test_report_of_an_unknown_experiment_exits_24(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--json"]).exit_code == 0
    result = runner.invoke(app, ["experiment", "report", "nope", "--workspace", str(ws), "--json"])
    assert result.exit_code == 24, result.output
    assert "nope" in json.loads(result.stdout)["error"]
