"""Monitoring beside scoring: `leadops monitor` of a run vs the nightly job that produced it (goal <= 0.5x), and
the false alarms of a baseline company over weekly runs (goal <= 5 % of (feature, run) pairs, no score alert).

One workspace per size: the baseline fictional company, a LightGBM champion, weekly nightly runs over the last
weeks of the simulated year (the same population the job scores every night), each monitored against the first
run of the version and against the run before. Times are wall seconds of the two Python calls, same process.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

THREADS = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2"}


def _workspace(base: Path, leads: int, scenario: str = "baseline") -> Any:
    from leadops.config import load
    from leadops.crm import ingest
    from leadops.modeling.train import train_model
    from leadops.registry import Registry
    from leadops.simulate import simulate
    from leadops.warehouse.connection import open_warehouse
    from leadops.workspace import init_workspace

    ws = base / f"company-{scenario}-{leads}"
    init_workspace(ws)
    simulate(ws, scenario=scenario, leads=leads, seed=7)
    settings = load(ws, environ=THREADS)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ingest(settings, wh)
        trained = train_model(settings, wh, "predictive")
        Registry(settings, wh).promote(
            trained.version or 0, gates_passed=None, gate_detail=None, force=True, reason="benchmark"
        )
    return settings


def _weekly(settings: Any, weeks: int, reference: str) -> dict[str, Any]:
    from leadops.config import load
    from leadops.jobs.run import score_job
    from leadops.monitoring.monitor import monitor
    from leadops.warehouse.connection import open_warehouse

    settings = load(settings.workspace, environ={**THREADS, "LEADOPS_MONITORING__REFERENCE": reference})
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        end = wh.rows("SELECT max(created_at) FROM leads")[0][0]
        start = datetime(end.year, end.month, end.day) - timedelta(weeks=weeks)
        pairs = flagged = score_alerts = 0
        score_s: list[float] = []
        monitor_s: list[float] = []
        leads = 0
        for week in range(weeks):
            as_of = start + timedelta(weeks=week)
            t = time.perf_counter()
            run = score_job(settings, wh, as_of=as_of)
            score_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            found = monitor(settings, wh, run_id=run.run_id)
            monitor_s.append(time.perf_counter() - t)
            leads = found.run_leads
            if found.reference_run == found.run_id:
                continue  # the reference itself
            features = [d for d in found.drift if d.feature != "score"]
            pairs += len(features)
            flagged += sum(d.drifted for d in features)
            score_alerts += sum(a.kind == "score_drift" for a in found.alerts)
    return {
        "pairs": pairs,
        "flagged": flagged,
        "score_alerts": score_alerts,
        "score_s": score_s,
        "monitor_s": monitor_s,
        "leads": leads,
    }


def _drift_detection(base: Path, leads: int) -> dict[str, Any]:
    """The drift scenario (new leads change industry and source mix from day 243): days until it is flagged."""
    from leadops.config import load
    from leadops.jobs.run import score_job
    from leadops.monitoring.monitor import monitor
    from leadops.warehouse.connection import open_warehouse

    settings = _workspace(base, leads, "drift")
    settings = load(settings.workspace, environ=THREADS)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        first = wh.rows("SELECT min(created_at) FROM leads")[0][0]
        onset = datetime(first.year, 1, 1) + timedelta(days=243)
        flagged_at, flagged = None, []
        for day in range(-14, 29, 7):
            as_of = onset + timedelta(days=day)
            run = score_job(settings, wh, as_of=as_of)
            found = monitor(settings, wh, run_id=run.run_id)
            moved = [d.feature for d in found.drift if d.drifted and d.feature != "score"]
            if day <= 0 and moved:
                flagged.append(f"before onset ({day} d): {moved}")
            if day > 0 and moved and flagged_at is None:
                flagged_at, flagged = day, [*flagged, f"{day} d after onset: {moved}"]
    return {"days": flagged_at, "flagged": flagged}


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows: monitor vs score seconds (median of the weekly runs), false-alarm share per reference."""
    leads, weeks = (20_000, 6) if quick else (200_000, 10)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        settings = _workspace(Path(tmp), leads)
        for reference in ("previous_run", "first_run"):
            got = _weekly(settings, weeks, reference)
            if reference == "previous_run":
                mon = sorted(got["monitor_s"][1:])[len(got["monitor_s"][1:]) // 2]
                sco = sorted(got["score_s"][1:])[len(got["score_s"][1:]) // 2]
                rows.append(
                    {
                        "name": f"monitor vs the nightly job, {got['leads']:,} open leads",
                        "ours": mon,
                        "baseline": sco,
                        "ratio": mon / sco if sco else None,
                        "goal": "<= 0.5x",
                        "unit": "s",
                        "note": "median of the weekly runs; monitor = drift on a 50k sample + cohorts + report",
                    }
                )
            share = got["flagged"] / got["pairs"] if got["pairs"] else None
            rows.append(
                {
                    "name": f"baseline false alarms, reference {reference}, {weeks} weekly runs",
                    "ours": share,
                    "baseline": None,
                    "ratio": None,
                    "goal": "<= 5 % of (feature, run) pairs; 0 score alerts",
                    "unit": "",
                    "note": f"{got['flagged']} of {got['pairs']} pairs flagged; {got['score_alerts']} score alerts",
                }
            )
        drift = _drift_detection(Path(tmp), leads)
        rows.append(
            {
                "name": "drift scenario (industry and source mix of new leads), weekly runs, reference first_run",
                "ours": drift["days"],
                "baseline": None,
                "ratio": None,
                "goal": "flagged within 7 days of the onset",
                "unit": "days",
                "note": "; ".join(drift["flagged"]) or "never flagged in the 4 weeks after the onset",
            }
        )
    return rows
