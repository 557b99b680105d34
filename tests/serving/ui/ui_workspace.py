"""The simulated company the dashboard tests look at: faulty rows quarantined, two model versions, three nightly
runs a week apart, each monitored, so every page has something to show."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leadops.cli import app as cli_app

ENV = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2", "LEADOPS_ROUTING__ASSIGN_TO_OWNER": "true"}
"""Two threads for LightGBM; new Sales leads go to their CRM owner, so the queue has reps to filter by."""
RUN_DAYS = (14, 7, 0)
"""Nightly runs at these many days before the simulation's end (oldest first)."""
runner = CliRunner()


def cli(*args: str) -> dict[str, Any]:
    """Run a leadops command with --json; the parsed object (the command must succeed)."""
    result = runner.invoke(cli_app, [*args, "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def build(ws: Path, *, leads: int = 1500, seed: int = 23) -> tuple[list[str], dict[str, Any]]:
    """Make the workspace; the published run ids (oldest first) and what the report-writing commands printed."""
    where = ("--workspace", str(ws))
    cli("init", str(ws))
    cli("simulate", *where, "--scenario", "faults", "--fault-rate", "0.01", "--leads", str(leads), "--seed", str(seed))
    cli("ingest", *where)
    outputs: dict[str, Any] = {"train": {1: cli("train", "--model", "points", *where)}}
    outputs["train"][2] = cli("train", "--model", "icp_fit", *where)
    cli("models", "promote", "1", *where, "--force", "--reason", "first champion of the test company")
    manifest = json.loads((ws / "ground_truth" / "manifest.json").read_text())
    end = datetime.fromisoformat(str(manifest["end"])[:10]) + timedelta(hours=6)
    start = end - timedelta(days=EXPERIMENT_DAYS)
    with (ws / "leadops.yaml").open("a") as config:
        config.write(EXPERIMENT.format(start=start.isoformat()))
    for days in range(30, EXPERIMENT_DAYS - RUN_DAYS[0], 30):  # the nightly runs before the ones kept here
        assign_leads(ws, start + timedelta(days=days))
    runs = []
    for days in RUN_DAYS:
        as_of = end - timedelta(days=days)
        run_id = str(cli("score", *where, "--as-of", as_of.isoformat())["run_id"])
        runs.append(run_id)
        outputs["monitor"] = cli("monitor", *where, "--as-of", as_of.isoformat())
        assign_leads(ws, as_of)
        html = () if days == RUN_DAYS[-1] else ("--no-html",)  # the latest readout writes its report
        report = ("experiment", "report", "icp_vs_points", *where, "--as-of", as_of.isoformat(), *html)
        outputs["experiment"] = cli(*report)
    outputs["evaluate"] = {v: cli("evaluate", str(v), *where) for v in (1, 2)}
    outputs["compare"] = cli("compare", "1", "2", *where)
    return runs, outputs


EXPERIMENT = """
experiments:
  - name: icp_vs_points
    arms:
      - {{name: control}}
      - {{name: icp, model: "2"}}
    population: new
    start: {start}
    primary_kpi: {{metric: conversion_within_days, window_days: 30}}
"""
"""An A/B test of the learned ICP fit (v2) against the champion's rules."""
EXPERIMENT_DAYS = 180
"""The experiment starts this many days before the simulation ends, so many of its units have matured."""


def assign_leads(ws: Path, at: datetime) -> None:
    """Log every lead there is at `at` into the experiment's arms (sticky), as the nightly job does."""
    from leadops.config import load
    from leadops.experiments import store
    from leadops.warehouse import open_warehouse

    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        store.sync(wh, settings.experiments, now=at)
        leads = wh.arrow("SELECT lead_id, account_id, created_at FROM leads WHERE created_at <= ?", [at])
        with wh.transaction():
            store.assign(wh, settings.experiments[0], leads, at=at)
