"""Monitoring beside scoring: `leadops monitor` of a run vs the nightly job that produced it (goal <= 0.5x), and
the false alarms of a baseline company over weekly runs (goal <= 5 % of (feature, run) pairs, no score alert).

One workspace per size: the baseline fictional company, a LightGBM champion, weekly nightly runs over the last
weeks of the simulated year (the same population the job scores every night), each monitored against the first
run of the version and against the run before. Times are wall seconds of the two Python calls, same process.
The drift parts use leadops.monitoring.drill (the set-up the monitoring tests use too): the drift and concept
scenarios with a pre-onset champion, weekly runs across the onset, monitored again once the cohorts matured.

Environment: LEADOPS_BENCH_MONITOR_DATA keeps (and reuses) the companies in a folder (the 1M one takes long to
simulate, ingest and train: build it once, then measure under the bench lock); LEADOPS_BENCH_MONITOR_PARTS picks
parts (side, alarms, drift, maturing, recovery; default all); LEADOPS_BENCH_MONITOR_SIZES the side-by-side sizes
(default 200000,1250000; --quick 20000); LEADOPS_BENCH_MONITOR_RUNS the runs side by side (default 3).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

THREADS = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2"}
CAPACITY = 8  # Sales per day in the maturing parts: about a fifth of the new leads (captured at capacity means it)


def _workspace(base: Path, leads: int, scenario: str = "baseline") -> Any:
    from leadops.config import load
    from leadops.crm import ingest
    from leadops.modeling.train import train_model
    from leadops.registry import Registry
    from leadops.simulate import simulate
    from leadops.warehouse.connection import open_warehouse
    from leadops.workspace import init_workspace

    ws = base / f"company-{scenario}-{leads}"
    if (ws / "leadops.yaml").exists() and (ws / "company.ready").exists():
        return load(ws, environ=THREADS)  # kept from an earlier run (LEADOPS_BENCH_MONITOR_DATA)
    init_workspace(ws)
    simulate(ws, scenario=scenario, leads=leads, seed=7)
    settings = load(ws, environ=THREADS)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ingest(settings, wh)
        trained = train_model(settings, wh, "predictive")
        Registry(settings, wh).promote(
            trained.version or 0, gates_passed=None, gate_detail=None, force=True, reason="benchmark"
        )
    (ws / "company.ready").write_text("simulated, ingested, champion promoted\n")
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
    from leadops.modeling.retrain import retrain
    from leadops.monitoring.drill import drift_company, fresh_workspace, nightly
    from leadops.monitoring.monitor import monitor

    ws = base / f"company-recovery-{leads}"
    with fresh_workspace(ws) as wh:
        drill = drift_company(ws, wh, leads=leads, environ=THREADS)
        nightly(drill, wh, range(-56, 57, 7), monitored=False)
        last = nightly(drill, wh, [(drill.last_day - drill.onset).days], monitored=False)[-1]
        found = monitor(drill.settings, wh, run_id=str(last))
        after = drill.settings_with(
            LEADOPS_TRAINING__DATA_END=drill.last_day.isoformat(),
            LEADOPS_RETRAINING__ACTION="promote",
            LEADOPS_RETRAINING__ON_DRIFT__MIN_FEATURES="2",
        )
        decided = retrain(after, wh, now=drill.last_day)
        audit = wh.rows(
            "SELECT action, version, reason FROM registry_audit WHERE action IN ('promote', 'retrain') "
            "ORDER BY seq DESC LIMIT 2"
        )
    return {
        "onset": drill.onset,
        "champion": drill.champion,
        "cohorts": found.performance,
        "retrain": decided,
        "audit": audit,
    }


def _maturing(base: Path, leads: int, scenario: str, weeks: int = 6) -> dict[str, Any]:
    """The pre-onset champion's weekly runs from 18 weeks before the onset to `weeks` + 2 after, monitored at the
    last and 126 days later (`monitoring.drill.maturing`): the pooled cohorts before vs after the onset, each as
    estimated while immature and as realised once mature."""
    from leadops.monitoring.drill import drift_company, fresh_workspace, maturing

    env = {
        "LEADOPS_MONITORING__NEW_LEADS__MIN_ROWS": "60",
        "LEADOPS_BUSINESS__CAPACITY__BY": "total",
        "LEADOPS_BUSINESS__CAPACITY__PER_DAY": str(CAPACITY),
    }
    ws = base / f"company-maturing-{scenario}-{leads}"
    with fresh_workspace(ws) as wh:
        drill = drift_company(ws, wh, scenario=scenario, leads=leads, days=432, environ=env)
        got = maturing(drill, wh, weeks=weeks)
    return {"scenario": scenario, "leads": leads, "got": got}


def _maturing_rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """Realised vs estimated while immature, pooled cohorts before and after the onset, and what monitoring said."""
    got = found["got"]

    def fig(estimate: Any, c: Any) -> str:
        r = c.realised or {}
        ref = estimate.reference
        basis = (
            f"recalibrated on {ref.leads} matured leads, slope {ref.slope:.2f} [{ref.slope_ci[0]:.2f}, "
            f"{ref.slope_ci[1]:.2f}]"
            if ref is not None
            else "the model's own probabilities"
        )
        inside = estimate.expected_auc_ci[0] <= r.get("auc") <= estimate.expected_auc_ci[1]
        return (
            f"{c.leads} leads: AUC {r.get('auc'):.3f} [{r['auc_ci'][0]:.3f}, {r['auc_ci'][1]:.3f}] (estimated while "
            f"immature {estimate.expected_auc:.3f} [{estimate.expected_auc_ci[0]:.3f}, "
            f"{estimate.expected_auc_ci[1]:.3f}], {basis}: realised {'inside' if inside else 'outside'}); conversion "
            f"{r.get('conversion_rate'):.4f} (estimated [{estimate.expected_rate_ci[0]:.4f}, "
            f"{estimate.expected_rate_ci[1]:.4f}]); captured {r.get('captured_at_capacity'):.3f} "
            f"[{r['captured_ci'][0]:.3f}, {r['captured_ci'][1]:.3f}]; ECE {r.get('ece'):.4f} (calibrated below "
            f"{c.ece_limit:.4f}); held at maturity {c.held}"
        )

    late = got.late
    kinds = sorted({a.kind for a in late.alerts if a.kind in ("concept_drift", "performance_drop")})
    new_flags = [d.feature for d in late.new_drift if d.drifted and d.feature != "score"]
    return [
        {
            "name": f"{found['scenario']} scenario ({found['leads']:,} leads): realised AUC of the pre-onset champion, "
            "6 weekly cohorts after vs before the onset, once mature",
            "ours": (got.post.realised or {}).get("auc"),
            "baseline": (got.pre.realised or {}).get("auc"),
            "ratio": None,
            "goal": "the drop shows once the cohorts mature; the estimate tracks the realised figure",
            "unit": "AUC",
            "note": f"before: {fig(got.pre_estimate, got.pre)}; after: {fig(got.post_estimate, got.post)}; alerts at "
            f"maturity {kinds}; new-lead features drifted then {new_flags}; {_load()}",
        }
    ]


def _side_by_side(settings: Any, runs: int) -> dict[str, Any]:
    """Score a run, then monitor it, `runs` times a week apart (interleaved): the best of each, in seconds. A kept
    company (LEADOPS_BENCH_MONITOR_DATA) that has runs already goes on a day after its latest: the job is
    idempotent per as-of, and a later run is monitored as a night after the first is (its reference kept)."""
    from leadops.config import load
    from leadops.jobs.run import score_job
    from leadops.monitoring.monitor import monitor
    from leadops.warehouse.connection import open_warehouse

    settings = load(settings.workspace, environ=THREADS)
    score_s, monitor_s, leads = [], [], 0
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        end = wh.rows("SELECT max(created_at) FROM leads")[0][0]
        latest = wh.rows("SELECT max(as_of) FROM score_runs WHERE status = 'published'")[0][0]
        start = datetime(end.year, end.month, end.day) - timedelta(weeks=runs)
        start = start if latest is None else latest + timedelta(days=1)
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


def _parts() -> set[str]:
    wanted = os.environ.get("LEADOPS_BENCH_MONITOR_PARTS")
    return set(wanted.split(",")) if wanted else {"side", "alarms", "drift", "maturing", "recovery"}


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows: monitor vs score seconds (side by side, best of the runs), false alarms, drift, maturing, recovery."""
    leads, weeks = (20_000, 6) if quick else (200_000, 10)
    parts = _parts()
    sized = os.environ.get("LEADOPS_BENCH_MONITOR_SIZES")
    sizes = [int(x) for x in sized.split(",")] if sized else [leads] if quick else [leads, 1_250_000]
    runs = int(os.environ.get("LEADOPS_BENCH_MONITOR_RUNS", "3"))
    rows: list[dict[str, Any]] = []
    kept = os.environ.get("LEADOPS_BENCH_MONITOR_DATA")
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        base = Path(kept) if kept else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for size in sizes if "side" in parts else []:  # 1.25M simulated: ~1M open leads in the last runs
            got = _side_by_side(_workspace(base, size), runs)
            rows.append(
                {
                    "name": f"monitor vs the nightly job, {got['leads']:,} open leads",
                    "ours": got["monitor"],
                    "baseline": got["score"],
                    "ratio": got["monitor"] / got["score"] if got["score"] else None,
                    "goal": "<= 0.5x at 1M leads",
                    "unit": "s",
                    "note": f"best of {runs} weekly runs, each scored then monitored; all {got['all']}; {_load()}",
                }
            )
        for reference in ("previous_run", "first_run") if "alarms" in parts else ():
            got = _weekly(_workspace(base, leads), weeks, reference)
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
        if "drift" in parts:
            drift = _drift_detection(base, leads)
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
        for scenario in ("concept", "drift") if "maturing" in parts else ():
            rows.extend(_maturing_rows(_maturing(base, 15_500, scenario)))
        if "recovery" in parts:
            rows.extend(_recovery_rows(_recovery(base, leads)))
    return rows
