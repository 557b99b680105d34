"""The online service follows hand stops: once `experiment stop` wrote the stops file, a worker gives a new lead
of a declared experiment no arm (the champion), as the nightly job does."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from leadops.config import load
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
