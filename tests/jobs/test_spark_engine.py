"""The Spark engine: features and scores computed on Spark from Parquet tables outside the workspace, the bundle
shipped to the executors, identical rows to the DuckDB engine; a gap in its output is an error, not a run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from jobs_fakes import AS_OF, JobSettings, fill_warehouse

from leadops.jobs import score_job
from leadops.jobs.engines.spark import check_all_scored, session, spark_available
from leadops.jobs.engines.spark_tables import batches, read_view
from leadops.jobs.errors import SparkInputError, SparkScoringError
from leadops.jobs.model import ModelRef, model_ref
from leadops.settings.jobs import SparkSpec

pytestmark = pytest.mark.spark
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "leadops" / "templates"
COLUMNS = (
    "lead_id, score, probability, grade, raw, score_rank, percentile, fit_score, engagement_score, route, "
    "route_reason, region, rep, reasons, reason_text"
)


@pytest.fixture(scope="module")
def spark() -> object:
    """One local session for the module (starting one costs seconds)."""
    problem = spark_available()
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Spark tests must run in CI: {problem}")
        pytest.skip(problem)
    return session(SparkSpec(master="local[2]"))


class OneModel:
    """A model source holding one champion bundle."""

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref

    def champion(self) -> ModelRef:
        return self.ref

    def challengers(self) -> list[ModelRef]:
        return []


def _settings(workspace: Path, **scoring: object) -> JobSettings:
    sections = yaml.safe_load((TEMPLATES / "features.yaml").read_text()) or {}
    settings = JobSettings.model_validate(
        {
            "features": sections.get("features", sections),
            "scoring": {"chunk_size": 400, **scoring},
            "routing": {"policy": "capacity", "fresh_days": None},
            "business": {"capacity": {"per_day": 60, "by": "region"}},
        }
    )
    settings.workspace = workspace
    return settings


@pytest.mark.slow
def test_spark_run_from_parquet_outside_the_workspace_matches_duckdb(spark: object, wh, tmp_path: Path) -> None:
    from leadops.bundle import save_bundle
    from leadops.features.build import build_features
    from leadops.scorers.base import build_scorer

    for table in ("leads", "activities", "outcomes"):
        wh.execute(f"DELETE FROM {table}")
    fill_warehouse(wh, n=1200, seed=5)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    settings = _settings(workspace)
    X = build_features(settings.features, wh, as_of=AS_OF, as_pandas=True).set_index("lead_id")
    y = (np.random.default_rng(3).random(len(X)) < 0.3).astype(int)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 20}).fit(X, y)
    ref = model_ref(1, "lightgbm", save_bundle(tmp_path / "model", scorer, settings.features), role="champion")
    lake = tmp_path / "lake"  # the canonical tables where a data team keeps them: Parquet, not the warehouse
    lake.mkdir()
    for table in ("leads", "accounts", "activities", "outcomes"):
        wh.copy_to(f"SELECT * FROM {table}", lake / f"{table}.parquet", "parquet")
    tables = {t: str(lake / f"{t}.parquet") for t in ("leads", "accounts", "activities", "outcomes")}

    duck = score_job(settings, wh, as_of=AS_OF, engine="duckdb", models=OneModel(ref))
    on_spark = _settings(workspace, spark={"master": "local[2]", "tables": tables})
    sp = score_job(on_spark, wh, as_of=AS_OF, engine="spark", models=OneModel(ref))

    assert sp.status == duck.status == "published" and sp.run_id != duck.run_id
    assert "-spark-" in sp.run_id and "-duckdb-" in duck.run_id
    assert sp.leads_scored == duck.leads_scored > 1000 and sp.routed_sales == duck.routed_sales > 0
    a = wh.rows(f"SELECT {COLUMNS} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [duck.run_id])
    b = wh.rows(f"SELECT {COLUMNS} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [sp.run_id])
    assert a == b
    assert wh.scalar("SELECT count(*) FROM lead_scores WHERE run_id = ? AND route = 'sales' AND reasons IS NULL",
                     [sp.run_id]) == 0  # fmt: skip
    # Spark read the lake (nothing exported from the warehouse) and left its scores and queues as Parquet
    root = workspace / ".runs" / "spark" / sp.run_id
    assert not (root / "input").exists() and not list(root.glob("features-*"))
    scored = pa.concat_tables(list(batches(str(root / "scores"))))
    assert scored.num_rows == sp.leads_scored
    queue = pq.read_table(root / "sales_queue.parquet")
    assert queue.num_rows == sp.routed_sales
    again = score_job(on_spark, wh, as_of=AS_OF, engine="spark", models=OneModel(ref))
    assert again.status == "already published" and again.run_id == sp.run_id


def test_a_lead_missing_from_the_scores_is_named_by_count(spark: object) -> None:
    make = spark.createDataFrame  # type: ignore[attr-defined]
    selected = make(pa.table({"lead_id": ["a", "b", "c", "d"]}))
    with pytest.raises(SparkScoringError, match=r"2 of 4 selected leads have no score"):
        check_all_scored(selected, make(pa.table({"lead_id": ["a", "c"]})), version=3, total=4, where="out/")
    with pytest.raises(SparkScoringError, match=r"1 score rows are duplicates"):
        check_all_scored(selected, make(pa.table({"lead_id": ["a", "b", "c", "d", "d"]})), version=3, total=4,
                         where="out/")  # fmt: skip
    check_all_scored(selected, make(pa.table({"lead_id": ["d", "c", "b", "a"]})), version=3, total=4, where="out/")


def test_an_unreadable_table_uri_names_the_table(spark: object, tmp_path: Path) -> None:
    with pytest.raises(SparkInputError, match=r"scoring.spark.tables.activities: cannot read .*nowhere"):
        read_view(spark, "activities", str(tmp_path / "nowhere.parquet"))
