"""Monitoring beside scoring: `leadops monitor` of a run vs the nightly job that produced it (goal <= 0.5x), and
the false alarms of a baseline company over weekly runs (goal <= 5 % of (feature, run) pairs, no score alert).

One workspace per size: the baseline fictional company, a LightGBM champion, weekly nightly runs over the last
weeks of the simulated year (the same population the job scores every night), each monitored against the first
run of the version and against the run before. Times are wall seconds of the two Python calls, same process.
"""

from __future__ import annotations

import os
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
        pairs = flagged = score_alerts = volume_alerts = 0
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
            features = [d for d in [*found.drift, *found.new_drift] if d.feature != "score"]
            pairs += len(features)
            flagged += sum(d.drifted for d in features)
            score_alerts += sum(
                a.kind == "score_drift" or (a.kind == "new_lead_drift" and a.feature == "score") for a in found.alerts
            )
            volume_alerts += sum(a.kind in ("lead_volume", "source_volume", "source_mix") for a in found.alerts)
    return {
        "pairs": pairs,
        "flagged": flagged,
        "score_alerts": score_alerts,
        "volume_alerts": volume_alerts,
        "score_s": score_s,
        "monitor_s": monitor_s,
        "leads": leads,
    }


def _drift_detection(base: Path, leads: int) -> dict[str, Any]:
    """The drift scenario (new leads change industry and source mix from day 243): nightly runs from 3 days before
    the onset to 7 after; the first day the changed features are flagged among the new leads, and what was."""
    from leadops.config import load
    from leadops.jobs.run import score_job
    from leadops.monitoring.monitor import monitor
    from leadops.warehouse.connection import open_warehouse

    settings = _workspace(base, leads, "drift")
    settings = load(settings.workspace, environ=THREADS)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        first = wh.rows("SELECT min(created_at) FROM leads")[0][0]
        onset = datetime(first.year, 1, 1) + timedelta(days=243)
        flagged_at, notes, open_flags = None, [], []
        for day in range(-3, 8):
            run = score_job(settings, wh, as_of=onset + timedelta(days=day))
            found = monitor(settings, wh, run_id=run.run_id)
            fresh = [d.feature for d in found.new_drift if d.drifted and d.feature != "score"]
            volume = [a.feature for a in found.alerts if a.kind == "source_volume"]
            open_flags.append(sum(d.drifted for d in found.drift if d.feature != "score"))
            if day <= 0 and (fresh or volume):
                notes.append(f"before the onset ({day} d): {fresh} {volume}")
            if day > 0 and fresh and flagged_at is None:
                flagged_at = day
                notes.append(f"{day} d after: new leads {fresh}, source volume {volume}, {found.new_leads} new leads")
    return {"days": flagged_at, "notes": notes, "open_flags": open_flags}


def _recovery(base: Path, leads: int) -> dict[str, Any]:
    """A drift company over 540 days: a champion trained before the onset, weekly runs around it, monitoring as
    the cohorts mature, then the retraining policy (on drift, action promote) against the champion."""
    from leadops.config import load
    from leadops.crm import ingest
    from leadops.jobs.run import score_job
    from leadops.modeling.retrain import retrain
    from leadops.modeling.train import train_model
    from leadops.monitoring.monitor import monitor
    from leadops.registry import Registry
    from leadops.simulate import simulate
    from leadops.warehouse.connection import open_warehouse
    from leadops.workspace import init_workspace

    ws = base / f"company-recovery-{leads}"
    init_workspace(ws)
    simulate(ws, scenario="drift", leads=leads, days=540, seed=7, drift_day=243)
    plain = load(ws, environ=THREADS)
    with open_warehouse(plain.warehouse.url, plain.workspace) as wh:
        ingest(plain, wh)
        start, end = wh.rows("SELECT min(created_at), max(created_at) FROM leads")[0]
        onset = datetime(start.year, 1, 1) + timedelta(days=243)
        before = load(ws, environ={**THREADS, "LEADOPS_TRAINING__DATA_END": onset.isoformat()})
        champion = train_model(before, wh, "predictive")
        Registry(before, wh).promote(
            champion.version or 0, gates_passed=None, gate_detail=None, force=True, reason="the pre-drift champion"
        )
        for week in range(-8, 9):
            score_job(before, wh, as_of=onset + timedelta(weeks=week))
        last = score_job(before, wh, as_of=datetime(end.year, end.month, end.day))
        found = monitor(before, wh, run_id=last.run_id)
        after = load(
            ws,
            environ={
                **THREADS,
                "LEADOPS_TRAINING__DATA_END": datetime(end.year, end.month, end.day).isoformat(),
                "LEADOPS_RETRAINING__ACTION": "promote",
                "LEADOPS_RETRAINING__ON_DRIFT__MIN_FEATURES": "2",
            },
        )
        decided = retrain(after, wh, now=datetime(end.year, end.month, end.day))
        audit = wh.rows(
            "SELECT action, version, reason FROM registry_audit WHERE action IN ('promote', 'retrain') "
            "ORDER BY seq DESC LIMIT 2"
        )
    return {"onset": onset, "champion": champion, "cohorts": found.performance, "retrain": decided, "audit": audit}


def _side_by_side(settings: Any, runs: int) -> dict[str, Any]:
    """Score a run, then monitor it, `runs` times a week apart (interleaved): the best of each, in seconds."""
    from leadops.config import load
    from leadops.jobs.run import score_job
    from leadops.monitoring.monitor import monitor
    from leadops.warehouse.connection import open_warehouse

    settings = load(settings.workspace, environ=THREADS)
    score_s, monitor_s, leads = [], [], 0
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        end = wh.rows("SELECT max(created_at) FROM leads")[0][0]
        start = datetime(end.year, end.month, end.day) - timedelta(weeks=runs)
        for week in range(runs):
            t = time.perf_counter()
            run = score_job(settings, wh, as_of=start + timedelta(weeks=week))
            score_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            leads = monitor(settings, wh, run_id=run.run_id).run_leads
            monitor_s.append(time.perf_counter() - t)
    return {"score": min(score_s), "monitor": min(monitor_s), "leads": leads, "all": (score_s, monitor_s)}


def _load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _recovery_rows(got: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance drop as cohorts mature, estimate vs realised, and the retrained challenger's recovery."""
    onset: datetime = got["onset"]
    mature = [c for c in got["cohorts"] if c.mature and c.realised and c.realised.get("auc") is not None]
    pre = [c for c in mature if c.week < onset - timedelta(days=14)]  # created (and first scored) before it
    post = [c for c in mature if c.week >= onset]
    rows: list[dict[str, Any]] = []

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    pre_auc = mean([float(c.realised["auc"]) for c in pre if c.realised])
    post_auc = mean([float(c.realised["auc"]) for c in post if c.realised])
    rows.append(
        {
            "name": "drift scenario: realised AUC of the pre-drift champion, mature cohorts after vs before the onset",
            "ours": post_auc,
            "baseline": pre_auc,
            "ratio": None if not pre_auc or post_auc is None else post_auc / pre_auc,
            "goal": "the drop shows once the cohorts mature",
            "unit": "AUC",
            "note": f"{len(post)} mature weekly cohorts after the onset, {len(pre)} before; {_load()}",
        }
    )
    gaps = [abs(float(c.expected_auc) - float(c.realised["auc"])) for c in mature if c.expected_auc and c.realised]
    rate_gaps = [
        abs(float(c.expected_conversion_rate) - float(c.realised["conversion_rate"]))
        for c in mature
        if c.expected_conversion_rate is not None and c.realised and c.realised.get("conversion_rate") is not None
    ]
    rows.append(
        {
            "name": "estimated vs realised performance, mature weekly cohorts (mean |estimate - realised|)",
            "ours": mean(gaps),
            "baseline": mean(rate_gaps),
            "ratio": None,
            "goal": "the estimate tracks the realised figure",
            "unit": "AUC (ours) / conversion rate (baseline column)",
            "note": "; ".join(
                f"{c.week:%m-%d} est {c.expected_auc:.3f} real {float(c.realised['auc']):.3f}"
                for c in mature
                if c.expected_auc and c.realised
            ),
        }
    )
    decided = got["retrain"]
    champion_pre = got["champion"].metrics.get("captured_at_capacity")
    challenger = decided.train.get("captured_at_capacity")
    drop = (((decided.train.get("gates") or {}).get("gates") or {}).get("max_captured_at_capacity_drop") or {}).get(
        "value"
    )
    champion_post = None if drop is None or challenger is None else challenger + drop
    rows.append(
        {
            "name": "retraining recovery: conversions captured at capacity, retrained challenger (post-drift test "
            "leads) vs the champion before the drift (its own test leads)",
            "ours": challenger,
            "baseline": champion_pre,
            "ratio": None if not champion_pre or challenger is None else challenger / champion_pre,
            "goal": ">= 0.9x, promoted through the gates with an audit trail",
            "unit": "share of conversions",
            "note": f"decision {decided.decision} (v{decided.version}): {decided.reason}; triggers {decided.triggers}; "
            f"the old champion on the same post-drift leads {champion_post}; audit {got['audit']}",
        }
    )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows: monitor vs score seconds (side by side, best of the runs), false alarms, drift, recovery."""
    leads, weeks = (20_000, 6) if quick else (200_000, 10)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        sizes = [leads] if quick else [leads, 1_250_000]  # 1.25M simulated: ~1M open leads in the last runs
        workspaces = {}
        for size in sizes:
            workspaces[size] = _workspace(Path(tmp), size)
            got = _side_by_side(workspaces[size], 3)
            rows.append(
                {
                    "name": f"monitor vs the nightly job, {got['leads']:,} open leads",
                    "ours": got["monitor"],
                    "baseline": got["score"],
                    "ratio": got["monitor"] / got["score"] if got["score"] else None,
                    "goal": "<= 0.5x at 1M leads",
                    "unit": "s",
                    "note": f"best of 3 weekly runs, each scored then monitored; all {got['all']}; {_load()}",
                }
            )
        settings = workspaces[leads]
        for reference in ("previous_run", "first_run"):
            got = _weekly(settings, weeks, reference)
            share = got["flagged"] / got["pairs"] if got["pairs"] else None
            rows.append(
                {
                    "name": f"baseline false alarms, reference {reference}, {weeks} weekly runs",
                    "ours": share,
                    "baseline": None,
                    "ratio": None,
                    "goal": "<= 5 % of (feature, run) pairs; 0 score alerts",
                    "unit": "",
                    "note": f"{got['flagged']} of {got['pairs']} pairs flagged (open and new leads); "
                    f"{got['score_alerts']} score alerts; {got['volume_alerts']} volume/mix alerts; {_load()}",
                }
            )
        drift = _drift_detection(Path(tmp), leads)
        rows.append(
            {
                "name": "drift scenario (industry and source mix of new leads), nightly runs, reference first_run",
                "ours": drift["days"],
                "baseline": None,
                "ratio": None,
                "goal": "the changed features flagged within 7 days of the onset",
                "unit": "days",
                "note": "; ".join(drift["notes"]) + f"; open-lead features flagged per night {drift['open_flags']}",
            }
        )
        rows.extend(_recovery_rows(_recovery(Path(tmp), leads)))
    return rows
