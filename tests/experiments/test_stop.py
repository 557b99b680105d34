"""`experiment stop`: a hand stop takes no new units (nightly and online), keeps the log, is audited and final;
a `stop:` in leadops.yaml behaves the same; the readout covers the units assigned before the stop and says so."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from leadops.experiments import store
from leadops.experiments.errors import ExperimentNotFoundError, ExperimentStoppedError, StopTimeError
from leadops.experiments.online import arm_of, read_stops, with_stops, write_stops
from leadops.experiments.report import experiment_report
from leadops.settings.business import BusinessSettings
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse

START = datetime(2026, 1, 1)


def _spec(**changes: object) -> ExperimentSpec:
    body: dict[str, object] = {
        "name": "model-v2",
        "arms": [{"name": "control"}, {"name": "treatment", "model": "7"}],
        "start": START,
        "population": "open",
    }
    body.update(changes)
    return ExperimentSpec.model_validate(body)


def _leads(n: int, offset: int = 0) -> pa.Table:
    return pa.table({"lead_id": [f"L{i:05d}" for i in range(offset, offset + n)]})


def test_a_hand_stop_takes_no_new_units_keeps_the_log_and_is_audited_once(warehouse: Warehouse) -> None:
    spec = _spec()
    store.register(warehouse, spec, now=START)
    first = store.assign(warehouse, spec, _leads(50), at=START + timedelta(days=1))
    record, changed = store.stop(warehouse, "model-v2", reason="guardrail breached", now=START + timedelta(days=2))
    assert (
        changed
        and record.spec.stop == START + timedelta(days=2)
        and record.phase(START + timedelta(days=3)) == ("stopped")
    )
    info = record.stop_info()
    assert info is not None and info.by == "hand" and info.reason == "guardrail breached" and info.actor
    # the nightly job's assign with the record's spec: logged leads keep their arm, new leads get none
    later = store.assign(warehouse, record.spec, _leads(100), at=START + timedelta(days=3))
    assert later == first and store.assignments(warehouse, "model-v2").num_rows == 50
    # leadops.yaml synced again (no stop: declared) does not undo the hand stop
    store.sync(warehouse, [spec], now=START + timedelta(days=3))
    assert store.get_experiment(warehouse, "model-v2").spec.stop == START + timedelta(days=2)
    # the same stop again changes nothing; moving it is refused
    again, changed_again = store.stop(warehouse, "model-v2", now=START + timedelta(days=4))
    assert not changed_again and again.stopped_at == record.stopped_at
    with pytest.raises(ExperimentStoppedError, match="already stopped by hand") as moved:
        store.stop(warehouse, "model-v2", at=START + timedelta(days=3), now=START + timedelta(days=4))
    assert moved.value.exit_code == 41
    log = store.audit_entries(warehouse, "model-v2")
    assert [e["action"] for e in log] == ["register", "stop"]
    assert log[1]["reason"] == "guardrail breached" and log[1]["effective_at"] == START + timedelta(days=2)
    assert log[1]["detail"] == {"units_assigned_after": 0}


def test_stop_refuses_unknown_names_times_before_start_passed_config_stops_and_decided(warehouse: Warehouse) -> None:
    with pytest.raises(ExperimentNotFoundError, match="nope"):
        store.stop(warehouse, "nope", now=START)
    store.register(warehouse, _spec(), now=START)
    with pytest.raises(StopTimeError, match="before its start 2026-01-01") as early:
        store.stop(warehouse, "model-v2", at=START - timedelta(hours=1), now=START + timedelta(days=1))
    assert early.value.exit_code == 42
    store.register(warehouse, _spec(name="dated", stop=START + timedelta(days=5)), now=START)
    with pytest.raises(ExperimentStoppedError, match=r"stop: in leadops\.yaml"):
        store.stop(warehouse, "dated", now=START + timedelta(days=6))
    # a hand stop before the declared one wins, and the declared one is then the later of the two
    earlier, _ = store.stop(warehouse, "dated", at=START + timedelta(days=3), now=START + timedelta(days=2))
    assert earlier.spec.stop == START + timedelta(days=3) and earlier.declared_stop == START + timedelta(days=5)
    store.decide(warehouse, "model-v2", "keep", now=START + timedelta(days=2))
    with pytest.raises(ExperimentStoppedError, match="decided"):
        store.stop(warehouse, "model-v2", now=START + timedelta(days=3))


def test_a_config_stop_behaves_as_a_hand_stop_for_units_and_online(warehouse: Warehouse) -> None:
    declared = _spec(name="dated", stop=START + timedelta(days=2))
    by_hand = _spec(name="by-hand")
    store.sync(warehouse, [declared, by_hand], now=START)
    stopped, _ = store.stop(warehouse, "by-hand", at=START + timedelta(days=2), now=START + timedelta(days=1))
    configured = store.get_experiment(warehouse, "dated")
    info = configured.stop_info()
    assert info is not None and info.by == "config" and "leadops.yaml" in info.reason
    for spec in (configured.spec, stopped.spec):
        before = store.assign(warehouse, spec, _leads(40), at=START + timedelta(days=1))
        after = store.assign(warehouse, spec, _leads(80), at=START + timedelta(days=2))
        assert len(before) == 40 and after == before
    # online: the stops file the workers follow gives the declared spec the same stop
    assert with_stops([by_hand], store.hand_stops(warehouse))[0].stop == START + timedelta(days=2)
    at = START + timedelta(days=2, hours=1)
    assert all(arm_of([s], "L99999", None, None, at) is None for s in (configured.spec, stopped.spec))
    assert arm_of([by_hand], "L99999", None, None, at) is not None  # the unstopped declaration would take it


def test_the_stops_file_round_trips_and_a_damaged_one_names_itself(tmp_path: object) -> None:
    from pathlib import Path

    from leadops.experiments.errors import ExperimentError

    path = Path(str(tmp_path)) / ".leadops" / "experiment-stops.json"
    assert read_stops(path) == {}
    write_stops(path, {"b": START + timedelta(days=1), "a": START})
    assert read_stops(path) == {"a": START, "b": START + timedelta(days=1)}
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ExperimentError, match=r"experiment-stops\.json"):
        read_stops(path)


def test_a_readout_after_a_past_stop_counts_only_units_assigned_before_it_and_says_why(warehouse: Warehouse) -> None:
    spec = _spec(stop=START + timedelta(days=30))
    store.register(warehouse, spec, now=START)
    for day in range(6):
        store.assign(warehouse, spec, _leads(100, offset=100 * day), at=START + timedelta(days=day, hours=5))
    record, _ = store.stop(
        warehouse, "model-v2", at=START + timedelta(days=3), reason="arm v7 broke a guardrail", now=START + timedelta(6)
    )
    assert store.audit_entries(warehouse, "model-v2")[-1]["detail"] == {"units_assigned_after": 300}
    result = experiment_report(
        warehouse,
        record.spec,
        BusinessSettings(),
        sales_types=["sales_touch"],
        as_of=START + timedelta(days=60),
        stop=record.stop_info(),
    )
    readout = result.readout
    assert readout["units"] == 300 and readout["units_after_stop"] == 300 and readout["stopped"] is True
    assert readout["stop"]["by"] == "hand" and readout["stop"]["reason"] == "arm v7 broke a guardrail"
    assert readout["stop"]["at"] == (START + timedelta(days=3)).isoformat()
    assert sum(a["units"] for a in readout["arms"]) == 300
