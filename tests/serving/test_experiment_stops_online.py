"""The online service follows hand stops: once `experiment stop` wrote the stops file, a worker gives a new lead
of a declared experiment no arm (the champion), as the nightly job does, and a lead in the stopped experiment's
log keeps its logged arm until the experiment is decided."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from leadops.config import load
from leadops.experiments import store
from leadops.experiments.online import STOPS_FILE, arm_of, write_stops
from leadops.serving.slot import ModelSlot


def test_a_worker_takes_in_a_hand_stop_from_the_stops_file(tmp_path: Path) -> None:
    (tmp_path / "leadops.yaml").write_text(
        "experiments:\n  - {name: ab, start: 2026-01-01, population: open, arms: [{name: c}, {name: t, model: '2'}]}\n",
        encoding="utf-8",
    )
    slot = ModelSlot(load(tmp_path, environ={}))
    now = datetime(2026, 2, 2)
    slot.follow_stops()
    assert arm_of(slot.experiments(), "L1", None, None, now) is not None
    write_stops(tmp_path / STOPS_FILE, {"ab": datetime(2026, 2, 1)})
    slot.follow_stops()
    (spec,) = slot.experiments()
    assert spec.stop == datetime(2026, 2, 1)
    assert arm_of(slot.experiments(), "L1", None, None, now) is None
    assert arm_of(slot.experiments(), "L1", None, None, datetime(2026, 1, 31) + timedelta(hours=1)) is not None


def test_after_a_stop_logged_leads_keep_their_arm_online_until_decided(tmp_path: Path) -> None:
    from leadops.warehouse import open_warehouse

    (tmp_path / "leadops.yaml").write_text(
        "experiments:\n  - {name: ab, start: 2026-01-01, population: open, arms: [{name: c}, {name: t, model: '2'}]}\n",
        encoding="utf-8",
    )
    settings = load(tmp_path, environ={})
    ids = [f"L{i}" for i in range(40)]
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        store.sync(wh, settings.experiments, now=datetime(2026, 1, 1))
        logged = store.assign(wh, settings.experiments[0], pa.table({"lead_id": ids}), at=datetime(2026, 1, 10))
        store.stop(wh, "ab", at=datetime(2026, 2, 1), now=datetime(2026, 2, 1))
        write_stops(tmp_path / STOPS_FILE, store.hand_stops(wh))
    slot = ModelSlot(settings)
    slot.follow_stops()
    leads = [{"lead_id": i} for i in [*ids, "L-new"]]
    arms = slot.arms_for(leads, datetime(2026, 2, 2))
    assert [a.arm.name if a else None for a in arms] == [logged[i] for i in ids] + [None]
    assert {logged[i] for i in ids} == {"c", "t"}
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        store.decide(wh, "ab", "keep", now=datetime(2026, 3, 1))
    fresh = ModelSlot(settings)
    fresh.follow_stops()
    assert fresh.arms_for(leads, datetime(2026, 3, 2)) == [None] * len(leads)
