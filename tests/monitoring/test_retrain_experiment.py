"""Retraining with action `experiment`: the gated challenger is A/B tested against the champion; the nightly job
assigns leads to it; a 'ship' readout promotes it through the gates, audited, and closes the experiment."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import cli
from leadops import config
from leadops.experiments import store
from leadops.experiments.report import ReportResult
from leadops.experiments.service import act_on_readout
from leadops.warehouse import open_warehouse


@pytest.mark.slow
def test_retrain_starts_an_experiment_and_a_ship_readout_promotes_the_challenger(
    monitored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADOPS_RETRAINING__ACTION", "experiment")
    monkeypatch.setenv("LEADOPS_RETRAINING__EXPERIMENT", '{"days": 14, "challenger_weight": 0.5}')
    out = cli("retrain", "--workspace", str(monitored), "--force", "--as-of", "2025-09-09")
    if not out["gates_passed"]:
        assert out["decision"] == "challenger"
        pytest.skip("the retrained version failed its gates on this data: no experiment to start")
    assert out["decision"] == "experiment" and out["experiment"] == f"retrain-v{out['version']}"
    listed = cli("experiment", "list", "--workspace", str(monitored))["experiments"]
    started = next(e for e in listed if e["name"] == out["experiment"])
    assert started["origin"] == "retraining" and [a["model"] for a in started["arms"]] == [
        str(out["champion_version"]),
        str(out["version"]),
    ]
    cli("score", "--workspace", str(monitored), "--as-of", "2025-09-10")
    report = cli("experiment", "report", out["experiment"], "--workspace", str(monitored), "--as-of", "2025-09-10")
    assert report["recommendation"] == "inconclusive" and "mature" in report["reason"]

    settings = config.load(monitored)
    wh = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        record = store.get_experiment(wh, out["experiment"])
        readout = report | {"comparisons": [report["comparisons"][0] | {"recommendation": "ship", "reason": "test"}]}
        action = act_on_readout(settings, wh, record, ReportResult(readout, None))
        assert action["done"] in ("promoted", "kept")
        assert store.get_experiment(wh, out["experiment"]).decision == (
            "ship" if action["done"] == "promoted" else "keep"
        )
    finally:
        wh.close()
    history = cli("models", "history", "--workspace", str(monitored))["entries"]
    if action["done"] == "promoted":
        last = history[-1]
        assert last["action"] == "promote" and last["version"] == out["version"]
        assert out["experiment"] in last["reason"]
