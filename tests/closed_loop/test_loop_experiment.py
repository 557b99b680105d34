"""A year in the closed loop: the predictive model against the point rules, as an A/B experiment; the readout's lift
is checked against the ground truth's (each arm's leads' true probabilities under the contacts Sales made)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats
from typer.testing import CliRunner

from leadops import config
from leadops.cli import app
from leadops.closed_loop import run_closed_loop
from leadops.warehouse import open_warehouse
from leadops.workspace import init_workspace

# a 200-day history, two models trained, then 365 simulated days: ~10-20 min on a quiet machine, an hour under load
pytestmark = [pytest.mark.slow, pytest.mark.timeout(7200)]
pytest.importorskip("leadops.jobs.arms", reason="the nightly job does not honour experiment assignments yet")

HISTORY_DAYS = 200
HISTORY_START = date(2024, 1, 1)
NAME = "predictive_vs_points"


def _workspace(path: Path) -> Path:
    init_workspace(path)
    start = HISTORY_START + timedelta(days=HISTORY_DAYS)
    text = (path / "leadops.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "simulate:\n",
        f"simulate:\n  closed_loop:\n    history_days: {HISTORY_DAYS}\n    history_start: {HISTORY_START}\n"
        "    models: [predictive, points]\n",
        1,
    )
    text = text.replace("    window_days: 120 ", "    window_days: 60 ", 1)
    text = text.replace("    by: region ", "    by: total ", 1).replace("    per_day: 10 ", "    per_day: 12 ", 1)
    text += f"""
experiments:
  - name: {NAME}
    arms:
      - {{name: points, model: challenger}}
      - {{name: predictive, model: champion}}
    control: points
    unit: lead
    start: {start.isoformat()}T00:00:00
    population: new
    primary_kpi: {{metric: conversion_within_days, window_days: 90}}
    cuped: false
"""
    (path / "leadops.yaml").write_text(text, encoding="utf-8")
    return path


def test_a_year_of_predictive_against_points_the_readouts_lift_matches_the_truth(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    settings = config.load(ws)
    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        result = run_closed_loop(settings, warehouse, days=365, leads_per_day=60.0, seed=21)
    finally:
        warehouse.close()
    assert result.runs_published > 250 and result.contacts > 0
    truth = result.arms[NAME]
    assert truth["control"] == "points"
    end = result.end.isoformat()
    out = CliRunner().invoke(app, ["experiment", "report", NAME, "--as-of", f"{end}T00:00:00", "--no-html",
                                   "--workspace", str(ws), "--json"])  # fmt: skip
    assert out.exit_code == 0, out.output
    readout = json.loads(out.stdout)
    lift = readout["lift"]
    true_lift = truth["arms"]["predictive"]["mature_true_lift"]
    print(f"readout lift {lift}, true lift {true_lift:+.4f}, arms {truth['arms']}")
    assert lift["low"] <= true_lift <= lift["high"], (lift, true_lift)
    # each arm's observed rate is a binomial draw around its true rate (common random numbers aside)
    rows = pq.read_table(ws / "ground_truth" / "closed_loop" / "leads_truth.parquet").to_pandas()
    assert len(rows) == result.leads
    for arm in ("points", "predictive"):
        a = truth["arms"][arm]
        assert a["mature_units"] > 3000
        mine = next(x for x in readout["arms"] if x["name"] == arm)
        n, rate = int(mine["mature_units"]), float(mine["kpi"])
        assert n == a["mature_units"]  # the readout counts the same units the truth does
        window_share = stats.lognorm(s=0.6, scale=30.0).cdf(90 - 15 - 1)  # conversions landing within 90 days
        expected = a["mature_true_rate"] * window_share
        assert stats.binomtest(round(rate * n), n, expected).pvalue > 0.001, (arm, rate, expected)
    assert np.isfinite(result.expected_conversions)
