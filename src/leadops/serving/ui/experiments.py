"""What the Experiments page reads (through `leadops.experiments.store`, the only code touching those tables):
each experiment's arms and allocation, its KPI and lift over its readouts, and the latest recommendation.

Experiments declared in leadops.yaml but not yet in the warehouse are shown from the config, with no results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadops.config import Settings
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse

SRM_ALPHA = 0.001
"""A sample-ratio p-value below this says the split is not what was planned (the usual SRM alarm level)."""


@dataclass
class Card:
    """One experiment as the page shows it."""

    name: str
    phase: str
    spec: ExperimentSpec
    arms: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)
    latest: list[dict[str, Any]] = field(default_factory=list)
    report: str | None = None

    @property
    def srm_p(self) -> float | None:
        """The latest readout's sample-ratio p-value (None before any readout)."""
        values = [r["srm_p"] for r in self.latest if r.get("srm_p") is not None]
        return float(values[0]) if values else None

    @property
    def allocation_ok(self) -> bool | None:
        """Whether the observed split matches the planned one (None before any readout)."""
        p = self.srm_p
        return None if p is None else p >= SRM_ALPHA


def kpi_label(spec: ExperimentSpec) -> str:
    """The primary KPI in words: 'conversion within 30 days'."""
    days = spec.primary_kpi.window_days
    return {
        "conversion_within_days": f"conversion within {days} days",
        "revenue_per_lead": f"revenue per lead within {days} days",
        "conversions_per_contact": f"conversions per Sales contact within {days} days",
    }.get(spec.primary_kpi.metric, spec.primary_kpi.metric)


def _planned(spec: ExperimentSpec) -> dict[str, float]:
    total = sum(float(a.weight) for a in spec.arms) or 1.0
    return {a.name: float(a.weight) / total for a in spec.arms}


def _arms(spec: ExperimentSpec, counts: dict[str, int]) -> list[dict[str, Any]]:
    planned = _planned(spec)
    units = sum(counts.values())
    control = spec.control_arm()
    return [
        {
            "name": a.name,
            "control": a.name == control,
            "model": a.model or "champion",
            "routing": a.routing or "workspace policy",
            "planned": planned[a.name],
            "units": counts.get(a.name, 0),
            "observed": counts.get(a.name, 0) / units if units else None,
        }
        for a in spec.arms
    ]


def cards(settings: Settings, warehouse: Warehouse, now: datetime) -> list[Card]:
    """Every experiment the warehouse knows (newest start first), then those only declared in leadops.yaml."""
    from leadops.experiments import store

    found: list[Card] = []
    known: set[str] = set()
    if warehouse.table_exists("experiments"):
        folder = settings.path(settings.evaluation.report_dir)
        for record in store.list_experiments(warehouse):
            known.add(record.name)
            history = sorted(store.readouts(warehouse, record.name), key=lambda r: (r["as_of"], r["created_at"]))
            latest = store.readouts(warehouse, record.name, latest=True)
            html = next((r["html_path"] for r in latest if r.get("html_path")), None)
            name = Path(str(html)).name if html else None
            found.append(
                Card(
                    record.name, record.phase(now), record.spec,
                    _arms(record.spec, store.assignment_counts(warehouse, record.name)), history, latest,
                    name if name and (folder / name).is_file() else None,
                )
            )  # fmt: skip
    for spec in settings.experiments:
        if spec.name not in known:
            phase = "scheduled" if now < spec.start else "running" if spec.running(now) else "stopped"
            found.append(Card(spec.name, phase, spec, _arms(spec, {})))
    return found
