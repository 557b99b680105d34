"""The foreground scheduler: runs each slot once at its local time, catches up after downtime, honours days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from jobs_fakes import make_settings
from pydantic import ValidationError

from leadops.jobs.schedule import Slot, latest_slot, next_slot, run_schedule
from leadops.settings.jobs import ScheduleSpec

NY = ZoneInfo("America/New_York")


def _spec(**kw: object) -> ScheduleSpec:
    return ScheduleSpec.model_validate({"timezone": "America/New_York", "jobs": [{"at": "05:00", **kw}]})


def test_next_slot_is_05_00_local_across_a_dst_change():
    spec = _spec()
    before = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # Saturday; DST starts Sunday 8 March 2026
    first = next_slot(spec.jobs[0], spec, before)
    second = next_slot(spec.jobs[0], spec, first.at)
    assert first.at == datetime(2026, 3, 8, 5, 0, tzinfo=NY) and first.as_of == datetime(2026, 3, 8, 9, 0)
    assert second.as_of == datetime(2026, 3, 9, 9, 0)  # EDT: 05:00 local is 09:00 UTC


def test_weekdays_only_skip_the_weekend():
    spec = _spec(days=["mon", "tue", "wed", "thu", "fri"])
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=NY)
    assert next_slot(spec.jobs[0], spec, saturday).at.weekday() == 0
    latest = latest_slot(spec.jobs[0], spec, saturday)
    assert latest is not None and latest.at == datetime(2026, 3, 6, 5, 0, tzinfo=NY)


def test_loop_runs_each_slot_once_and_catches_up_after_downtime(tmp_path):
    settings = make_settings(tmp_path, schedule={"timezone": "America/New_York", "jobs": [{"at": "05:00"}]})
    now = [datetime(2026, 3, 10, 4, 59, tzinfo=NY)]
    ran: list[Slot] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)

    results = run_schedule(
        settings,
        clock=lambda: now[0],
        sleep=sleep,
        runner=lambda s: (ran.append(s), {"status": "published"})[1],
        max_cycles=200,
    )
    assert [s.at for s in ran][:2] == [datetime(2026, 3, 9, 5, 0, tzinfo=NY), datetime(2026, 3, 10, 5, 0, tzinfo=NY)]
    assert len(ran) == len({s.at for s in ran}) == len(results)
    assert max(sleeps) <= 30


def test_once_runs_the_due_slot_and_returns(tmp_path):
    settings = make_settings(tmp_path, schedule={"timezone": "UTC", "jobs": [{"at": "05:00"}]})
    clock = lambda: datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # noqa: E731
    out = run_schedule(settings, once=True, clock=clock, runner=lambda s: {"as_of": s.as_of.isoformat()})
    assert out == [{"job": "nightly_score", "slot": "2026-03-10T05:00:00+00:00", "as_of": "2026-03-10T05:00:00"}]


def test_bad_schedule_settings_name_the_key():
    with pytest.raises(ValidationError, match="HH:MM"):
        _spec(at="5am")
    with pytest.raises(ValidationError, match="IANA"):
        ScheduleSpec.model_validate({"timezone": "Mars/Olympus"})


def test_a_failed_job_logs_and_reports_no_password(tmp_path, caplog):
    settings = make_settings(tmp_path, schedule={"timezone": "UTC", "jobs": [{"at": "05:00"}]})
    clock = lambda: datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # noqa: E731

    def runner(slot: Slot) -> dict[str, object]:
        raise RuntimeError("cannot reach postgresql://scorer:hunter2@db.internal/crm?sslpassword=hunter3")

    with caplog.at_level("ERROR", logger="leadops.schedule"):
        out = run_schedule(settings, once=True, clock=clock, runner=runner)
    assert out[0]["status"] == "failed" and "scorer:***@db.internal" in out[0]["error"]
    assert "hunter" not in out[0]["error"] and "hunter" not in caplog.text and "***" in caplog.text
