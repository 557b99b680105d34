"""The Spark engine: features and scores computed on Spark from Parquet tables outside the workspace, the bundle
shipped to the executors, identical rows to the DuckDB engine; a gap in its output is an error, not a run."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from jobs_fakes import AS_OF, JobSettings, fill_warehouse

from engine_parity import CANONICAL, write_lake
from leadops.jobs import score_job
from leadops.jobs.engines.spark import check_all_scored
from leadops.jobs.engines.spark_tables import batches, read_view
from leadops.jobs.errors import SparkInputError, SparkScoringError
from leadops.jobs.model import ModelRef, model_ref
from leadops.warehouse import Warehouse

pytestmark = pytest.mark.spark
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "leadops" / "templates"
COLUMNS = (
    "lead_id, score, probability, grade, raw, score_rank, percentile, fit_score, engagement_score, route, "
    "route_reason, region, rep, reasons, reason_text"
)


class OneModel:
    """A model source holding one champion bundle."""

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref

    def champion(self) -> ModelRef:
        return self.ref

    def challengers(self) -> list[ModelRef]:
        return []


def _settings(workspace: Path, routing: dict[str, object] | None = None, **scoring: object) -> JobSettings:
    sections = yaml.safe_load((TEMPLATES / "features.yaml").read_text()) or {}
    settings = JobSettings.model_validate(
        {
            "features": sections.get("features", sections),
            "scoring": {"chunk_size": 400, **scoring},
            "routing": {"policy": "capacity", "fresh_days": None, **(routing or {})},
            "business": {"capacity": {"per_day": 60, "by": "region"}},
        }
    )
    settings.workspace = workspace
    return settings


def delta_table(rows: pa.Table, where: Path) -> str:
    """`rows` as a Delta table whose first version held other rows: version 1 overwrote (removed) its files,
    which stay on disk as Delta keeps them until VACUUM; returns its delta: URI."""
    from deltalake import DeltaTable, write_deltalake

    stale = rows.slice(0, rows.num_rows // 2)
    stale = stale.set_column(stale.schema.get_field_index("activity_type"), "activity_type",
                             pa.array(["demo_request"] * stale.num_rows))  # fmt: skip
    write_deltalake(str(where), stale)
    write_deltalake(str(where), rows, mode="overwrite")
    assert DeltaTable(str(where)).version() == 1 and len(list(where.glob("*.parquet"))) == 2
    return f"delta:{where}"


def metastore_table(spark: object, path: str) -> str:
    """A Parquet table registered in the session's catalog (CREATE TABLE ... LOCATION); returns its table: URI."""
    name = f"default.leadops_accounts_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{path}'")  # type: ignore[attr-defined]
    return f"table:{name}"


def test_a_delta_table_is_read_as_its_current_version_only(spark: object, tmp_path: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    where = tmp_path / "leads"
    write_deltalake(str(where), pa.table({"lead_id": ["a", "b", "c"], "n": [1, 2, 3]}))
    write_deltalake(str(where), pa.table({"lead_id": ["d"], "n": [4]}), mode="append")
    DeltaTable(str(where)).delete("n = 2")  # version 2 rewrites the file holding b: that file is removed
    assert len(list(where.glob("*.parquet"))) == 3 and DeltaTable(str(where)).version() == 2
    frame = read_view(spark, "leads", f"delta:{where}")
    assert sorted(r[0] for r in frame.select("lead_id").collect()) == ["a", "c", "d"]
    assert sorted(r[0] for r in spark.sql("SELECT lead_id FROM leads").collect()) == ["a", "c", "d"]  # type: ignore[attr-defined]
    with pytest.raises(SparkInputError, match=r"scoring.spark.tables.leads: cannot read the Delta table"):
        read_view(spark, "leads", f"delta:{tmp_path / 'nothing'}")


def test_a_metastore_table_is_read_by_name(spark: object, tmp_path: Path) -> None:
    path = tmp_path / "accounts.parquet"
    pq.write_table(pa.table({"account_id": ["x", "y"], "region": ["EMEA", "NA"]}), path)
    uri = metastore_table(spark, str(path))
    frame = read_view(spark, "accounts", uri)
    assert sorted(tuple(r) for r in frame.collect()) == [("x", "EMEA"), ("y", "NA")]
    with pytest.raises(SparkInputError, match=r"scoring.spark.tables.accounts: cannot read 'table:default.nope'"):
        read_view(spark, "accounts", "table:default.nope")


def _champion(wh: Warehouse, settings: JobSettings, root: Path) -> ModelRef:
    """A LightGBM champion fitted on the warehouse's features (random labels: scores only need to differ)."""
    from leadops.bundle import save_bundle
    from leadops.features.build import build_features
    from leadops.scorers.base import build_scorer

    X = build_features(settings.features, wh, as_of=AS_OF, as_pandas=True).set_index("lead_id")
    y = (np.random.default_rng(3).random(len(X)) < 0.3).astype(int)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 20}).fit(X, y)
    return model_ref(1, "lightgbm", save_bundle(root / "model", scorer, settings.features), role="champion")


@pytest.mark.slow
def test_spark_run_from_parquet_outside_the_workspace_matches_duckdb(spark: object, wh, tmp_path: Path) -> None:
    for table in ("leads", "activities", "outcomes"):
        wh.execute(f"DELETE FROM {table}")
    fill_warehouse(wh, n=1200, seed=5)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    settings = _settings(workspace)
    ref = _champion(wh, settings, tmp_path)
    # the canonical tables where a data team keeps them: Parquet paths, a Delta table and a metastore table
    tables = write_lake(wh, tmp_path / "lake")
    tables["activities"] = delta_table(wh.arrow("SELECT * FROM activities"), tmp_path / "lake" / "activities_delta")
    tables["accounts"] = metastore_table(spark, tables["accounts"])

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


ROUTED = f"{COLUMNS}, sales_status, with_sales_since, last_sales_touch_at, recycled_at"


@pytest.mark.slow
def test_a_lake_only_run_routes_from_the_engines_tables(spark: object, wh: Warehouse, tmp_path: Path) -> None:
    """Freshness, the CRM owner and Sales touches come from the lake: the warehouse holds no lead or activity."""
    for table in ("leads", "activities", "outcomes"):
        wh.execute(f"DELETE FROM {table}")
    fill_warehouse(wh, n=1200, seed=9)
    wh.execute("UPDATE leads SET owner = 'owner-' || substr(lead_id, 7, 1) WHERE substr(lead_id, 6, 1) IN ('1', '2')")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    routing = {"fresh_days": 60, "assign_to_owner": True, "sales_activity_types": ["sales_touch"],
               "recycle": {"untouched_days": 3}}  # fmt: skip
    settings = _settings(workspace, routing)
    ref = _champion(wh, settings, tmp_path)
    first = score_job(settings, wh, as_of=AS_OF - timedelta(days=7), engine="duckdb", models=OneModel(ref))
    touched = wh.arrow("SELECT lead_id FROM sales_queue WHERE run_id = ? ORDER BY lead_id", [first.run_id])
    ids = touched["lead_id"].to_pylist()[::2]  # half of the Sales queue was worked since, half was not
    wh.insert("activities", pa.table({
        "activity_id": [f"T{i}" for i in range(len(ids))], "lead_id": ids,
        "occurred_at": pa.array([AS_OF - timedelta(days=2)] * len(ids), pa.timestamp("us")),
        "activity_type": ["sales_touch"] * len(ids)}))  # fmt: skip
    tables = write_lake(wh, tmp_path / "lake")
    duck = score_job(settings, wh, as_of=AS_OF, engine="duckdb", models=OneModel(ref))
    for table in CANONICAL:  # a lake-only run: Spark's tables are the only copy of the CRM data
        wh.execute(f"DELETE FROM {table}")
    on_spark = _settings(workspace, routing, spark={"master": "local[2]", "tables": tables})
    sp = score_job(on_spark, wh, as_of=AS_OF, engine="spark", models=OneModel(ref))

    assert sp.status == duck.status == "published" and sp.leads_scored == duck.leads_scored > 1000
    a = wh.rows(f"SELECT {ROUTED} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [duck.run_id])
    b = wh.rows(f"SELECT {ROUTED} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [sp.run_id])
    names = [c.strip() for c in ROUTED.split(",")]
    differ = [(x[0], n, u, v) for x, y in zip(a, b, strict=True) for n, u, v in zip(names, x, y, strict=True) if u != v]
    assert len(a) == len(b) and not differ, differ[:6]
    reasons = wh.rows("SELECT route_reason, count(*) FROM lead_scores WHERE run_id = ? GROUP BY 1", [sp.run_id])
    said = " | ".join(str(r) for r, _ in reasons)
    assert "not fresh" in said and "kept" in said and "recycled to nurture" in said
    owners = wh.scalar("SELECT count(*) FROM lead_scores WHERE run_id = ? AND rep LIKE 'owner-%'", [sp.run_id])
    touches = wh.scalar("SELECT count(last_sales_touch_at) FROM lead_scores WHERE run_id = ?", [sp.run_id])
    assert owners > 0 and touches > 0
    assert wh.scalar("SELECT count(*) FROM score_run_facts") == 0  # cleared at publish


@pytest.mark.slow
def test_a_lake_only_run_assigns_experiment_arms_from_the_engines_tables(
    spark: object, wh: Warehouse, tmp_path: Path
) -> None:
    """Accounts and created_at of the experiment's units come from the lake: the same arms as the DuckDB engine."""
    from leadops.experiments import store
    from leadops.settings.experiments import ExperimentSpec

    for table in ("leads", "activities", "outcomes"):
        wh.execute(f"DELETE FROM {table}")
    fill_warehouse(wh, n=600, seed=11)
    wh.execute("UPDATE leads SET account_id = 'acct-' || substr(lead_id, 2, 5)")  # ten colleagues per account
    workspace = tmp_path / "ws"
    workspace.mkdir()
    experiment = ExperimentSpec.model_validate(
        {"name": "lake-ab", "start": AS_OF - timedelta(days=100), "unit": "account", "population": "new",
         "arms": [{"name": "control"}, {"name": "ev", "routing": "expected_value"}]}
    )  # fmt: skip
    settings = _settings(workspace)
    settings.experiments = [experiment]
    ref = _champion(wh, settings, tmp_path)
    tables = write_lake(wh, tmp_path / "lake")
    duck = score_job(settings, wh, as_of=AS_OF, engine="duckdb", models=OneModel(ref))
    logged = "SELECT lead_id, unit_id, bucket, arm FROM experiment_assignments ORDER BY lead_id"
    by_duckdb = wh.rows(logged)
    wh.execute("DELETE FROM experiment_assignments")
    for table in CANONICAL:  # a lake-only run: Spark's tables are the only copy of the CRM data
        wh.execute(f"DELETE FROM {table}")
    on_spark = _settings(workspace, spark={"master": "local[2]", "tables": tables})
    on_spark.experiments = [experiment]
    sp = score_job(on_spark, wh, as_of=AS_OF, engine="spark", models=OneModel(ref))

    assert sp.status == duck.status == "published"
    by_spark = wh.rows(logged)
    assert by_spark == by_duckdb and 0 < len(by_spark) < sp.leads_scored  # population new: the recent half
    assert all(unit.startswith("acct-") for _, unit, _, _ in by_spark)
    assert {arm for *_, arm in by_spark} == {"control", "ev"}
    assert store.assignments(wh, "lake-ab")["run_id"].to_pylist() == [sp.run_id] * len(by_spark)
    a = wh.rows(f"SELECT {ROUTED} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [duck.run_id])
    b = wh.rows(f"SELECT {ROUTED} FROM lead_scores WHERE run_id = ? ORDER BY lead_id", [sp.run_id])
    assert a == b  # each arm routed alone from the engine's own facts, as on DuckDB
