"""A monitored workspace: the fictional company, a LightGBM champion, two published nightly runs a week apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()
FIRST, SECOND = "2025-09-01", "2025-09-08"


def cli(*args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    """Run a leadops command with --json; the parsed object."""
    result = runner.invoke(app, [*args, "--json"], env={"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2"})
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 leads of 2025, the champion trained on them, nightly runs on FIRST and SECOND."""
    ws = tmp_path_factory.mktemp("monitor") / "ws"
    cli("init", str(ws))
    cli("simulate", "--workspace", str(ws), "--leads", "3000", "--seed", "21")
    cli("ingest", "--workspace", str(ws))
    trained = cli("train", "--model", "predictive", "--workspace", str(ws))
    cli("models", "promote", str(trained["version"]), "--workspace", str(ws), "--force", "--reason", "tests")
    for day in (FIRST, SECOND):
        cli("score", "--workspace", str(ws), "--as-of", day)
    return ws
