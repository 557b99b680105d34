"""`leadops monitor`: compare a published run's leads with its model's reference sample, store drift and alerts.

The current sample is up to `monitoring.sample_rows` of the run's scored leads (the same ones on every rerun:
ordered by md5 of the lead id), their features rebuilt from the model's own bundle as of the run (point in time,
so exactly what the job scored) and their published scores. The reference (`monitoring.reference`) is, by default,
the first published run of the same model version sampled the same way (the same population: open leads of every
age); or the run just before; or the held-out sample saved with the model (`reference.parquet`: leads at the
training snapshot's age). Results replace the run's earlier monitoring rows in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from leadops.bundle import Bundle, load_bundle
from leadops.config import Settings
from leadops.errors import NotFoundError
from leadops.monitoring.alerts import Alert, Delivery, deliver
from leadops.monitoring.drift import Kind
from leadops.monitoring.errors import MonitoringError
from leadops.monitoring.html import write_monitoring
from leadops.monitoring.performance import Cohort, cohorts
from leadops.monitoring.report import SCORE, FeatureDrift, drift_report
from leadops.registry.loading import load_artifact_dir
from leadops.settings.monitoring import MonitoringSettings
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow


@dataclass(frozen=True)
class MonitorResult:
    """What `leadops monitor` found for one run."""

    run_id: str
    as_of: datetime
    model_version: int
    reference: str
    reference_run: str | None
    reference_rows: int
    sample_rows: int
    run_leads: int
    drift: list[FeatureDrift]
    alerts: list[Alert] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    performance: list[Cohort] = field(default_factory=list)
    report: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """`monitor --json`: run, sample sizes, drift per feature (and the score), alerts."""
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "model_version": self.model_version,
            "reference": self.reference,
            "reference_run": self.reference_run,
            "reference_rows": self.reference_rows,
            "sample_rows": self.sample_rows,
            "run_leads": self.run_leads,
            "drifted": [d.feature for d in self.drift if d.drifted],
            "drift": {d.feature: d.to_dict() for d in self.drift},
            "alerts": [a.to_dict() for a in self.alerts],
            "deliveries": [d.to_dict() for d in self.deliveries],
            "performance": [c.to_dict() for c in self.performance],
            "report": None if self.report is None else str(self.report),
        }


def find_run(
    warehouse: Warehouse, run_id: str | None = None, as_of: datetime | None = None
) -> tuple[str, datetime, int]:
    """The published run to monitor: by id, else the latest at or before `as_of`, else the latest."""
    where = "status = 'published'"
    params: list[Any] = []
    if run_id is not None:
        where, params = where + " AND run_id = ?", [run_id]
    elif as_of is not None:
        where, params = where + " AND as_of <= ?", [as_of]
    rows = warehouse.rows(
        f"SELECT run_id, as_of, model_version FROM score_runs WHERE {where} "
        "ORDER BY as_of DESC, published_at DESC, run_id DESC LIMIT 1",
        params,
    )
    if not rows:
        what = f"run {run_id!r}" if run_id else "run" + (f" at or before {as_of:%Y-%m-%d %H:%M}" if as_of else "")
        raise NotFoundError(
            f"no published {what} to monitor",
            hint="run the nightly job first: `leadops score`",
        )
    rid, when, version = rows[0]
    return str(rid), when, int(version)


def reference_run(warehouse: Warehouse, how: str, run_id: str, as_of: datetime, version: int) -> tuple[str, datetime]:
    """The published run a run is compared with: the first of its model version, or the one just before it."""
    if how == "first_run":
        rows = warehouse.rows(
            "SELECT run_id, as_of FROM score_runs WHERE status = 'published' AND model_version = ? "
            "ORDER BY as_of, published_at, run_id LIMIT 1",
            [version],
        )
    else:
        rows = warehouse.rows(
            "SELECT run_id, as_of FROM score_runs WHERE status = 'published' AND run_id <> ? AND as_of <= ? "
            "ORDER BY as_of DESC, published_at DESC, run_id DESC LIMIT 1",
            [run_id, as_of],
        )
    return (str(rows[0][0]), rows[0][1]) if rows else (run_id, as_of)


def kinds_of(bundle: Bundle) -> dict[str, Kind]:
    """Each model feature's kind for the drift tests (booleans are numbers), then the score."""
    features = (bundle.summaries.get("features") or {}) if isinstance(bundle.summaries, dict) else {}
    out: dict[str, Kind] = {}
    for name in bundle.feature_names:
        kind = (features.get(name) or {}).get("type", "numeric")
        out[name] = "categorical" if kind == "categorical" else "numeric"
    out[SCORE] = "numeric"
    return out


def current_sample(
    warehouse: Warehouse, bundle: Bundle, run_id: str, as_of: datetime, rows: int
) -> tuple[pd.DataFrame, int]:
    """Up to `rows` of the run's leads (md5 order: the same ones every time) with features and score; run size."""
    total = int(warehouse.rows("SELECT count(*) FROM lead_scores WHERE run_id = ?", [run_id])[0][0])
    picked = warehouse.rows(
        "SELECT lead_id, score FROM lead_scores WHERE run_id = ? ORDER BY md5(lead_id), lead_id LIMIT ?",
        [run_id, rows],
    )
    ids = [str(r[0]) for r in picked]
    frame = bundle.rows(warehouse, ids, as_of).reset_index(drop=True)
    frame[SCORE] = pd.to_numeric(pd.Series([r[1] for r in picked], dtype=object), errors="coerce").astype(float)
    return frame, total


def alerts_for(run_id: str, drift: list[FeatureDrift], settings: MonitoringSettings) -> list[Alert]:
    """One alert per drifted feature (and the score), led by the statistic furthest over its threshold."""
    out = []
    for d in drift:
        if not d.drifted:
            continue
        worst = max(
            (s for s in d.stats.values() if s.drifted and s.value is not None),
            key=lambda s: (s.value or 0.0) / s.threshold,
        )
        ratio = (worst.value or 0.0) / worst.threshold
        is_score = d.feature == SCORE
        severity = "critical" if is_score or ratio >= settings.critical_factor else "warning"
        kind = "score_drift" if is_score else "feature_drift"
        subject = "the score" if is_score else f"feature {d.feature}"
        message = f"{subject} drifted: {worst.stat} {worst.value:.4g} >= {worst.threshold:g}" + (
            f" (also {', '.join(n for n in d.drifted_by if n != worst.stat)})" if len(d.drifted_by) > 1 else ""
        )
        out.append(
            Alert(
                alert_id=f"{run_id}:{kind}:{d.feature}",
                kind=kind,
                feature=None if is_score else d.feature,
                severity=severity,
                stat=worst.stat,
                value=worst.value,
                threshold=worst.threshold,
                message=message,
            )
        )
    return out


def performance_alerts(
    run_id: str, weeks: list[Cohort], inputs_drifted: bool, settings: MonitoringSettings
) -> list[Alert]:
    """The newest mature cohort's AUC against the earlier ones: a drop is concept drift when the inputs held."""
    aucs = [(c.week, float(c.realised["auc"])) for c in weeks if c.mature and c.realised and c.realised.get("auc")]
    if len(aucs) < 3:
        return []
    (week, latest), earlier = aucs[-1], [a for _, a in aucs[:-1]]
    usual = float(np.median(earlier))
    if latest >= usual - settings.auc_drop:
        return []
    kind = "performance_drop" if inputs_drifted else "concept_drift"
    why = "while the inputs drifted" if inputs_drifted else "while the inputs are stable (concept drift)"
    return [
        Alert(
            alert_id=f"{run_id}:{kind}:auc",
            kind=kind,
            feature=None,
            severity="critical",
            stat="auc",
            value=latest,
            threshold=usual - settings.auc_drop,
            message=(
                f"the cohort of {week:%Y-%m-%d} ranks at AUC {latest:.3f}, below the earlier cohorts' median "
                f"{usual:.3f} by more than {settings.auc_drop:g}, {why}"
            ),
        )
    ]


def _store(warehouse: Warehouse, result: MonitorResult) -> None:
    now = utcnow()
    stats = [(d, name, s) for d in result.drift for name, s in d.stats.items()]
    drift_rows = pa.table(
        {
            "run_id": [result.run_id] * len(stats),
            "feature": [d.feature for d, _, _ in stats],
            "stat": [name for _, name, _ in stats],
            "kind": [d.kind for d, _, _ in stats],
            "value": pa.array([s.value for _, _, s in stats], pa.float64()),
            "p_value": pa.array([s.p_value for _, _, s in stats], pa.float64()),
            "threshold": pa.array([s.threshold for _, _, s in stats], pa.float64()),
            "drifted": [s.drifted for _, _, s in stats],
        }
    )
    alerts = result.alerts
    alert_rows = pa.table(
        {
            "alert_id": [a.alert_id for a in alerts],
            "run_id": [result.run_id] * len(alerts),
            "as_of": pa.array([result.as_of] * len(alerts), pa.timestamp("us")),
            "kind": [a.kind for a in alerts],
            "feature": pa.array([a.feature for a in alerts], pa.string()),
            "severity": [a.severity for a in alerts],
            "stat": pa.array([a.stat for a in alerts], pa.string()),
            "value": pa.array([a.value for a in alerts], pa.float64()),
            "threshold": pa.array([a.threshold for a in alerts], pa.float64()),
            "message": [a.message for a in alerts],
            "created_at": pa.array([now] * len(alerts), pa.timestamp("us")),
        }
    )
    features = [d for d in result.drift if d.feature != SCORE]
    run_row = pa.table(
        {
            "run_id": [result.run_id],
            "as_of": pa.array([result.as_of], pa.timestamp("us")),
            "model_version": pa.array([result.model_version], pa.int32()),
            "reference": [result.reference if result.reference_run is None else f"run {result.reference_run}"],
            "reference_rows": [result.reference_rows],
            "sample_rows": [result.sample_rows],
            "run_leads": [result.run_leads],
            "features": [len(features)],
            "drifted_features": [sum(d.drifted for d in features)],
            "score_drifted": [any(d.drifted for d in result.drift if d.feature == SCORE)],
            "monitored_at": pa.array([now], pa.timestamp("us")),
        }
    )
    weeks = result.performance

    def realised(c: Cohort, key: str, i: int | None = None) -> float | None:
        value = (c.realised or {}).get(key)
        value = value[i] if i is not None and isinstance(value, list) else value
        return None if value is None else float(value)

    cohort_rows = pa.table(
        {
            "run_id": [result.run_id] * len(weeks),
            "model_version": pa.array([result.model_version] * len(weeks), pa.int32()),
            "cohort_week": pa.array([c.week.date() for c in weeks], pa.date32()),
            "leads": pa.array([c.leads for c in weeks], pa.int64()),
            "mature": pa.array([c.mature for c in weeks], pa.bool_()),
            "expected_conversion_rate": pa.array([c.expected_conversion_rate for c in weeks], pa.float64()),
            "expected_auc": pa.array([c.expected_auc for c in weeks], pa.float64()),
            "conversion_rate": pa.array([realised(c, "conversion_rate") for c in weeks], pa.float64()),
            "auc": pa.array([realised(c, "auc") for c in weeks], pa.float64()),
            "auc_low": pa.array([realised(c, "auc_ci", 0) for c in weeks], pa.float64()),
            "auc_high": pa.array([realised(c, "auc_ci", 1) for c in weeks], pa.float64()),
            "ece": pa.array([realised(c, "ece") for c in weeks], pa.float64()),
            "captured_at_capacity": pa.array([realised(c, "captured_at_capacity") for c in weeks], pa.float64()),
        }
    )
    with warehouse.transaction():
        for table in ("drift_results", "alerts", "monitor_runs", "cohort_performance"):
            warehouse.execute(f"DELETE FROM {table} WHERE run_id = ?", [result.run_id])
        warehouse.insert("monitor_runs", run_row)
        if len(drift_rows):
            warehouse.insert("drift_results", drift_rows)
        if len(alert_rows):
            warehouse.insert("alerts", alert_rows)
        if len(cohort_rows):
            warehouse.insert("cohort_performance", cohort_rows)


def monitor(
    settings: Settings, warehouse: Warehouse, *, run_id: str | None = None, as_of: datetime | None = None
) -> MonitorResult:
    """Drift of a published run against its model's reference, stored with its alerts; what was found."""
    rid, when, version = find_run(warehouse, run_id, as_of)
    bundle = load_bundle(load_artifact_dir(settings, version), verify=False)
    how = settings.monitoring.reference
    rows = settings.monitoring.sample_rows
    base_run: str | None = None
    if how == "training":
        reference = bundle.reference()
        if reference is None:
            raise MonitoringError(
                f"model version {version} has no reference sample to compare run {rid} with (trained before "
                "monitoring)",
                hint="retrain it (`leadops train`), or set monitoring.reference: first_run",
            )
    else:
        base_run, base_as_of = reference_run(warehouse, how, rid, when, version)
        reference, _ = current_sample(warehouse, bundle, base_run, base_as_of, rows)
    kinds = kinds_of(bundle)
    current, total = current_sample(warehouse, bundle, rid, when, rows)
    drift = drift_report(reference, current, kinds, settings.monitoring.thresholds)
    result = MonitorResult(
        run_id=rid,
        as_of=when,
        model_version=version,
        reference=how,
        reference_run=base_run,
        reference_rows=len(reference),
        sample_rows=len(current),
        run_leads=total,
        drift=drift,
    )
    weeks = cohorts(settings, warehouse, version, when)
    inputs_drifted = any(d.drifted for d in drift if d.feature != SCORE)
    result = replace(
        result,
        alerts=[
            *alerts_for(rid, drift, settings.monitoring),
            *performance_alerts(rid, weeks, inputs_drifted, settings.monitoring),
        ],
        performance=weeks,
    )
    _store(warehouse, result)
    report = write_monitoring(
        settings.path(settings.evaluation.report_dir) / f"monitoring-v{version}.html", warehouse, version
    )
    sent = deliver(warehouse, result.alerts, settings.monitoring.webhook, run_id=rid, as_of=when, report=str(report))
    return replace(result, deliveries=sent, report=report)
