"""A tiny foreground scheduler for a small install: run each configured job at its local time, catching up once.

No new dependency: the schedule is a handful of daily HH:MM slots in one time zone, so a loop that sleeps until
the next slot is enough (cron or Airflow run the same `leadops score` command on bigger installs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadops.config import Settings
from leadops.redaction import redact_text
from leadops.settings.jobs import DAYS, ScheduledJob, ScheduleSpec

log = logging.getLogger("leadops.schedule")


@dataclass(frozen=True)
class Slot:
    """One occurrence of a scheduled job: which job, at which instant (aware, in the schedule's zone)."""

    job: ScheduledJob
    at: datetime

    @property
    def as_of(self) -> datetime:
        """The slot as naive UTC, the as-of the job scores with (so a retry of the slot is the same run)."""
        return self.at.astimezone(UTC).replace(tzinfo=None)


def _slot_on(job: ScheduledJob, day: datetime, zone: ZoneInfo) -> datetime | None:
    if DAYS[day.weekday()] not in job.days:
        return None
    hour, minute = (int(x) for x in job.at.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def latest_slot(job: ScheduledJob, spec: ScheduleSpec, now: datetime) -> Slot | None:
    """The most recent occurrence at or before `now` (within the last 8 days)."""
    zone = ZoneInfo(spec.timezone)
    local = now.astimezone(zone)
    for back in range(8):
        at = _slot_on(job, local - timedelta(days=back), zone)
        if at is not None and at <= local:
            return Slot(job, at)
    return None


def next_slot(job: ScheduledJob, spec: ScheduleSpec, now: datetime) -> Slot:
    """The first occurrence strictly after `now`."""
    zone = ZoneInfo(spec.timezone)
    local = now.astimezone(zone)
    for ahead in range(8):
        at = _slot_on(job, local + timedelta(days=ahead), zone)
        if at is not None and at > local:
            return Slot(job, at)
    raise AssertionError("a job with at least one weekday always has a slot within 8 days")


def _monitor_after(settings: Settings, warehouse: Any, run_id: str) -> dict[str, Any]:
    """Monitor the run just published; a monitoring failure is reported, never fails the scoring slot."""
    from leadops.errors import LeadOpsError
    from leadops.monitoring.monitor import monitor

    try:
        found = monitor(settings, warehouse, run_id=run_id)
    except LeadOpsError as exc:
        log.error("monitoring run %s failed: %s", run_id, redact_text(str(exc)))
        return {"ok": False, "error": redact_text(str(exc))}
    return {"ok": True, "drifted": [d.feature for d in found.drift if d.drifted], "alerts": len(found.alerts)}


def _default_runner(settings: Settings) -> Callable[[Slot], dict[str, Any]]:
    def run(slot: Slot) -> dict[str, Any]:
        from leadops.jobs.run import score_job
        from leadops.warehouse import open_warehouse

        with open_warehouse(settings.warehouse.url, settings.workspace) as warehouse:
            scored = score_job(settings, warehouse, as_of=slot.as_of, engine=slot.job.engine).to_dict()
            if settings.monitoring.after_score and scored.get("run_id"):
                scored["monitor"] = _monitor_after(settings, warehouse, str(scored["run_id"]))
            return scored

    return run


def run_schedule(
    settings: Settings,
    *,
    once: bool = False,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    runner: Callable[[Slot], dict[str, Any]] | None = None,
    max_cycles: int | None = None,
) -> list[dict[str, Any]]:
    """Run the schedule in the foreground. Each job's latest due slot runs once (catch-up after downtime);
    `once=True` runs the due slots and returns instead of waiting for the next ones."""
    spec = settings.schedule
    now_fn = clock or (lambda: datetime.now(UTC))
    run = runner or _default_runner(settings)
    done: set[tuple[str, datetime]] = set()
    results: list[dict[str, Any]] = []
    cycles = 0
    while True:
        now = now_fn()
        for job in spec.jobs:
            slot = latest_slot(job, spec, now)
            if slot is None or (job.name, slot.at) in done:
                continue
            done.add((job.name, slot.at))
            log.info("running %s for slot %s", job.name, slot.at.isoformat())
            try:
                outcome = {"job": job.name, "slot": slot.at.isoformat(), **run(slot)}
            except Exception as exc:  # keep the loop alive: the next slot retries; cron would do the same
                log.error("%s for slot %s failed: %s", job.name, slot.at.isoformat(), redact_text(str(exc)))
                outcome = {
                    "job": job.name,
                    "slot": slot.at.isoformat(),
                    "status": "failed",
                    "error": redact_text(str(exc)),
                }
            results.append(outcome)
        cycles += 1
        if once or (max_cycles is not None and cycles >= max_cycles):
            return results
        upcoming = min(next_slot(job, spec, now).at for job in spec.jobs)
        wait = (upcoming - now_fn()).total_seconds()
        sleep(max(0.0, min(wait, spec.poll_seconds)))
