"""`leadops monitor`: drift of a published run against its reference, stored once per run, with alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIRST, SECOND, cli
from leadops.config import load
from leadops.monitoring.drift import DRIFT_STATS
from leadops.plots import network_references, plotly_js, read_figures
from leadops.warehouse.connection import open_warehouse


def _count(ws: Path, sql: str) -> int:
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        return int(wh.rows(sql)[0][0])


def test_monitor_reports_every_feature_and_the_score_against_the_first_run(monitored: Path) -> None:
    out = cli("monitor", "--workspace", str(monitored), "--as-of", SECOND)
    assert out["run_id"].startswith("score-20250908") and out["reference"] == "first_run"
    assert out["reference_run"].startswith("score-20250901")
    assert out["sample_rows"] == out["run_leads"] > 500 and out["reference_rows"] > 500
    assert "score" in out["drift"] and len(out["drift"]) > 20
    for feature, found in out["drift"].items():
        assert set(found["stats"]) == {s.name for s in DRIFT_STATS.values() if found["kind"] in s.kinds}, feature
        assert found["drifted"] == any(s["drifted"] for s in found["stats"].values())
    assert all(not out["drift"][f]["drifted"] for f in ("industry", "employees", "job_level", "lead_source"))
    for alert in out["alerts"]:
        assert {"kind", "feature", "severity", "value", "threshold"} <= set(alert)
        assert alert["value"] >= alert["threshold"] and alert["severity"] in ("warning", "critical")


def test_the_first_run_compared_with_itself_shows_no_drift(monitored: Path) -> None:
    out = cli("monitor", "--workspace", str(monitored), "--as-of", FIRST)
    assert out["reference_run"] == out["run_id"] and out["drifted"] == [] and out["alerts"] == []


def test_a_rerun_replaces_the_runs_rows_and_tight_thresholds_raise_alerts(monitored: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = cli("monitor", "--workspace", str(monitored), "--as-of", SECOND)
    stats = _count(monitored, "SELECT count(*) FROM drift_results")
    monkeypatch.setenv("LEADOPS_MONITORING__THRESHOLDS", '{"ks": 0.0001, "psi": 0.0001}')
    tight = cli("monitor", "--workspace", str(monitored), "--as-of", SECOND)
    assert len(tight["alerts"]) > len(first["alerts"])
    assert _count(monitored, "SELECT count(*) FROM drift_results") == stats  # replaced, not appended
    assert _count(monitored, f"SELECT count(*) FROM alerts WHERE run_id = '{tight['run_id']}'") == len(tight["alerts"])
    assert _count(monitored, f"SELECT count(*) FROM monitor_runs WHERE run_id = '{tight['run_id']}'") == 1


def test_the_training_reference_and_a_missing_run_are_explained(monitored: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEADOPS_MONITORING__REFERENCE", "training")
    out = cli("monitor", "--workspace", str(monitored), "--as-of", FIRST)
    assert out["reference"] == "training" and out["reference_run"] is None and out["reference_rows"] > 100
    monkeypatch.delenv("LEADOPS_MONITORING__REFERENCE")
    missing = cli("monitor", "--workspace", str(monitored), "--as-of", "2020-01-01", code=9)
    assert missing["ok"] is False and "no published run" in missing["error"]


def test_the_scheduled_job_monitors_each_run_right_after_scoring_it(monitored: Path) -> None:
    from datetime import UTC, datetime

    from leadops.jobs.schedule import Slot, _default_runner
    from leadops.settings.jobs import ScheduledJob

    settings = load(monitored)
    ran = _default_runner(settings)(Slot(ScheduledJob(), datetime(2025, 9, 15, tzinfo=UTC)))
    assert ran["status"] == "published" and ran["monitor"]["ok"] is True
    assert _count(monitored, f"SELECT count(*) FROM monitor_runs WHERE run_id = '{ran['run_id']}'") == 1


def test_monitor_reports_cohorts_and_stores_them_per_run(monitored: Path) -> None:
    out = cli("monitor", "--workspace", str(monitored), "--as-of", SECOND)
    assert out["performance"] and all({"week", "leads", "mature", "estimated"} <= set(c) for c in out["performance"])
    assert all(c["estimated"]["conversion_rate"] is not None for c in out["performance"])
    stored = _count(monitored, f"SELECT count(*) FROM cohort_performance WHERE run_id = '{out['run_id']}'")
    assert stored == len(out["performance"])


def test_monitor_writes_an_offline_html_report_with_drift_scores_and_cohorts(monitored: Path) -> None:
    out = cli("monitor", "--workspace", str(monitored))  # the latest run: the one whose cohorts the report shows
    html = Path(out["report"]).read_text(encoding="utf-8")
    assert "Drift per feature" in html and "Performance by cohort" in html
    assert network_references(html) == [] and html.count(plotly_js()) == 1  # works offline, on its own
    for feature in out["drift"]:
        assert f">{feature}<" in html
    figures = read_figures(html)
    assert set(figures) == {"drift", "drifted", "score", "cohorts"}
    heat = figures["drift"]["data"][0]
    assert heat["x"] == sorted(heat["x"])  # the runs oldest first (a later test-module run may come after this one)
    at = heat["x"].index(out["as_of"][:10])
    for feature, found in out["drift"].items():
        psi = found["stats"]["psi"]["value"]
        assert heat["z"][heat["y"].index(feature)][at] == pytest.approx(psi), feature
    drifted = figures["drifted"]["data"][0]["y"][at]
    assert drifted == len([f for f in out["drifted"] if f != "score"]) + len(
        [f for f in out["new_leads"]["drifted"] if f != "score"]
    )
    weeks = {c["week"]: c for c in out["performance"]}
    cohort = figures["cohorts"]["data"]
    assert cohort[0]["x"] == sorted(weeks)
    assert cohort[1]["y"] == pytest.approx([weeks[w]["estimated"]["auc"] for w in cohort[0]["x"]], nan_ok=True)
    assert cohort[3]["y"] == pytest.approx([weeks[w]["estimated"]["conversion_rate"] for w in cohort[0]["x"]])
    realised = [(weeks[w]["realised"] or {}).get("auc") for w in cohort[0]["x"]]
    assert cohort[0]["y"] == pytest.approx(realised, nan_ok=True)


def test_the_kept_samples_equal_a_rebuild_and_only_reference_and_recent_ones_stay(monitored: Path) -> None:
    from datetime import datetime

    import pandas as pd

    from leadops.bundle import load_bundle
    from leadops.monitoring.samples import NEW, OPEN, Population, SampleStore, build_sample
    from leadops.registry.loading import load_artifact_dir

    out = cli("monitor", "--workspace", str(monitored), "--as-of", SECOND)
    settings = load(monitored)
    store = SampleStore(settings.path(settings.monitoring.sample_dir))
    as_of = datetime.fromisoformat(out["as_of"])
    window = as_of - datetime.fromisoformat(out["new_leads"]["since"])
    bundle = load_bundle(load_artifact_dir(settings, out["model_version"]))
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        rows = settings.monitoring.sample_rows
        for population in (Population(OPEN, rows), Population(NEW, rows, window)):
            kept = store.read(out["run_id"], out["model_version"], population)
            assert kept is not None and len(kept) > 0, population
            pd.testing.assert_frame_equal(kept, build_sample(wh, bundle, out["run_id"], as_of, population))
        sql = "SELECT count(*) FROM leads WHERE created_at > ? AND created_at <= ?"
        counted = int(wh.rows(sql, [as_of - window, as_of])[0][0])
        assert out["new_leads"]["volume"][0]["source"] == "(all)" and out["new_leads"]["volume"][0]["leads"] == counted
        assert sum(v["leads"] for v in out["new_leads"]["volume"][1:]) == counted
        stray = store.directory / "score-gone.v1.open-50000.parquet"
        stray.write_bytes(b"")
        removed = store.prune(wh, keep_newest=1)
        sql = "SELECT run_id FROM score_runs WHERE status = 'published' ORDER BY as_of DESC LIMIT 1"
        newest = str(wh.rows(sql)[0][0])
    assert stray in removed and not stray.exists()
    left = {p.name.split(".v")[0] for p in store.directory.iterdir()}
    assert out["reference_run"] in left and left <= {out["reference_run"], newest}
