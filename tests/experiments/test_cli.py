"""`leadops experiment list --json`: declared experiments appear with their phase, arms and units per arm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def _workspace(tmp_path: Path, experiments: str = "") -> Path:
    """An initialised workspace with `experiments` (YAML lines) appended to its leadops.yaml."""
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--json"]).exit_code == 0
    if experiments:
        with (ws / "leadops.yaml").open("a", encoding="utf-8") as fh:
            fh.write("\nexperiments:\n" + experiments)
    return ws


def test_experiment_list_shows_declared_experiments_and_unknown_names_fail_with_24(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path,
        "  - name: routing-ab\n    start: 2026-01-01\n"
        "    arms: [{name: control}, {name: capacity, routing: capacity, weight: 2}]\n",
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
    ws = _workspace(tmp_path)
    result = runner.invoke(app, ["experiment", "report", "nope", "--workspace", str(ws), "--json"])
    assert result.exit_code == 24, result.output
    assert "nope" in json.loads(result.stdout)["error"]


def test_experiment_stop_is_audited_idempotent_and_its_errors_have_their_codes(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path,
        "  - {name: ab, start: 2026-01-01, arms: [{name: control}, {name: t, routing: capacity}]}\n"
        "  - {name: later, start: 2026-06-01, arms: [{name: control}, {name: t, routing: capacity}]}\n",
    )
    base = ["experiment", "stop", "--workspace", str(ws), "--json"]
    first = runner.invoke(app, [*base, "ab", "--at", "2026-02-01T08:00", "--reason", "SRM alarm"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["changed"] is True and data["phase"] == "stopped"
    assert data["stopped"]["at"] == "2026-02-01T08:00:00" and data["stopped"]["reason"] == "SRM alarm"
    stops = json.loads((ws / ".leadops" / "experiment-stops.json").read_text(encoding="utf-8"))
    assert stops == {"stops": {"ab": "2026-02-01T08:00:00"}}
    again = runner.invoke(app, [*base, "ab"])
    assert again.exit_code == 0 and json.loads(again.stdout)["changed"] is False
    moved = runner.invoke(app, [*base, "ab", "--at", "2026-03-01"])
    assert moved.exit_code == 41 and "already stopped by hand" in json.loads(moved.stdout)["error"]
    early = runner.invoke(app, [*base, "later", "--at", "2026-05-01"])
    assert early.exit_code == 42 and "before its start" in json.loads(early.stdout)["error"]
    assert runner.invoke(app, [*base, "nope"]).exit_code == 24
    bad = runner.invoke(app, [*base, "later", "--at", "soon"])
    assert bad.exit_code == 3 and "--at" in json.loads(bad.stdout)["error"]
    listed = json.loads(runner.invoke(app, ["experiment", "list", "--workspace", str(ws), "--json"]).stdout)
    assert {e["name"]: e["phase"] for e in listed["experiments"]}["ab"] == "stopped"
    text = runner.invoke(app, ["experiment", "stop", "--workspace", str(ws), "ab"])
    assert text.exit_code == 0 and "already stopped" in text.stdout and "SRM alarm" in text.stdout
