"""Derived features compile once and are referenced: deep chains and nesting build fast, in bounded memory."""

from __future__ import annotations

import resource
import time
from datetime import datetime

from features_synth import SPEC, load_world, make_world
from test_features_parity import assert_identical, online_table

from leadops.features.build import build_features
from leadops.features.sql import derived_layers, feature_sql
from leadops.settings.features import FeaturesSpec
from leadops.warehouse import Warehouse


def _chain_spec(n: int = 20) -> FeaturesSpec:
    """SPEC plus chain_1 = email_opens_30d + 1 and chain_k = chain_{k-1} * 0.5 + chain_{k-1} / 3 (each uses the
    previous twice), and nested min/max/log1p whose SQL repeats their arguments."""
    chain = [{"name": "chain_1", "kind": "derived", "expression": "email_opens_30d + 1"}]
    for k in range(2, n + 1):
        prev = f"chain_{k - 1}"
        chain.append({"name": f"chain_{k}", "kind": "derived", "expression": f"{prev} * 0.5 + {prev} / 3"})
    nested = "log1p(" * 20 + "email_opens_30d" + ")" * 20
    deep_min = "min(" * 12 + "email_opens_30d, 1" + "), 2" * 11 + ")"
    extras = [
        {"name": "nested_log1p", "kind": "derived", "expression": nested},
        {"name": "nested_min", "kind": "derived", "expression": deep_min},
        {"name": "max_of_chain", "kind": "derived", "expression": f"max(chain_{n} - 1, log1p(chain_{n}))"},
    ]
    labelled = [{**f, "label": f["name"].replace("_", " ")} for f in [*chain, *extras]]
    return FeaturesSpec.model_validate({**SPEC, "definitions": [*SPEC["definitions"], *labelled]})


def test_the_sql_of_a_chain_of_20_grows_linearly_not_doubling() -> None:
    spec = _chain_spec(20)
    sql = feature_sql(spec, population="leads", as_of=datetime(2025, 6, 1), per_lead=False)
    assert len(sql) < 40_000, f"{len(sql):,} characters: derived features are being inlined"
    layers = derived_layers(spec)
    level = {name: i for i, layer in enumerate(layers) for name, _ in layer}
    assert all(level[f"chain_{k}"] > level[f"chain_{k - 1}"] for k in range(2, 21))
    for layer in layers:
        for _, text in layer:
            assert "chain_" not in text or text.count('"chain_') <= 2, text


def test_a_chain_of_20_builds_in_seconds_with_bounded_memory_and_matches_the_single_lead_path(
    warehouse: Warehouse,
) -> None:
    spec = _chain_spec(20)
    world = make_world(1_500, seed=5)
    load_world(warehouse, world)
    as_of = datetime(2025, 11, 3, 12, 30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    table = build_features(spec, warehouse, as_of=as_of)
    elapsed = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert elapsed < 10, f"{elapsed:.1f}s"
    assert grown_mb < 500, f"peak memory grew {grown_mb:.0f} MB"
    sql_rows = table.to_pylist()
    py_rows = online_table(spec, world, [(r["lead_id"], as_of) for r in sql_rows])
    assert_identical(sql_rows, py_rows, spec.names())
    assert sum(r["chain_20"] is not None and r["chain_20"] > 0 for r in sql_rows) > 100
