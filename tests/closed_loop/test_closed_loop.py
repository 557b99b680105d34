"""The closed loop: the real nightly job, Sales working its queue, the day's rows through ingest, the ground truth."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from leadops import config
from leadops.cli import app
from leadops.closed_loop import ClosedLoopError, bootstrap, run_closed_loop
from leadops.warehouse import open_warehouse
from leadops.workspace import init_workspace

DAYS = 8
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]  # one fixture: a history trained, two 8-day loops
LEADS_PER_DAY = 40.0
CAPACITY = 10
SEED = 5


def make_workspace(path: Path) -> Path:
    """A small workspace: a 100-day history, the point rules as champion, Sales taking 10 new leads a day."""
    init_workspace(path)
    text = (path / "leadops.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "simulate:\n",
        "simulate:\n  closed_loop:\n    history_days: 100\n    models: [points]\n    monitor_every_days: 3\n"
        "    retrain_every_days: 4\n",
        1,
    )
    text += "\nmonitoring:\n  reference: first_run\nretraining:\n  every_days: 1\n  action: challenger\n"
    text = text.replace("    window_days: 120 ", "    window_days: 45 ", 1)
    text = text.replace("    by: region ", "    by: total ", 1)
    (path / "leadops.yaml").write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def looped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One history, copied: the loop runs in-process in one copy and through the CLI in the other."""
    root = tmp_path_factory.mktemp("loop")
    ws = make_workspace(root / "a")
    settings = config.load(ws)
    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        bootstrap(settings, warehouse, leads_per_day=LEADS_PER_DAY, seed=SEED)
    finally:
        warehouse.close()
    twin = root / "b"
    shutil.copytree(ws, twin)
    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        result = run_closed_loop(settings, warehouse, days=DAYS, leads_per_day=LEADS_PER_DAY, seed=SEED)
    finally:
        warehouse.close()
    cli = CliRunner().invoke(
        app,
        ["simulate", "--closed-loop", "--days", str(DAYS), "--leads-per-day", str(LEADS_PER_DAY),
         "--seed", str(SEED), "--workspace", str(twin), "--json"],
    )  # fmt: skip
    return {"ws": ws, "twin": twin, "settings": settings, "result": result, "cli": cli}


def _truth(ws: Path) -> Any:
    return pq.read_table(ws / "ground_truth" / "closed_loop" / "leads_truth.parquet").to_pandas()


def _sql(ws: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_the_cli_reports_the_contract_keys_and_a_rerun_with_the_same_seed_is_identical(looped: dict[str, Any]) -> None:
    cli = looped["cli"]
    assert cli.exit_code == 0, cli.output
    out = json.loads(cli.stdout)
    for key in ("days", "runs_published", "conversions", "revenue", "expected_conversions"):
        assert key in out
    mine = looped["result"].to_dict()
    for key in ("days", "leads", "runs_published", "contacts", "conversions", "revenue", "expected_conversions",
                "true_contact_effect", "expected_revenue"):  # fmt: skip
        assert out[key] == mine[key], key
    assert _truth(looped["ws"]).equals(_truth(looped["twin"]))


def test_every_night_publishes_a_run_and_sales_works_at_most_its_capacity(looped: dict[str, Any]) -> None:
    result = looped["result"]
    start = result.start
    business = sum(1 for d in range(DAYS) if (start + timedelta(days=d)).weekday() < 5)
    assert result.runs_published == business  # scored on business mornings (simulate.closed_loop.score_on)
    assert 0 < result.contacts <= CAPACITY * business
    runs = _sql(looped["ws"], "SELECT count(*) FROM score_runs WHERE status = 'published' AND as_of >= ?", [start])
    assert runs[0][0] == business
    ingests = _sql(looped["ws"], "SELECT status, count(*) FROM ingest_runs GROUP BY 1")
    assert dict(ingests) == {"succeeded": DAYS + 1}  # the history's ingest, then one a day


def test_monitoring_and_the_retraining_policy_run_when_the_workspace_configures_them(looped: dict[str, Any]) -> None:
    result = looped["result"]
    assert result.monitored == len(range(1, result.runs_published + 1, 3))  # runs 1, 4, 7, ...
    assert _sql(looped["ws"], "SELECT count(*) FROM monitor_runs")[0][0] == result.monitored
    assert [r["day"] for r in result.retraining] == [str(result.start + timedelta(days=d)) for d in (3, 7)]
    assert all(r["decision"] == "challenger" and r["version"] for r in result.retraining)
    audited = _sql(looped["ws"], "SELECT count(*) FROM registry_audit WHERE action = 'retrain'")
    assert audited[0][0] == 2


def test_sales_contacts_leads_of_the_published_queue_in_rank_order(looped: dict[str, Any]) -> None:
    truth = _truth(looped["ws"])
    contacted = truth[truth["contacted_by_sales"]]
    assert len(contacted) > 0
    for _, row in contacted.iterrows():
        day = row["contacted_at"].date()
        queued = _sql(
            looped["ws"],
            "SELECT q.score_rank FROM sales_queue q JOIN score_runs r ON r.run_id = q.run_id "
            "WHERE q.lead_id = ? AND CAST(r.as_of AS DATE) = ?",
            [row["lead_id"], day],
        )
        assert queued, f"{row['lead_id']} contacted on {day} without being in that day's Sales queue"
    touches = _sql(
        looped["ws"],
        "SELECT lead_id, min(occurred_at) FROM activities WHERE activity_type = 'sales_touch' AND occurred_at >= ? "
        "GROUP BY lead_id",
        [looped["result"].start],
    )
    first = dict(touches)
    for _, row in contacted.iterrows():  # the contact reached the CRM through ingest, at its time
        assert first[row["lead_id"]] == row["contacted_at"].to_pydatetime()


def test_the_ground_truth_gives_the_policys_true_effect_in_closed_form(looped: dict[str, Any]) -> None:
    truth = _truth(looped["ws"])
    result = looped["result"]
    counted = truth["contact_counted"].to_numpy()
    p1, p0 = truth["p_convert"].to_numpy(), truth["p_convert_no_contact"].to_numpy()
    assert np.all(p1 > p0)
    assert np.allclose(truth["p_effective"], np.where(counted, p1, p0))
    assert result.leads == len(truth)
    assert result.expected_conversions == pytest.approx(np.where(counted, p1, p0).sum(), abs=1e-3)
    assert result.expected_conversions_without_sales == pytest.approx(p0.sum(), abs=1e-3)
    assert result.true_contact_effect == pytest.approx((p1 - p0)[counted].sum(), abs=1e-3)
    window = (truth["contacted_at"] - truth["created_at"]).dt.total_seconds() < 14 * 86_400
    assert (counted == (truth["contacted_by_sales"] & window).to_numpy()).all()


def test_the_loops_leads_land_in_the_warehouse_and_reasons_read_like_a_crm(looped: dict[str, Any]) -> None:
    truth = _truth(looped["ws"])
    ids = set(truth["lead_id"])
    stored = {r[0] for r in _sql(looped["ws"], "SELECT lead_id FROM leads WHERE created_at >= ?",
                                 [looped["result"].start])}  # fmt: skip
    assert stored == ids
    assert _sql(looped["ws"], "SELECT count(*) FROM quarantine")[0][0] == 0
    texts = [r[0] for r in _sql(looped["ws"], "SELECT reason_text FROM sales_queue WHERE reason_text IS NOT NULL")]
    counts = [int(n) for t in texts for n in re.findall(r"Viewed pricing (\d+) times in 30 days", t)]
    assert counts and max(counts) <= 25
    clicks = [int(n) for t in texts for n in re.findall(r"Clicked (\d+) emails in 30 days", t)]
    assert all(n <= 30 for n in clicks)


def test_a_loop_runs_once_per_workspace_and_never_past_today(looped: dict[str, Any], tmp_path: Path) -> None:
    settings = looped["settings"]
    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        with pytest.raises(ClosedLoopError, match="already ran a closed loop"):
            run_closed_loop(settings, warehouse, days=2)
    finally:
        warehouse.close()
    ws = make_workspace(tmp_path / "future")
    (ws / "ground_truth").mkdir()
    end = date(2026, 11, 20)
    manifest = {"scenario": "baseline", "leads": 100, "days": 30, "seed": 1, "start": "2026-10-21",
                "end": end.isoformat()}  # fmt: skip
    (ws / "ground_truth" / "manifest.json").write_text(json.dumps(manifest))
    fresh = config.load(ws)
    warehouse = open_warehouse(fresh.warehouse.url, fresh.workspace)
    try:
        with pytest.raises(ClosedLoopError, match=r"past today \(2026-11-25\).*at most --days 5"):
            run_closed_loop(fresh, warehouse, days=10, today=date(2026, 11, 25))
        with pytest.raises(ClosedLoopError, match="--days: expected a positive number of days, got 0"):
            run_closed_loop(fresh, warehouse, days=0)
    finally:
        warehouse.close()
    out = CliRunner().invoke(app, ["simulate", "--closed-loop", "--days", "3650", "--workspace", str(ws), "--json"])
    assert out.exit_code == 28, out.output
    assert "past today" in json.loads(out.stdout)["error"]


def test_a_mapping_the_loop_cannot_feed_is_refused_by_name(tmp_path: Path) -> None:
    ws = tmp_path / "sf"
    init_workspace(ws, export_format="salesforce")
    settings = config.load(ws)
    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        with pytest.raises(ClosedLoopError, match=r"sources: '.+' \(leads\) reads .+; the closed loop writes the flat"):
            run_closed_loop(settings, warehouse, days=3)
    finally:
        warehouse.close()
