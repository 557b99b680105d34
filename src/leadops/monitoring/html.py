"""The monitoring report: drift per feature over time, the score by run, performance by cohort, alerts.

One offline HTML file (the figures of `leadops.plots`, plotly.js inlined, nothing fetched), written by
`leadops monitor` beside the evaluation reports, from what the monitoring tables hold for the model version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from leadops.evaluation.report import render_template
from leadops.plots import Figure
from leadops.plots import operations as plots
from leadops.warehouse import Warehouse


@dataclass
class Cell:
    """One feature on one run: its PSI and the statistics that reached their thresholds."""

    psi: float | None = None
    drifted: bool = False
    stats: list[str] = field(default_factory=list)

    @property
    def by(self) -> str:
        """The statistics that flagged it, for the cell's tooltip."""
        return ", ".join(self.stats)


@dataclass(frozen=True)
class FeatureRow:
    """One row of the drift table: a feature across the monitored runs."""

    name: str
    cells: list[Cell]


def _runs(warehouse: Warehouse, version: int) -> list[dict[str, Any]]:
    rows = warehouse.rows(
        "SELECT run_id, as_of, reference FROM monitor_runs WHERE model_version = ? ORDER BY as_of, run_id", [version]
    )
    return [{"run_id": r[0], "as_of": r[1].date().isoformat(), "at": r[1], "reference": r[2]} for r in rows]


def score_quantiles(warehouse: Warehouse, run_id: str) -> list[float | None]:
    """10th, 50th and 90th percentile of one run's published scores (NumPy's linear interpolation)."""
    table = warehouse.arrow("SELECT score FROM lead_scores WHERE run_id = ? AND score IS NOT NULL", [run_id])
    values = np.asarray(table.column("score").to_numpy(zero_copy_only=False), dtype=float)
    return [float(v) for v in np.quantile(values, [0.1, 0.5, 0.9])] if values.size else [None, None, None]


def _score_quantiles(warehouse: Warehouse, run_ids: list[str]) -> dict[str, list[float | None]]:
    """10th, 50th and 90th percentile of each run's published scores."""
    out: dict[str, list[float | None]] = {"p10": [], "p50": [], "p90": []}
    marks = ", ".join("?" for _ in run_ids) or "NULL"
    kept = {
        str(r[0]): [r[1], r[2], r[3]]
        for r in warehouse.rows(
            f"SELECT run_id, score_p10, score_p50, score_p90 FROM monitor_runs WHERE run_id IN ({marks})", run_ids
        )
        if r[2] is not None
    }
    for run_id in run_ids:
        found = kept.get(run_id) or score_quantiles(warehouse, run_id)  # runs monitored before migration 023
        for key, value in zip(out, found, strict=True):
            out[key].append(value)
    return out


COHORT_KEYS = (
    "cohort_week",
    "leads",
    "mature",
    "expected_conversion_rate",
    "expected_auc",
    "conversion_rate",
    "conversion_rate_low",
    "conversion_rate_high",
    "auc",
    "auc_low",
    "auc_high",
    "ece",
    "ece_limit",
    "captured_at_capacity",
    "estimated_on",
    "estimate_auc",
    "estimate_auc_low",
    "estimate_auc_high",
    "estimate_rate",
    "estimate_rate_low",
    "estimate_rate_high",
)


def _cohorts(warehouse: Warehouse, version: int, run_id: str | None) -> list[dict[str, Any]]:
    """The run's cohorts, each beside the estimate first recorded for it while it was immature (the version's
    earliest monitored run that saw it so), and whether the realised figures later fell inside that estimate."""
    rows = warehouse.rows(
        """
        WITH early AS (
            SELECT c.cohort_week, m.as_of, c.expected_auc, c.expected_auc_low, c.expected_auc_high,
                   c.expected_conversion_rate, c.expected_rate_low, c.expected_rate_high,
                   row_number() OVER (PARTITION BY c.cohort_week ORDER BY m.as_of, m.run_id) AS k
            FROM cohort_performance c JOIN monitor_runs m ON m.run_id = c.run_id
            WHERE c.model_version = ? AND NOT c.mature
        )
        SELECT r.cohort_week, r.leads, r.mature, r.expected_conversion_rate, r.expected_auc, r.conversion_rate,
               r.conversion_rate_low, r.conversion_rate_high, r.auc, r.auc_low, r.auc_high, r.ece, r.ece_limit,
               r.captured_at_capacity, e.as_of, e.expected_auc, e.expected_auc_low, e.expected_auc_high,
               e.expected_conversion_rate, e.expected_rate_low, e.expected_rate_high
        FROM cohort_performance r LEFT JOIN early e ON e.cohort_week = r.cohort_week AND e.k = 1
        WHERE r.run_id = ? ORDER BY r.cohort_week
        """,
        [version, run_id],
    )
    out = []
    for row in rows:
        c = dict(zip(COHORT_KEYS, row, strict=True))
        checks = [
            (c["auc"], c["estimate_auc_low"], c["estimate_auc_high"]),
            (c["conversion_rate"], c["estimate_rate_low"], c["estimate_rate_high"]),
        ]
        known = [(v, lo, hi) for v, lo, hi in checks if None not in (v, lo, hi)]
        c["held"] = all(lo <= v <= hi for v, lo, hi in known) if c["mature"] and known else None
        c["estimated_on"] = c["estimated_on"].date().isoformat() if c["estimated_on"] is not None else None
        out.append(c)
    return out


def render_monitoring(warehouse: Warehouse, version: int) -> str:
    """The report of one model version's monitored runs, as HTML text."""
    runs = _runs(warehouse, version)
    ids = [r["run_id"] for r in runs]
    marks = ", ".join("?" for _ in ids) or "NULL"
    drift = warehouse.rows(
        f"SELECT run_id, population, feature, stat, value, drifted FROM drift_results WHERE run_id IN ({marks}) "
        "ORDER BY population DESC",  # the open leads' rows first, then the new leads'
        ids,
    )
    found: dict[str, dict[str, Cell]] = {}
    for run_id, population, feature, stat, value, drifted in drift:
        name = str(feature) if population == "open" else f"{feature} (new leads)"
        cell = found.setdefault(name, {}).setdefault(str(run_id), Cell())
        if stat == "psi":
            cell.psi = None if value is None else float(value)
        if drifted:
            cell.drifted = True
            cell.stats.append(str(stat))
    features = [
        FeatureRow(name, [found[name].get(i, Cell()) for i in ids])
        for name in sorted(found, key=lambda n: (n != "score", n))
    ]
    labels = plots.run_labels([r["as_of"] for r in runs])
    q = _score_quantiles(warehouse, ids)
    figures: dict[str, Figure] = {"score": plots.score_by_run(labels, q["p10"], q["p50"], q["p90"])}
    drawn = [f for f in features if any(c.psi is not None for c in f.cells)]
    if drawn:
        figures["drift"] = plots.drift_heatmap(
            labels, [f.name for f in drawn], [[c.psi for c in f.cells] for f in drawn]
        )
        counts = [sum(1 for f in features if f.name != "score" and f.cells[i].drifted) for i in range(len(ids))]
        figures["drifted"] = plots.drifted_features(labels, counts)
    cohorts = _cohorts(warehouse, version, ids[-1] if ids else None)
    if cohorts:
        figures["cohorts"] = plots.cohort_performance(cohorts)
    if any(c["estimate_auc"] is not None and c["auc"] is not None for c in cohorts):
        figures["estimates"] = plots.estimate_beside_realised(cohorts)
    alerts = warehouse.rows(
        f"SELECT as_of, severity, message FROM alerts WHERE run_id IN ({marks}) ORDER BY as_of, alert_id", ids
    )
    return render_template(
        "monitoring.html.j2",
        title=f"Monitoring: model version {version}",
        version=version,
        reference=runs[-1]["reference"] if runs else "none",
        written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        runs=runs,
        features=features,
        figures=figures,
        cohorts=cohorts,
        alerts=[{"as_of": a[0].date().isoformat(), "severity": a[1], "message": a[2]} for a in alerts],
    )


def write_monitoring(path: Path, warehouse: Warehouse, version: int) -> Path:
    """Render and write the report; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_monitoring(warehouse, version), encoding="utf-8")
    return path
