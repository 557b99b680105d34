"""A drift drill on the fictional company: what the monitoring tests and benchmarks/bench_monitoring.py both set up.

A drift company (or the concept scenario's) simulated over `days` with its onset at `drift_day`, ingested, and a
pre-drift champion trained on data up to the onset and promoted; then nightly runs at chosen days from the onset,
each optionally monitored right after it was scored, as `leadops schedule` does.
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
