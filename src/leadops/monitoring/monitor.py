"""`leadops monitor`: compare a published run's leads with its model's reference, store drift and alerts.

Two populations per run (monitoring.samples): its open leads (up to `monitoring.sample_rows` of every lead it
scored) and its new leads (created since the previous run, at least `new_leads.min_days` back), where a shift in
the mix of new leads shows at once instead of being diluted in the open leads of every age. Each is compared with
the same population of the reference run (`monitoring.reference`): by default the first published run of the same
model version; or the run just before; or, for the open leads, the held-out sample saved with the model
(`reference.parquet`). The new leads' drift counts only when significant too (`new_leads.alpha`); their volume and
mix per source are compared as well (monitoring.volume). Samples are kept, so a reference is read, not rebuilt.
Results replace the run's earlier monitoring rows in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from leadops.bundle import Bundle, load_bundle
from leadops.config import Settings
from leadops.errors import NotFoundError
from leadops.monitoring.alerts import Alert, Delivery, deliver
from leadops.monitoring.drift import Kind
from leadops.monitoring.errors import MonitoringError
from leadops.monitoring.html import score_quantiles, write_monitoring
from leadops.monitoring.performance import Cohort, cohorts
from leadops.monitoring.report import SCORE, FeatureDrift, drift_report
from leadops.monitoring.samples import NEW, OPEN, Population, SampleStore, run_leads
from leadops.monitoring.volume import ALL, MISSING, SourceVolume, source_mix, volume_changes
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
    new_since: datetime | None = None
    new_leads: int = 0
    new_sample_rows: int = 0
    new_reference_rows: int = 0
    new_drift: list[FeatureDrift] = field(default_factory=list)
    volumes: list[SourceVolume] = field(default_factory=list)
    mix: dict[str, float | None] = field(default_factory=dict)
    score_quantiles: list[float | None] = field(default_factory=list)
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
            "new_leads": {
                "since": None if self.new_since is None else self.new_since.isoformat(),
                "leads": self.new_leads,
                "sample_rows": self.new_sample_rows,
                "reference_rows": self.new_reference_rows,
                "drifted": [d.feature for d in self.new_drift if d.drifted],
                "drift": {d.feature: d.to_dict() for d in self.new_drift},
                "volume": [v.to_dict() for v in self.volumes],
                "mix": self.mix,
            },
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


def alerts_for(
    run_id: str, drift: list[FeatureDrift], settings: MonitoringSettings, population: str = OPEN
) -> list[Alert]:
    """One alert per drifted feature (and the score), led by the statistic furthest over its threshold."""
    out = []
    among = "" if population == OPEN else " among the new leads"
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
        kind = ("score_drift" if is_score else "feature_drift") if population == OPEN else "new_lead_drift"
        subject = "the score" if is_score else f"feature {d.feature}"
        message = f"{subject} drifted{among}: {worst.stat} {worst.value:.4g} >= {worst.threshold:g}" + (
            f" (also {', '.join(n for n in d.drifted_by if n != worst.stat)})" if len(d.drifted_by) > 1 else ""
        )
        out.append(
            Alert(
                alert_id=f"{run_id}:{kind}:{d.feature}",
                kind=kind,
                feature=(None if is_score else d.feature) if population == OPEN else d.feature,
                severity=severity,
                stat=worst.stat,
                value=worst.value,
                threshold=worst.threshold,
                message=message,
            )
        )
    return out


def volume_alerts(
    run_id: str,
    volumes: list[SourceVolume],
    mix: dict[str, float | None],
    mix_threshold: float,
    alpha: float,
    lead_source_is_feature: bool,
) -> list[Alert]:
    """New-lead volume (overall and per source) that changed significantly, and the source mix when no feature
    of the model already tests it."""
    out = []
    for v in volumes:
        if not v.flagged:
            continue
        overall = v.source == ALL
        kind = "lead_volume" if overall else "source_volume"
        what = "new leads" if overall else f"new leads from {v.source}"
        how = (
            f"{v.per_day:.1f}/day, new (none in the reference)"
            if v.change is None
            else f"{v.per_day:.1f}/day vs {v.reference_per_day:.1f}/day ({v.change:+.0%})"
        )
        out.append(
            Alert(
                alert_id=f"{run_id}:{kind}:{v.source}",
                kind=kind,
                feature=None if overall else v.source,
                severity="warning",
                stat="volume_change",
                value=v.change,
                threshold=None,
                message=f"{what}: {how}, p = {v.p_value:.2g}",
            )
        )
    value, p = mix.get("cramers_v"), mix.get("p_value")
    if not lead_source_is_feature and value is not None and value >= mix_threshold and p is not None and p < alpha:
        out.append(
            Alert(
                alert_id=f"{run_id}:source_mix:lead_source",
                kind="source_mix",
                feature="lead_source",
                severity="warning",
                stat="chi_square",
                value=value,
                threshold=mix_threshold,
                message=f"the source mix of new leads moved: Cramer's V {value:.3g} >= {mix_threshold:g}, p = {p:.2g}",
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
    stats = [
        (population, d, name, s)
        for population, found in ((OPEN, result.drift), (NEW, result.new_drift))
        for d in found
        for name, s in d.stats.items()
    ]
    drift_rows = pa.table(
        {
            "run_id": [result.run_id] * len(stats),
            "population": [population for population, _, _, _ in stats],
            "feature": [d.feature for _, d, _, _ in stats],
            "stat": [name for _, _, name, _ in stats],
            "kind": [d.kind for _, d, _, _ in stats],
            "value": pa.array([s.value for _, _, _, s in stats], pa.float64()),
            "p_value": pa.array([s.p_value for _, _, _, s in stats], pa.float64()),
            "threshold": pa.array([s.threshold for _, _, _, s in stats], pa.float64()),
            "drifted": [s.drifted for _, _, _, s in stats],
        }
    )
    vols = result.volumes
    volume_rows = pa.table(
        {
            "run_id": [result.run_id] * len(vols),
            "source": [v.source for v in vols],
            "leads": pa.array([v.leads for v in vols], pa.int64()),
            "per_day": pa.array([v.per_day for v in vols], pa.float64()),
            "reference_leads": pa.array([v.reference_leads for v in vols], pa.int64()),
            "reference_per_day": pa.array([v.reference_per_day for v in vols], pa.float64()),
            "share": pa.array([v.share for v in vols], pa.float64()),
            "reference_share": pa.array([v.reference_share for v in vols], pa.float64()),
            "change": pa.array([v.change for v in vols], pa.float64()),
            "p_value": pa.array([v.p_value for v in vols], pa.float64()),
            "flagged": pa.array([v.flagged for v in vols], pa.bool_()),
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
    new_features = [d for d in result.new_drift if d.feature != SCORE]
    drifted = {d.feature for d in [*features, *new_features] if d.drifted}
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
            "drifted_features": [len(drifted)],  # in either population: what the retraining trigger counts
            "score_drifted": [any(d.drifted for d in result.drift if d.feature == SCORE)],
            "monitored_at": pa.array([now], pa.timestamp("us")),
            "new_since": pa.array([result.new_since], pa.timestamp("us")),
            "new_leads": pa.array([result.new_leads], pa.int64()),
            "new_reference_rows": pa.array([result.new_reference_rows], pa.int64()),
            "new_drifted_features": pa.array([sum(d.drifted for d in new_features)], pa.int64()),
            **{
                f"score_p{q}": pa.array([v], pa.float64())
                for q, v in zip((10, 50, 90), result.score_quantiles or [None] * 3, strict=True)
            },
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
            "expected_rate_low": pa.array([c.expected_rate_ci[0] for c in weeks], pa.float64()),
            "expected_rate_high": pa.array([c.expected_rate_ci[1] for c in weeks], pa.float64()),
            "expected_auc_low": pa.array([c.expected_auc_ci[0] for c in weeks], pa.float64()),
            "expected_auc_high": pa.array([c.expected_auc_ci[1] for c in weeks], pa.float64()),
            "ece_limit": pa.array([c.ece_limit for c in weeks], pa.float64()),
            "conversion_rate_low": pa.array([realised(c, "conversion_rate_ci", 0) for c in weeks], pa.float64()),
            "conversion_rate_high": pa.array([realised(c, "conversion_rate_ci", 1) for c in weeks], pa.float64()),
            "positives": pa.array([(c.realised or {}).get("positives") for c in weeks], pa.int64()),
        }
    )
    with warehouse.transaction():
        for table in ("drift_results", "alerts", "monitor_runs", "cohort_performance", "source_volumes"):
            warehouse.execute(f"DELETE FROM {table} WHERE run_id = ?", [result.run_id])
        warehouse.insert("monitor_runs", run_row)
        if len(drift_rows):
            warehouse.insert("drift_results", drift_rows)
        if len(volume_rows):
            warehouse.insert("source_volumes", volume_rows)
        if len(alert_rows):
            warehouse.insert("alerts", alert_rows)
        if len(cohort_rows):
            warehouse.insert("cohort_performance", cohort_rows)


def new_lead_reference(
    warehouse: Warehouse, how: str, run_id: str, as_of: datetime, version: int, window: timedelta
) -> tuple[str, datetime] | None:
    """The run whose new leads tonight's are compared with: a whole number of weeks earlier (the same weekday, so
    the new leads' ages match: fewer leads arrive at weekends), the version's first such run (previous_run: the
    latest) whose `window` of new leads lies within the warehouse's history (one reaching back before the first
    lead holds only the youngest part of a window); None when there is no such run yet."""
    rows = warehouse.rows(
        "SELECT run_id, as_of FROM score_runs WHERE status = 'published' AND model_version = ? AND as_of <= ? "
        "ORDER BY as_of, published_at, run_id",
        [version, as_of],
    )
    first = warehouse.rows("SELECT min(created_at) FROM leads")
    began = first[0][0] if first and first[0][0] is not None else None
    week = timedelta(weeks=1)
    same = [
        (str(r), a)
        for r, a in rows
        if (as_of - a) >= week and (as_of - a) % week == timedelta(0) and (began is None or a - window >= began)
    ]
    if not same:
        return None
    return same[-1] if how == "previous_run" else same[0]


def new_lead_window(warehouse: Warehouse, run_id: str, as_of: datetime, min_days: int) -> timedelta:
    """How far back a run's new leads go: to the previous published run, and at least `min_days`."""
    rows = warehouse.rows(
        "SELECT max(as_of) FROM score_runs WHERE status = 'published' AND run_id <> ? AND as_of < ?", [run_id, as_of]
    )
    since = rows[0][0] if rows and rows[0][0] is not None else as_of
    return max(as_of - since, timedelta(days=min_days))


def source_counts(warehouse: Warehouse, as_of: datetime, window: timedelta) -> dict[str, int]:
    """New leads per source created in (as_of - window, as_of] (every lead, scored or not: the volume)."""
    rows = warehouse.rows(
        "SELECT lead_source, count(*) FROM leads WHERE created_at > ? AND created_at <= ? GROUP BY lead_source",
        [as_of - window, as_of],
    )
    return {MISSING if r[0] is None else str(r[0]): int(r[1]) for r in rows}


def monitor(
    settings: Settings, warehouse: Warehouse, *, run_id: str | None = None, as_of: datetime | None = None
) -> MonitorResult:
    """Drift of a published run's open and new leads against its model's reference, stored with its alerts."""
    rid, when, version = find_run(warehouse, run_id, as_of)
    bundle = load_bundle(load_artifact_dir(settings, version), verify=False)
    conf = settings.monitoring
    how = conf.reference
    store = SampleStore(settings.path(conf.sample_dir))
    opened = Population(OPEN, conf.sample_rows)
    base_run, base_as_of = reference_run(warehouse, "first_run" if how == "training" else how, rid, when, version)
    if how == "training":
        reference = bundle.reference()
        if reference is None:
            raise MonitoringError(
                f"model version {version} has no reference sample to compare run {rid} with (trained before "
                "monitoring)",
                hint="retrain it (`leadops train`), or set monitoring.reference: first_run",
            )
    else:
        reference = store.sample(warehouse, bundle, base_run, base_as_of, version, opened)
    kinds = kinds_of(bundle)
    current = store.sample(warehouse, bundle, rid, when, version, opened)
    total = run_leads(warehouse, rid, when, opened)
    drift = drift_report(reference, current, kinds, conf.thresholds)
    result = MonitorResult(
        run_id=rid,
        as_of=when,
        model_version=version,
        reference=how,
        reference_run=None if how == "training" else base_run,
        reference_rows=len(reference),
        sample_rows=len(current),
        run_leads=total,
        drift=drift,
        score_quantiles=score_quantiles(warehouse, rid),
    )
    new_alerts: list[Alert] = []
    if conf.new_leads.enabled:
        window = new_lead_window(warehouse, rid, when, conf.new_leads.min_days)
        fresh = Population(NEW, conf.sample_rows, window)
        now_new = store.sample(warehouse, bundle, rid, when, version, fresh)
        new_ref = new_lead_reference(warehouse, how, rid, when, version, window)
        new_run, new_as_of = new_ref if new_ref is not None else (rid, when)
        ref_new = store.sample(warehouse, bundle, new_run, new_as_of, version, fresh) if new_ref else now_new.iloc[:0]
        enough = min(len(now_new), len(ref_new)) >= conf.new_leads.min_rows
        new_drift = drift_report(ref_new, now_new, kinds, conf.thresholds, conf.new_leads.alpha) if enough else []
        days = window.total_seconds() / 86_400
        cur_counts = source_counts(warehouse, when, window)
        ref_counts = source_counts(warehouse, new_as_of, window) if new_ref else cur_counts
        volumes = volume_changes(
            cur_counts, ref_counts, days, days, threshold=conf.new_leads.volume_change, alpha=conf.new_leads.alpha
        )
        mixed = source_mix(cur_counts, ref_counts)
        mix = {
            "cramers_v": None if not np.isfinite(mixed.value) else mixed.value,
            "p_value": mixed.p_value,
        }
        mix_limit = float(conf.thresholds.get("chi_square", 0.1))
        new_alerts = [
            *alerts_for(rid, new_drift, conf, NEW),
            *volume_alerts(rid, volumes, mix, mix_limit, conf.new_leads.alpha, "lead_source" in kinds),
        ]
        result = replace(
            result,
            new_since=when - window,
            new_leads=run_leads(warehouse, rid, when, fresh),
            new_sample_rows=len(now_new),
            new_reference_rows=len(ref_new),
            new_drift=new_drift,
            volumes=volumes,
            mix=mix,
        )
    weeks = cohorts(settings, warehouse, version, when)
    # the cohorts are new leads: their inputs held when the new leads matched the reference run's (the open leads
    # of every age drift slowly against the first run by design); without that comparison, the open leads decide
    judged = result.new_drift or drift
    inputs_drifted = any(d.drifted for d in judged if d.feature != SCORE)
    result = replace(
        result,
        alerts=[
            *alerts_for(rid, drift, conf),
            *new_alerts,
            *performance_alerts(rid, weeks, inputs_drifted, conf),
        ],
        performance=weeks,
    )
    _store(warehouse, result)
    store.prune(warehouse, conf.keep_samples)
    report = write_monitoring(
        settings.path(settings.evaluation.report_dir) / f"monitoring-v{version}.html", warehouse, version
    )
    sent = deliver(warehouse, result.alerts, conf.webhook, run_id=rid, as_of=when, report=str(report))
    return replace(result, deliveries=sent, report=report)
