"""Helpers of the example tests: tmp copies of examples/ with the real data copied in, ingest, train, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadops.cli import app
from leadops.config import Settings, load
from leadops.crm import ingest
from leadops.modeling.train import train_model
from leadops.warehouse.connection import open_warehouse

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
# the machine is shared: LightGBM gets two threads whatever the host has
THREADS = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2"}
runner = CliRunner()


def example_workspace(base: Path, example: str, data_file: str | None = None) -> Path:
    """A copy of examples/<example>/leadops.yaml in `base`, with the shared data file copied into source/."""
    ws = base / example
    (ws / "source").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / example / "leadops.yaml", ws / "leadops.yaml")
    if data_file is not None:
        source = SHARED_DATA / data_file
        if not source.exists():
            pytest.skip(f"{source} is not available")
        shutil.copy(source, ws / "source" / data_file)
    return ws


def settings_for(ws: Path, **overrides: str) -> Settings:
    """The workspace's settings with LEADOPS_* overrides (as a user would set them) and two LightGBM threads."""
    return load(ws, environ={**THREADS, **overrides})


def ingested(ws: Path) -> Path:
    """Run ingest on the workspace (every row must load) and return it."""
    settings = settings_for(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        report = ingest(settings, wh)
    assert report.rows_quarantined == 0 and report.rows_loaded == report.rows_read
    return ws


def train(ws: Path, model: str, **overrides: str) -> dict[str, Any]:
    """`leadops train --model MODEL` without registering: what the command reports."""
    settings = settings_for(ws, **overrides)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        return train_model(settings, wh, model, register=False).to_dict()


def cli(*args: str) -> dict[str, Any]:
    """Run `leadops ARGS --json` in-process; it must exit 0 and print one JSON object."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data
