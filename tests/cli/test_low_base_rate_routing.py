"""On a flat export with a 10 % base rate, the default path puts leads in the Sales queue, each with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()

CONFIG = """
name: low base rate (flat export)
warehouse: {url: "duckdb:///warehouse.duckdb"}
sources:
  - name: flat
    table: leads
    path: source/flat.csv
    id_from_row: true
    attributes: rest
    flat_outcome: {column: converted, true_values: ["1"]}
contracts:
  leads: {required: [lead_id]}
features:
  definitions:
    - {name: visits, label: "website visits", key: visits}
    - {name: demo, label: "requested a demo", key: demo, type: boolean}
    - {name: size, label: "company size", key: size, type: categorical}
training:
  label: {outcome: converted}
  split: {method: random, train: 0.6, validation: 0.15, test: 0.25, seed: 1}
models:
  scorecard:
    type: scorecard
    calibration: {method: platt}
    grades: {top: {A: 0.1, B: 0.3, C: 0.6}, otherwise: D}
business:
  capacity: {per_day: 25, share: 0.05}
"""


def call(*args: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("lowrate")
    (ws / "source").mkdir()
    rng = np.random.default_rng(11)
    n = 5_000
    visits = rng.poisson(4, n)
    demo = rng.random(n) < 0.12
    size = rng.choice(["smb", "mid", "enterprise"], n, p=[0.6, 0.3, 0.1])
    logit = -3.0 + 0.12 * visits + 1.3 * demo + np.where(size == "enterprise", 0.8, 0.0)
    converted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"visits": visits, "demo": demo.astype(int), "size": size, "converted": converted})
    frame.to_csv(ws / "source" / "flat.csv", index=False)
    (ws / "leadops.yaml").write_text(CONFIG)
    call("ingest", "--workspace", str(ws))
    return ws


@pytest.mark.slow
def test_the_default_path_on_a_ten_percent_base_rate_routes_leads_to_sales_with_reasons(workspace: Path) -> None:
    ws = str(workspace)
    rate = pd.read_csv(workspace / "source" / "flat.csv")["converted"].mean()
    assert 0.08 < rate < 0.12
    trained = call("train", "--model", "scorecard", "--workspace", ws)
    routing = trained["routing"]
    assert routing["method"] == "capacity" and routing["sample"] == "validation"
    assert trained["mql_threshold"] == routing["mql_threshold"] < 70
    manifest = json.loads(Path(trained["artifact"], "manifest.json").read_text())
    assert manifest["bundle"]["extras"]["routing"]["mql_threshold"] == trained["mql_threshold"], "stored with it"
    call("models", "promote", str(trained["version"]), "--workspace", ws)

    run = call("score", "--workspace", ws, "--as-of", "2026-06-01")
    assert run["routing"]["mql_threshold"] == trained["mql_threshold"]
    assert 0 < run["routed_sales"] <= 25 and run["checks"]["routed_sales"]["passed"] and not run["warnings"]

    import duckdb

    con = duckdb.connect(str(workspace / "warehouse.duckdb"), read_only=True)
    try:
        queue = con.sql("SELECT count(*), count(reason_text), min(score) FROM current_sales_queue").fetchall()[0]
        reasons = dict(con.sql("SELECT route_reason, count(*) FROM current_scores GROUP BY 1").fetchall())
        above_70 = con.sql("SELECT count(*) FROM current_scores WHERE score >= 70").fetchall()[0][0]
    finally:
        con.close()
    assert queue[0] == run["routed_sales"] and queue[1] == queue[0], "every lead with Sales has its reasons"
    assert queue[2] >= trained["mql_threshold"]
    assert above_70 < run["routed_sales"], "the old fixed threshold of 70 would have left Sales (nearly) empty"
    assert any(why.startswith("below the MQL threshold") for why in reasons)

    strict = call("score", "--workspace", ws, "--as-of", "2026-06-01", env={"LEADOPS_BUSINESS__MQL_THRESHOLD": "99.5"})
    assert strict["routed_sales"] == 0 and strict["checks"]["routed_sales"]["passed"] is False
    assert "the Sales queue is empty" in strict["warnings"][0]
