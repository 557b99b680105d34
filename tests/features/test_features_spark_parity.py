"""One feature SQL on Spark: the Spark dialect computes exactly the rows DuckDB computes, from Parquet tables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from features_synth import SPEC, World, load_world, make_world

from engine_parity import with_property_features, write_lake
from leadops.features.build import build_features, output_schema
from leadops.jobs.engines.spark import feature_frame, spark_features
from leadops.jobs.engines.spark_tables import read_view
from leadops.warehouse import Warehouse

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def world() -> World:
    """2,000 leads with ~24k activities."""
    return make_world(2_000, seed=11)


def test_spark_features_are_bit_identical_to_duckdb(spark: object, warehouse: Warehouse, world: World,
                                                    tmp_path: Path) -> None:  # fmt: skip
    spec = with_property_features(SPEC)
    load_world(warehouse, world)
    for table, path in write_lake(warehouse, tmp_path).items():
        read_view(spark, table, path)
    when = world.end - timedelta(days=30, microseconds=123)
    duck = build_features(spec, warehouse, as_of=when)
    assert isinstance(duck, pa.Table)
    spark.sql("SELECT lead_id FROM leads").createOrReplaceTempView("everyone")  # type: ignore[attr-defined]
    got = spark_features(spark, spec, when, "everyone").toArrow()
    # the population here is every lead; build_features keeps those created by T
    got = got.filter(pa.compute.is_in(got["lead_id"], duck["lead_id"])).sort_by("lead_id")
    got = got.cast(output_schema(spec, per_lead=False))
    assert got.num_rows == duck.num_rows > 1000
    for name in duck.column_names:
        assert got[name].equals(duck[name]), name
    assert pa.compute.sum(duck["pricing_pages"]).as_py() > 0 and pa.compute.sum(duck["answered"]).as_py() > 0
    # the executors' model frame equals the DuckDB engine's (dtypes included)
    from leadops.bundle.rows import feature_rows

    ids = [str(i) for i in duck["lead_id"].to_pylist()[:200]]
    pd_frame = feature_frame(got.slice(0, 200), spec)
    ref = feature_rows(spec, warehouse, ids, when)
    assert list(pd_frame.index) == ids and (pd_frame.dtypes == ref.dtypes).all()
    assert pd_frame.equals(ref)
