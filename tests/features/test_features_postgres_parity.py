"""One feature/label SQL, two engines: PostgreSQL builds exactly the rows DuckDB builds from the same data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from features_synth import SPEC, World, load_world, make_world

from engine_parity import with_property_features
from leadops.features.build import build_and_store, build_features
from leadops.features.labels import labelled_snapshots
from leadops.features.sql import feature_sql
from leadops.features.training import build_training_set
from leadops.settings.features import FeaturesSpec, TrainingSpec
from leadops.warehouse import Warehouse

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def world() -> World:
    """2,000 leads with ~24k activities, loaded into both engines."""
    return make_world(2_000, seed=11)


@pytest.fixture
def spec() -> FeaturesSpec:
    """Every kind of feature, property filters included."""
    return with_property_features(SPEC)


@pytest.fixture
def engines(warehouse: Warehouse, pg_warehouse: Warehouse, world: World) -> tuple[Warehouse, Warehouse]:
    """The same world in a DuckDB and a PostgreSQL warehouse."""
    load_world(warehouse, world)
    load_world(pg_warehouse, world)
    return warehouse, pg_warehouse


def assert_same_table(duck: pa.Table, pg: pa.Table) -> None:
    """Same schema, same rows in the same order, every value equal (NaN/NULL where the other has it)."""
    assert duck.schema == pg.schema
    assert duck.num_rows == pg.num_rows > 0
    for name in duck.column_names:
        assert duck[name].equals(pg[name]), name


def test_features_as_of_are_identical_on_postgres(engines: tuple[Warehouse, Warehouse], spec: FeaturesSpec,
                                                  world: World) -> None:  # fmt: skip
    duck, pg = engines
    when = world.end - timedelta(days=30, microseconds=123)
    a, b = build_features(spec, duck, as_of=when), build_features(spec, pg, as_of=when)
    assert isinstance(a, pa.Table) and isinstance(b, pa.Table)
    assert_same_table(a, b)
    assert pa.compute.sum(a["engagement_decay_14"]).as_py() > 0 and pa.compute.sum(a["pricing_pages"]).as_py() > 0
    ids = [f"L{i:07d}" for i in (5, 3, 1999, 42, 3)] + ["nobody"]
    a, b = build_features(spec, duck, as_of=when, lead_ids=ids), build_features(spec, pg, as_of=when, lead_ids=ids)
    assert isinstance(a, pa.Table) and isinstance(b, pa.Table)
    assert_same_table(a, b)
    assert a["lead_id"].to_pylist() == sorted(set(ids) - {"nobody"})


def test_per_snapshot_features_and_labels_are_identical_on_postgres(
    engines: tuple[Warehouse, Warehouse], spec: FeaturesSpec, world: World
) -> None:
    duck, pg = engines
    base = world.leads.slice(0, 300)
    pop = pa.table(
        {
            "lead_id": base["lead_id"],
            "as_of": pa.array([world.end - timedelta(days=i % 90, seconds=i) for i in range(300)], pa.timestamp("us")),
        }
    )
    a, b = build_features(spec, duck, per_lead_as_of=pop), build_features(spec, pg, per_lead_as_of=pop)
    assert isinstance(a, pa.Table) and isinstance(b, pa.Table)
    assert_same_table(a, b)
    for body in ({"snapshot": {"days_after_created": 7}}, {"snapshot": {"policy": "as_of_dates", "every_days": 45}}):
        tspec = TrainingSpec.model_validate({**body, "label": {"window_days": 60}})
        x, y = labelled_snapshots(duck, tspec, world.end), labelled_snapshots(pg, tspec, world.end)
        assert len(x) > 0 and x["label"].any() and not x["mature"].all()
        pd.testing.assert_frame_equal(x, y, check_dtype=False)


def test_training_sets_are_identical_on_postgres(engines: tuple[Warehouse, Warehouse], spec: FeaturesSpec) -> None:
    duck, pg = engines
    tspec = TrainingSpec.model_validate({"snapshot": {"days_after_created": 7}, "label": {"window_days": 60}})
    a, b = build_training_set(spec, tspec, duck), build_training_set(spec, tspec, pg)
    assert a.digest == b.digest
    left, right = a.summary(), b.summary()
    left["leakage"].pop("seconds"), right["leakage"].pop("seconds")
    assert left == right
    for part in ("X_train", "X_val", "X_test", "y_train", "y_test"):
        left, right = getattr(a, part), getattr(b, part)
        assert len(left) > 0
        if isinstance(left, pd.DataFrame):
            pd.testing.assert_frame_equal(left, right)
        else:
            pd.testing.assert_series_equal(left, right)


def test_features_build_stores_the_same_snapshot_on_postgres(
    engines: tuple[Warehouse, Warehouse], spec: FeaturesSpec
) -> None:
    duck, pg = engines
    when = datetime(2025, 9, 1)
    done = [build_and_store(spec, wh, when) for wh in (duck, pg)]
    assert done[0]["rows"] == done[1]["rows"] > 0 and done[0]["spec_digest"] == done[1]["spec_digest"]
    query = "SELECT * FROM features_latest ORDER BY lead_id"
    a, b = duck.arrow(query), pg.arrow(query)
    assert_same_table(a.drop_columns(["as_of"]), b.drop_columns(["as_of"]))
    assert duck.scalar("SELECT rows FROM feature_builds") == pg.scalar("SELECT rows FROM feature_builds")
    build_and_store(spec.select(spec.names()[:5]), pg, when)  # a new column layout keeps the old table
    assert pg.table_exists(f"feature_snapshots_{done[1]['spec_digest']}")


BANK = Path(__file__).parents[2] / ".." / "shared" / "data" / "bank-additional-full.csv"


@pytest.mark.skipif(not BANK.exists(), reason="shared bank-marketing data not present")
def test_flat_export_training_sets_are_identical_on_postgres(warehouse: Warehouse, pg_warehouse: Warehouse) -> None:
    data = pd.read_csv(BANK, sep=";", nrows=3000)
    y = data.pop("y") == "yes"
    ids = [f"B{i:06d}" for i in range(len(data))]
    leads = pa.table({"lead_id": ids, "attributes": [json.dumps(r) for r in data.to_dict(orient="records")]})
    conv = [i for i, v in zip(ids, y, strict=True) if v]
    outcomes = pa.table({"outcome_id": conv, "lead_id": conv, "outcome": ["converted"] * len(conv)})
    numeric = {c for c in data.columns if pd.api.types.is_numeric_dtype(data[c])}
    defs = [
        {"name": c.replace(".", "_"), "label": c, "key": c, "type": "numeric" if c in numeric else "categorical"}
        for c in data.columns
    ]
    fs = FeaturesSpec.model_validate({"definitions": defs})
    built = []
    for wh in (warehouse, pg_warehouse):
        wh.insert("leads", leads)
        wh.insert("outcomes", outcomes)
        built.append(build_training_set(fs, TrainingSpec(), wh))
    a, b = built
    assert a.point_in_time is False and a.digest == b.digest and len(a.X_train) > 0
    pd.testing.assert_frame_equal(a.X_train, b.X_train)
    pd.testing.assert_frame_equal(a.X_test, b.X_test)


def test_the_feature_aggregate_runs_in_parallel_workers_on_postgres(
    engines: tuple[Warehouse, Warehouse], spec: FeaturesSpec, world: World
) -> None:
    """The activity aggregate is planned as Partial + Finalize (workers aggregate), not one serial aggregate over a
    fenced subquery (what kept the 1M build on one core); parallel costs are zeroed so a small table qualifies."""
    _, pg = engines
    when = world.end - timedelta(days=30)
    sql = feature_sql(spec, population="leads", as_of=when, per_lead=False, restrict_activities=False, dialect=pg.sql)
    assert "OFFSET 0" not in sql
    with pg.transaction():
        for setting in ("parallel_setup_cost = 0", "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0"):
            pg.execute(f"SET LOCAL {setting}")
        plan = "\n".join(str(r[0]) for r in pg.arrow(f"EXPLAIN {sql}").to_pylist() for r in [list(r.values())])
    assert "Partial HashAggregate" in plan or "Partial GroupAggregate" in plan, plan
    assert "Finalize" in plan, plan
