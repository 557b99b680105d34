"""Training sets: label maturity, exclusions, time-ordered split, point-in-time safety, digests, flat data."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from features_synth import World, load_world, make_world

from leadops.errors import FeatureError
from leadops.features.build import build_and_store, build_features
from leadops.features.training import build_training_set, digest_frame
from leadops.settings.features import FeaturesSpec, TrainingSpec
from leadops.warehouse import Warehouse

T0 = datetime(2025, 1, 1)
BANK = Path(__file__).parents[2] / ".." / "shared" / "data" / "bank-additional-full.csv"


def _ts(items: list[datetime | None]) -> pa.Array:
    return pa.array(items, pa.timestamp("us"))


def _tiny(warehouse: Warehouse) -> None:
    """Five hand-made leads; the data ends 2025-06-30 (the last outcome)."""
    warehouse.insert(
        "leads",
        pa.table(
            {
                "lead_id": [
                    "mature_neg",
                    "mature_pos",
                    "late_pos",
                    "immature",
                    "decided_before",
                    "conv_after_window",
                ],
                "created_at": _ts([T0, T0, T0, datetime(2025, 6, 1), T0, T0]),
            }
        ),
    )
    warehouse.insert(
        "outcomes",
        pa.table(
            {
                "outcome_id": ["o1", "o2", "o3", "o4", "o5"],
                "lead_id": ["mature_pos", "late_pos", "decided_before", "conv_after_window", "immature"],
                "occurred_at": _ts(
                    [
                        datetime(2025, 1, 20),
                        datetime(2025, 2, 1),
                        datetime(2025, 1, 3),
                        datetime(2025, 3, 20),
                        datetime(2025, 6, 30),
                    ]
                ),
                "outcome": ["converted", "converted", "disqualified", "converted", "converted"],
                "deal_value": [1000.0, 2000.0, None, 500.0, 700.0],
            }
        ),
    )


def _tiny_specs() -> tuple[FeaturesSpec, TrainingSpec]:
    fs = FeaturesSpec.model_validate({"definitions": [{"name": "age", "label": "lead age", "kind": "builtin"}]})
    ts = TrainingSpec.model_validate(
        {
            "snapshot": {"days_after_created": 7},
            "label": {"window_days": 60},
            "split": {"train": 0.5, "validation": 0.25, "test": 0.25},
            "leakage": {"enabled": False},
        }
    )
    return fs, ts


def test_label_maturity_exclusions_and_windows(warehouse: Warehouse) -> None:
    _tiny(warehouse)
    result = build_training_set(*_tiny_specs(), warehouse)
    ids = pd.concat([result.ids[s] for s in ("train", "validation", "test")]).tolist()
    labels = pd.concat([result.y_train, result.y_val, result.y_test]).tolist()
    got = dict(zip(ids, labels, strict=True))
    # snapshot = created + 7 days; window 60 days; data end = 2025-06-30
    assert got == {"mature_neg": 0, "mature_pos": 1, "late_pos": 1, "conv_after_window": 0}
    # created 2025-06-01: its window closes in August, after the data end -> censored, never a negative
    assert result.censored["lead_id"].tolist() == ["immature"]
    assert bool(result.censored["converted_so_far"].iloc[0]) is True
    assert "decided_before" not in ids  # disqualified before its snapshot
    assert any("censored" in w for w in result.warnings)
    values = dict(zip(ids, pd.concat([result.deal_values[s] for s in ("train", "validation", "test")]), strict=True))
    assert values["mature_pos"] == 1000.0 and values["mature_neg"] == 0.0 and values["conv_after_window"] == 0.0


def test_configured_data_end_decides_maturity(warehouse: Warehouse) -> None:
    _tiny(warehouse)
    fs, ts = _tiny_specs()
    # snapshots are 2025-01-08; + 60 days = 2025-03-09: on 03-08 no window has closed yet
    with pytest.raises(FeatureError, match="no snapshot has a mature label"):
        build_training_set(fs, ts.model_copy(update={"data_end": datetime(2025, 3, 8)}), warehouse)
    result = build_training_set(fs, ts.model_copy(update={"data_end": datetime(2025, 3, 9)}), warehouse)
    assert len(result.y_train) + len(result.y_val) + len(result.y_test) == 4
    assert set(result.censored["lead_id"]) == {"immature"}


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(3_000, seed=5)


def test_time_ordered_split_has_no_overlap_and_respects_time(
    warehouse: Warehouse, world: World, spec: FeaturesSpec, training_spec: TrainingSpec
) -> None:
    load_world(warehouse, world)
    result = build_training_set(spec, training_spec, warehouse)
    t = result.times
    assert t["train"].max() < t["validation"].min()
    assert t["validation"].max() < t["test"].min()
    keys = [set(zip(result.ids[s], t[s], strict=True)) for s in ("train", "validation", "test")]
    assert not (keys[0] & keys[1]) and not (keys[1] & keys[2]) and not (keys[0] & keys[2])
    n = sum(len(k) for k in keys)
    assert abs(len(keys[0]) / n - 0.6) < 0.02 and abs(len(keys[2]) / n - 0.2) < 0.02
    assert result.point_in_time and result.y_train.sum() > 20
    assert set(result.X_train.select_dtypes("number").dtypes) == {np.dtype("float64")}
    assert all(str(result.X_train[c].dtype) == "str" for c in result.categorical)


@pytest.mark.slow
def test_events_after_the_snapshot_never_change_a_training_row(
    warehouse: Warehouse, world: World, spec: FeaturesSpec, training_spec: TrainingSpec
) -> None:
    load_world(warehouse, world)
    ts = training_spec.model_copy(update={"data_end": world.end})
    before = build_training_set(spec, ts, warehouse)
    # append activities of every type right after each lead's snapshot (and before the data end)
    leads = world.leads.to_pandas()
    snap = leads["created_at"] + pd.Timedelta(days=7)
    rng = np.random.default_rng(9)
    rows = []
    for i, (lid, t) in enumerate(zip(leads["lead_id"], snap, strict=True)):
        for k, kind in enumerate(("email_open", "demo_request", "pricing_view", "email_click")):
            when = t + pd.Timedelta(microseconds=1 + int(rng.integers(0, 10**9)) * k)
            if when < world.end:
                rows.append((f"late{i}_{k}", lid, when.to_pydatetime(), kind, 1.0))
    late = pa.table(
        {
            "activity_id": [r[0] for r in rows],
            "lead_id": [r[1] for r in rows],
            "occurred_at": pa.array([r[2] for r in rows], pa.timestamp("us")),
            "activity_type": [r[3] for r in rows],
            "value": [r[4] for r in rows],
        }
    )
    warehouse.insert("activities", late)
    after = build_training_set(spec, ts, warehouse)
    assert after.digest == before.digest
    pd.testing.assert_frame_equal(after.X_train, before.X_train)
    pd.testing.assert_frame_equal(after.X_test, before.X_test)
    # ... while the same events do show up in features computed after them (the test can fail)
    snapshot_rows = (
        pa.table({"lead_id": late["lead_id"], "as_of": late["occurred_at"]})
        .group_by(["lead_id", "as_of"])
        .aggregate([])
    )
    seen = build_features(spec, warehouse, per_lead_as_of=snapshot_rows, as_pandas=True)
    assert (seen["email_opens_7d"] > 0).mean() > 0.5


def test_digest_is_stable_and_sensitive_to_one_changed_row(
    warehouse: Warehouse, world: World, spec: FeaturesSpec, training_spec: TrainingSpec
) -> None:
    load_world(warehouse, world)
    first = build_training_set(spec, training_spec, warehouse)
    again = build_training_set(spec, training_spec, warehouse)
    assert first.digest == again.digest and len(first.digest) == 64
    victim = first.ids["train"].iloc[5]
    warehouse.execute("UPDATE leads SET attributes = '{\"score_hint\": 1234.5}' WHERE lead_id = ?", [victim])
    changed = build_training_set(spec, training_spec, warehouse)
    assert changed.digest != first.digest


def test_digest_frame_depends_on_every_value() -> None:
    frame = pd.DataFrame({"lead_id": ["a", "b"], "x": [1.0, np.nan], "c": ["u", None]})
    base = digest_frame(frame)
    assert digest_frame(frame.copy()) == base
    assert digest_frame(frame.assign(x=[1.0, 0.0])) != base
    assert digest_frame(frame.assign(c=["u", "None"])) != base
    assert digest_frame(frame.assign(x=[1.0 + 1e-12, np.nan])) != base


def test_build_and_store_writes_a_queryable_table(warehouse: Warehouse, spec: FeaturesSpec) -> None:
    load_world(warehouse, make_world(500, seed=8))
    as_of = datetime(2025, 10, 1)
    out = build_and_store(spec, warehouse, as_of)
    again = build_and_store(spec, warehouse, as_of)
    assert out["rows"] == again["rows"] > 0 and out["features"] == len(spec.names())
    assert warehouse.scalar("SELECT count(*) FROM feature_snapshots") == out["rows"]
    assert warehouse.scalar("SELECT count(*) FROM features_latest WHERE email_opens_90d >= 0") == out["rows"]
    assert warehouse.scalar("SELECT count(*) FROM feature_builds") == 2


def _load_flat_bank(warehouse: Warehouse, data: pd.DataFrame) -> None:
    y = data.pop("y") == "yes"
    ids = [f"B{i:06d}" for i in range(len(data))]
    records = data.to_dict(orient="records")
    warehouse.insert("leads", pa.table({"lead_id": ids, "attributes": [json.dumps(r) for r in records]}))
    conv = [i for i, v in zip(ids, y, strict=True) if v]
    warehouse.insert("outcomes", pa.table({"outcome_id": conv, "lead_id": conv, "outcome": ["converted"] * len(conv)}))


@pytest.mark.slow
@pytest.mark.skipif(not BANK.exists(), reason="shared bank-marketing data not present")
def test_flat_bank_export_trains_on_attributes_and_drops_duration(warehouse: Warehouse) -> None:
    data = pd.read_csv(BANK, sep=";")
    numeric = [c for c in data.columns if c != "y" and pd.api.types.is_numeric_dtype(data[c])]
    defs = [
        {
            "name": c.replace(".", "_"),
            "label": c,
            "key": c,
            "type": "numeric" if c in numeric else "categorical",
        }
        for c in data.columns
        if c != "y"
    ]
    defs.append({"name": "contacts_90d", "label": "contacts", "kind": "activity", "window_days": 90})
    fs = FeaturesSpec.model_validate({"definitions": defs})
    _load_flat_bank(warehouse, data)
    result = build_training_set(fs, TrainingSpec(), warehouse)
    assert result.point_in_time is False
    assert any("point-in-time safety cannot be checked" in w for w in result.warnings)
    assert result.leakage.excluded == ["duration"]
    assert "duration" not in result.features and "contacts_90d" not in result.features
    n = len(data)
    assert len(result.X_train) + len(result.X_val) + len(result.X_test) == n
    rates = [result.y_train.mean(), result.y_val.mean(), result.y_test.mean()]
    assert max(rates) - min(rates) < 0.003  # stratified
