"""The Spark engine scores the same features with the same artifact: identical rows to the DuckDB engine."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from jobs_fakes import AS_OF, FakeFeatures, FakeModels, fill_warehouse, make_settings

from leadops.jobs import score_job
from leadops.jobs.engines.spark import spark_available

COLUMNS = "lead_id, score, probability, grade, raw, score_rank, percentile, fit_score, engagement_score"


@pytest.fixture(scope="module", autouse=True)
def _spark_here() -> None:
    problem = spark_available()
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Spark tests must run in CI: {problem}")
        pytest.skip(problem)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_and_duckdb_engines_publish_identical_scores(tmp_path, wh):
    wh.execute("DELETE FROM leads")
    wh.execute("DELETE FROM activities")
    wh.execute("DELETE FROM outcomes")
    fill_warehouse(wh, n=3000, seed=11)
    models = FakeModels(tmp_path / "m", challengers=[2])
    feats = FakeFeatures(wh)
    routing = {"policy": "capacity"}
    business = {"capacity": {"per_day": 50, "by": "region"}}
    duck = score_job(
        make_settings(tmp_path, scoring={"chunk_size": 1000}, routing=routing, business=business),
        wh,
        as_of=AS_OF,
        engine="duckdb",
        models=models,
        features=feats,
    )
    # an hour later (both runs published; routing differs as Sales now holds the first run's MQLs), same features
    spark_settings = make_settings(
        tmp_path, scoring={"chunk_size": 1000, "exports": {"dir": "exports_spark"}}, routing=routing, business=business
    )
    spark = score_job(
        spark_settings,
        wh,
        as_of=AS_OF + timedelta(hours=1),
        engine="spark",
        models=models,
        features=feats,
    )
    assert spark.engine == "spark" and spark.leads_scored == duck.leads_scored > 2500
    a = wh.rows(f"SELECT {COLUMNS} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [duck.run_id])
    b = wh.rows(f"SELECT {COLUMNS} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [spark.run_id])
    assert a == b
    sa = wh.rows("SELECT lead_id, score FROM shadow_scores WHERE run_id = ? ORDER BY lead_id", [duck.run_id])
    sb = wh.rows("SELECT lead_id, score FROM shadow_scores WHERE run_id = ? ORDER BY lead_id", [spark.run_id])
    assert sa == sb and len(sa) == duck.leads_scored
