"""The two shapes the feature SQL takes (per-row columns in a subquery, or the table's raw columns with windows as
timestamp bounds) compute the same rows bit for bit, so an engine may take either (PostgreSQL takes the raw one)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
from features_synth import SPEC, load_world, make_world

from engine_parity import with_property_features
from leadops.features.build import output_schema
from leadops.features.sql import feature_sql, ts_literal
from leadops.settings.features import FeaturesSpec
from leadops.warehouse import Warehouse


def _both(warehouse: Warehouse, **kwargs: object) -> tuple[pa.Table, pa.Table]:
    spec = with_property_features(SPEC)
    per_lead = bool(kwargs.get("per_lead"))
    schema = output_schema(spec, per_lead=per_lead)
    out = []
    for raw in (False, True):
        sql = feature_sql(spec, raw_columns=raw, **kwargs)  # type: ignore[arg-type]
        assert ("FILTER (WHERE k " in sql) is not raw and ("a.occurred_at > " in sql) is raw
        out.append(warehouse.arrow_typed(sql, schema))
    return out[0], out[1]


def test_raw_column_shape_equals_the_per_row_column_shape(warehouse: Warehouse) -> None:
    world = make_world(2_000, seed=11)
    load_world(warehouse, world)
    when = world.end - timedelta(days=30, microseconds=123)
    population = f"(SELECT lead_id FROM leads WHERE created_at IS NULL OR created_at <= {ts_literal(when)})"
    coded, raw = _both(warehouse, population=population, as_of=when, per_lead=False, restrict_activities=False)
    assert coded.num_rows > 1000 and coded.equals(raw)
    assert pa.compute.sum(raw["engagement_decay_14"]).as_py() > 0
    assert pa.compute.count(raw["days_since_web_visit_30d"]).as_py() > 0


def test_raw_column_shape_equals_per_row_shape_for_snapshots(warehouse: Warehouse) -> None:
    world = make_world(800, seed=5)
    load_world(warehouse, world)
    base = world.leads.slice(0, 300)
    times = [world.end - timedelta(days=i % 90, seconds=i, microseconds=i) for i in range(300)]
    pop = pa.table({"lead_id": base["lead_id"], "as_of": pa.array(times, pa.timestamp("us"))})
    with warehouse.staged(pop) as name:
        coded, raw = _both(warehouse, population=name, as_of=None, per_lead=True)
    assert coded.num_rows == 300 and coded.equals(raw)


def test_a_window_reaching_before_year_one_still_counts_every_activity(warehouse: Warehouse) -> None:
    world = make_world(200, seed=3)
    load_world(warehouse, world)
    body = {"definitions": [
        {"name": "all_opens", "label": "opens", "kind": "activity", "types": ["email_open"]},
        {"name": "opens_forever", "label": "opens", "kind": "activity", "types": ["email_open"],
         "window_days": 800_000.0},
    ]}  # fmt: skip
    wide = FeaturesSpec.model_validate(body)
    when = datetime(2026, 1, 1)
    sql = feature_sql(wide, population="leads", as_of=when, per_lead=False, raw_columns=True)
    table = warehouse.arrow_typed(sql, output_schema(wide, per_lead=False))
    assert table["opens_forever"].equals(table["all_opens"]) and pa.compute.sum(table["all_opens"]).as_py() > 0
