"""The experiment store: experiments registered from settings, sticky assignments, readouts round-tripped."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest
from scipy import stats

from leadops.experiments import store
from leadops.experiments.assignment import BUCKETS, arms_for, bucket, buckets, expected_shares
from leadops.experiments.errors import AssignmentConflictError, ExperimentNotFoundError
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse

START = datetime(2026, 1, 1)


def _spec(**changes: object) -> ExperimentSpec:
    body: dict[str, object] = {
        "name": "model-v2",
        "arms": [{"name": "control", "model": "champion"}, {"name": "treatment", "model": "7", "weight": 1}],
        "start": START,
        "population": "open",
    }
    body.update(changes)
    return ExperimentSpec.model_validate(body)


def _leads(n: int, offset: int = 0) -> pa.Table:
    ids = [f"L{i:05d}" for i in range(offset, offset + n)]
    return pa.table(
        {
            "lead_id": ids,
            "account_id": [f"A{i // 4:05d}" for i in range(offset, offset + n)],
            "created_at": pa.array([START + timedelta(days=i % 10 - 3) for i in range(n)], pa.timestamp("us")),
        }
    )


def test_bucket_is_sha256_of_salt_and_id_mod_10000() -> None:
    import hashlib

    digest = hashlib.sha256(b"salty:L1").digest()
    assert bucket("salty", "L1") == int.from_bytes(digest[:8], "big") % BUCKETS
    assert list(buckets("salty", ["L1", "L2"])) == [bucket("salty", "L1"), bucket("salty", "L2")]
    assert bucket("other", "L1") != bucket("salty", "L1") or bucket("other", "L2") != bucket("salty", "L2")


def test_hash_split_follows_the_weights_by_a_chi_square_test() -> None:
    spec = _spec(arms=[{"name": "a", "weight": 1}, {"name": "b", "weight": 3}])
    assert expected_shares(spec) == {"a": 0.25, "b": 0.75}
    arms = arms_for(spec, [f"L{i}" for i in range(40_000)])
    observed = [arms.count("a"), arms.count("b")]
    assert stats.chisquare(observed, [10_000, 30_000]).pvalue > 0.001


def test_settings_reject_duplicate_arms_unknown_control_and_bad_models() -> None:
    with pytest.raises(ValueError, match="unique"):
        _spec(arms=[{"name": "a"}, {"name": "a"}])
    with pytest.raises(ValueError, match="control"):
        _spec(control="zzz")
    with pytest.raises(ValueError, match="version number"):
        _spec(arms=[{"name": "a", "model": "latest"}, {"name": "b"}])
    with pytest.raises(ValueError, match="stop"):
        _spec(stop=START - timedelta(days=1))


def test_experiments_list_loads_from_leadops_yaml(tmp_path: object) -> None:
    from pathlib import Path

    from leadops.config import load
    from leadops.errors import ConfigError

    root = Path(str(tmp_path))
    (root / "leadops.yaml").write_text(
        "experiments:\n  - name: e1\n    start: 2026-01-01\n    arms: [{name: c}, {name: t, routing: capacity}]\n"
        "    primary_kpi: {metric: revenue_per_lead, window_days: 45}\n",
        encoding="utf-8",
    )
    settings = load(root, environ={})
    assert settings.experiments[0].primary_kpi.window_days == 45
    assert settings.experiments[0].arms[1].routing == "capacity"
    (root / "leadops.yaml").write_text(
        "experiments:\n  - {name: e1, start: 2026-01-01, arms: [{name: c}, {name: t}]}\n"
        "  - {name: e1, start: 2026-01-01, arms: [{name: c}, {name: t}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="unique"):
        load(root, environ={})


def test_assignment_is_logged_once_and_never_changes(warehouse: Warehouse) -> None:
    spec = _spec()
    store.register(warehouse, spec, now=START)
    first = store.assign(warehouse, spec, _leads(200), at=START + timedelta(hours=1), arm_versions={"treatment": 7})
    assert len(first) == 200
    assert first == dict(
        zip(_leads(200).column("lead_id").to_pylist(), arms_for(spec, _leads(200)["lead_id"].to_pylist()), strict=True)
    )
    # the split cannot change once units have arms; dates can
    reweighed = _spec(arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 99}])
    with pytest.raises(AssignmentConflictError, match="arms changed"):
        store.register(warehouse, reweighed, now=START + timedelta(days=1))
    with pytest.raises(AssignmentConflictError, match="salt"):
        store.register(warehouse, _spec(salt="other"), now=START + timedelta(days=1))
    longer = _spec(stop=START + timedelta(days=90))
    store.register(warehouse, longer, now=START + timedelta(days=1))
    again = store.assign(warehouse, longer, _leads(300), at=START + timedelta(days=1))
    assert {k: again[k] for k in first} == first
    from leadops.experiments.online import arm_of

    online = {k: arm_of([longer], k, None, None, START + timedelta(days=1)) for k in again}
    assert all(o is not None and o.arm.name == again[k] for k, o in online.items())
    table = store.assignments(warehouse, "model-v2")
    assert table.num_rows == 300
    versions = dict(zip(table["lead_id"].to_pylist(), table["model_version"].to_pylist(), strict=True))
    assert all(versions[k] == (7 if arm == "treatment" else None) for k, arm in first.items())
    counts = store.assignment_counts(warehouse, "model-v2")
    assert sum(counts.values()) == 300


def test_account_unit_gives_colleagues_one_arm_and_new_population_skips_old_leads(warehouse: Warehouse) -> None:
    spec = _spec(unit="account", population="new")
    store.register(warehouse, spec, now=START)
    leads = _leads(400)
    arms = store.assign(warehouse, spec, leads, at=START + timedelta(days=8))
    created = dict(zip(leads["lead_id"].to_pylist(), leads["created_at"].to_pylist(), strict=True))
    assert arms and all(created[k] >= START for k in arms)
    assert len(arms) < 400
    table = store.assignments(warehouse, "model-v2")
    by_unit: dict[str, set[str]] = {}
    for unit, arm in zip(table["unit_id"].to_pylist(), table["arm"].to_pylist(), strict=True):
        by_unit.setdefault(unit, set()).add(arm)
    assert all(len(a) == 1 for a in by_unit.values())
    assert all(u.startswith("A") for u in by_unit)


def test_no_new_units_after_stop_but_logged_ones_are_still_reported(warehouse: Warehouse) -> None:
    spec = _spec(stop=START + timedelta(days=2))
    store.register(warehouse, spec, now=START)
    store.assign(warehouse, spec, _leads(50), at=START + timedelta(days=1))
    later = store.assign(warehouse, spec, _leads(100), at=START + timedelta(days=3))
    assert len(later) == 50


def test_dropping_an_arm_that_has_units_is_refused(warehouse: Warehouse) -> None:
    store.register(warehouse, _spec(), now=START)
    store.assign(warehouse, _spec(), _leads(40), at=START + timedelta(hours=1))
    renamed = _spec(arms=[{"name": "control"}, {"name": "new-treatment"}])
    with pytest.raises(AssignmentConflictError, match="treatment"):
        store.register(warehouse, renamed)


def test_list_get_decide_and_readouts_round_trip(warehouse: Warehouse) -> None:
    store.sync(warehouse, [_spec(), _spec(name="routing-test")], now=START)
    names = [r.name for r in store.list_experiments(warehouse)]
    assert sorted(names) == ["model-v2", "routing-test"]
    with pytest.raises(ExperimentNotFoundError, match="model-v2"):
        store.get_experiment(warehouse, "nope")
    assert store.get_experiment(warehouse, "model-v2").phase(START + timedelta(days=1)) == "running"
    row = {
        "readout_id": "model-v2:treatment:1",
        "experiment": "model-v2",
        "as_of": START + timedelta(days=40),
        "created_at": START + timedelta(days=40),
        "kpi": "conversion_within_days",
        "window_days": 30,
        "control_arm": "control",
        "treatment_arm": "treatment",
        "units": 100,
        "mature_units": 90,
        "mature": True,
        "control_kpi": 0.1,
        "treatment_kpi": 0.12,
        "diff": 0.02,
        "diff_low": -0.01,
        "diff_high": 0.05,
        "lift": 0.2,
        "lift_low": -0.1,
        "lift_high": 0.5,
        "p_value": 0.2,
        "sequential_p": 0.6,
        "srm_p": 0.9,
        "recommendation": "inconclusive",
        "reason": "the interval spans zero",
        "incremental_revenue": None,
        "roi": None,
        "html_path": None,
        "readout": {"arms": [{"name": "control"}]},
    }
    store.save_readout(warehouse, row)
    store.save_readout(
        warehouse, row | {"readout_id": "model-v2:treatment:2", "created_at": START + timedelta(days=41)}
    )
    got = store.readouts(warehouse, "model-v2")
    assert [r["readout_id"] for r in got] == ["model-v2:treatment:2", "model-v2:treatment:1"]
    assert got[0]["readout"] == {"arms": [{"name": "control"}]}
    assert len(store.readouts(warehouse, latest=True)) == 1
    store.decide(warehouse, "model-v2", "keep", now=START + timedelta(days=42))
    assert store.get_experiment(warehouse, "model-v2").phase(START + timedelta(days=43)) == "decided"
    assert [r.name for r in store.active(warehouse, START + timedelta(days=43))] == ["routing-test"]
