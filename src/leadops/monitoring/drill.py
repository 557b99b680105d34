"""A drift drill on the fictional company: what the monitoring tests and benchmarks/bench_monitoring.py both set up.

A drift company (or the concept scenario's) simulated over `days` with its onset at `drift_day`, ingested, and a
pre-drift champion trained on data up to the onset and promoted; then nightly runs at chosen days from the onset,
each optionally monitored right after it was scored, as `leadops schedule` does; and the maturing drill
(`maturing`): the estimates made while cohorts were immature set beside the realised figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from leadops.config import Settings, load

if TYPE_CHECKING:
    from leadops.modeling.results import TrainResult
    from leadops.monitoring.monitor import MonitorResult
    from leadops.monitoring.performance import Cohort
    from leadops.warehouse import Warehouse

THREADS = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2"}


@dataclass(frozen=True)
class Drill:
    """The drilled workspace: the champion's settings (data up to the onset), the onset, the history's last day."""

    workspace: Path
    settings: Settings
    onset: datetime
    last_day: datetime
    champion: TrainResult
    environ: Mapping[str, str]

    def settings_with(self, **env: str) -> Settings:
        """The workspace's settings with more LEADOPS_* overrides (e.g. a later data_end for retraining)."""
        return load(self.workspace, environ={**self.environ, **env})


@contextmanager
def fresh_workspace(path: Path) -> Iterator[Warehouse]:
    """A new workspace at `path` and its warehouse open for writing: where a drill runs."""
    from leadops.warehouse.connection import open_warehouse
    from leadops.workspace import init_workspace

    init_workspace(path)
    plain = load(path)
    with open_warehouse(plain.warehouse.url, plain.workspace) as warehouse:
        yield warehouse


def drift_company(
    workspace: Path,
    warehouse: Warehouse,
    *,
    scenario: str = "drift",
    leads: int = 8000,
    days: int = 540,
    seed: int = 7,
    drift_day: int = 243,
    environ: Mapping[str, str] | None = None,
) -> Drill:
    """Simulate and ingest the company into `warehouse` (opened on `workspace`), train and promote the champion."""
    from leadops.crm import ingest
    from leadops.modeling.train import train_model
    from leadops.registry import Registry
    from leadops.simulate import simulate

    env = {**THREADS, **(environ or {})}
    simulate(workspace, scenario=scenario, leads=leads, days=days, seed=seed, drift_day=drift_day)
    ingest(load(workspace, environ=env), warehouse)
    start, end = warehouse.rows("SELECT min(created_at), max(created_at) FROM leads")[0]
    onset = datetime(start.year, 1, 1) + timedelta(days=drift_day)
    before = load(workspace, environ={**env, "LEADOPS_TRAINING__DATA_END": onset.isoformat()})
    champion = train_model(before, warehouse, "predictive")
    Registry(before, warehouse).promote(
        champion.version or 0, gates_passed=None, gate_detail=None, force=True, reason="the pre-drift champion"
    )
    return Drill(workspace, before, onset, datetime(end.year, end.month, end.day), champion, env)


def nightly(
    drill: Drill, warehouse: Warehouse, days: Iterable[int], *, monitored: bool = True
) -> list[MonitorResult | str]:
    """Score (and monitor) a run at each of `days` after the onset (negative: before it), in order; per run its
    monitoring result, or its run id when not monitored."""
    from leadops.jobs.run import score_job
    from leadops.monitoring.monitor import monitor

    out: list[MonitorResult | str] = []
    for day in days:
        run = score_job(drill.settings, warehouse, as_of=drill.onset + timedelta(days=day))
        out.append(monitor(drill.settings, warehouse, run_id=run.run_id) if monitored else run.run_id)
    return out


@dataclass(frozen=True)
class Matured:
    """A maturing drill's outcome: the monitoring at the last weekly run (every cohort near the onset immature)
    and 126 days later (all of them mature), and the pooled periods before and after the onset, each as estimated
    while still immature (the newest estimate before its first label window closed) and as realised."""

    early: MonitorResult
    late: MonitorResult
    pre_estimate: Cohort
    post_estimate: Cohort
    pre: Cohort
    post: Cohort


def maturing(drill: Drill, warehouse: Warehouse, *, weeks: int = 6, before: int = 18) -> Matured:
    """Weekly runs of the champion from `before` weeks before the onset to `weeks` + 2 after (the last leads of
    the period reach the trained age of 14 days), monitored at the last and 126 days later; the `weeks` weeks
    either side of the onset pooled. The runs before the period give the matured reference the estimates are
    recalibrated on (out of sample: the champion trained on leads whose windows closed by the onset)."""
    from leadops.monitoring.monitor import MonitorResult, monitor

    runs = nightly(drill, warehouse, range(-7 * before, 7 * (weeks + 2) + 1, 7), monitored=False)
    early = monitor(drill.settings, warehouse, run_id=str(runs[-1]))
    late_day = 7 * (weeks + 2) + 126
    if drill.onset + timedelta(days=late_day) > drill.last_day:
        raise AssertionError(  # past the company's last day no lead arrives and no one is active: every input drifts
            f"drill: the late monitor ({late_day} days after the onset) falls after the simulated company's last "
            f"day {drill.last_day:%Y-%m-%d}; simulate more days"
        )
    (late,) = nightly(drill, warehouse, [late_day])
    assert isinstance(late, MonitorResult)
    span = timedelta(weeks=weeks)
    periods = [(drill.onset - span, drill.onset), (drill.onset, drill.onset + span)]
    estimates = [estimate_while_immature(drill, warehouse, a, b) for a, b in periods]
    realised = [_period(drill, warehouse, late.as_of, a, b) for a, b in periods]
    return Matured(early, late, estimates[0], estimates[1], realised[0], realised[1])


def _period(drill: Drill, warehouse: Warehouse, now: datetime, start: datetime, end: datetime) -> Cohort:
    from leadops.monitoring.performance import period

    found = period(drill.settings, warehouse, drill.champion.version or 0, now, start, end)
    if found is None:
        raise AssertionError(f"drill: no leads of the champion created in [{start}, {end})")
    return found


def estimate_while_immature(drill: Drill, warehouse: Warehouse, start: datetime, end: datetime) -> Cohort:
    """The pooled leads created in [start, end) as monitoring could estimate them last before the first of their
    label windows closed: the most any estimate made while they were immature could know."""
    from leadops.monitoring.performance import labelled

    frame = labelled(drill.settings, warehouse, drill.champion.version or 0, drill.last_day, start)
    rows = frame[(frame["created_at"] >= start) & (frame["created_at"] < end)]
    window = timedelta(days=drill.settings.training.label.window_days)
    when = rows["first_as_of"].min() + window - timedelta(days=1)
    return _period(drill, warehouse, when.to_pydatetime(), start, end)
