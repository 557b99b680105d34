"""The `business:` section reaches every part through the CLI: the simulated Sales team works its capacity."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def test_simulate_gives_the_fictional_sales_team_the_declared_capacity(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--json"]).exit_code == 0
    args = ["simulate", "--workspace", str(ws), "--leads", "400", "--days", "20", "--json"]
    env = {"LEADOPS_BUSINESS__CAPACITY__REGIONS": "{North America: 1, EMEA: 1, APAC: 1, LATAM: 2}"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    manifest = json.loads((ws / "ground_truth" / "manifest.json").read_text())
    assert manifest["parameters"]["sales_capacity_per_weekday"] == 5, "the sum of the declared territories"
