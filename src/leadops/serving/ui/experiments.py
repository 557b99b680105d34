"""What the Experiments page reads: the experiments leadops.yaml declares and whatever readouts the warehouse holds.

Until the experiments part writes readouts, the page lists each configured experiment (arms, shares, what each
arm pins) and says that none has results yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from leadops.config import Settings
from leadops.warehouse import Warehouse

READOUTS = "experiment_readouts"
ASSIGNMENTS = "experiment_assignments"


class ArmLike(Protocol):
    """What the page reads of an arm of `experiments:`."""

    name: str
    model: str | None
    routing: str | None
    weight: float


class ExperimentLike(Protocol):
    """What the page reads of one entry of `experiments:`."""

    name: str
    arms: Sequence[ArmLike]
    unit: str
    start: datetime
    stop: datetime | None


@dataclass
class ExperimentCard:
    """One experiment as the page shows it."""

    name: str
    unit: str
    start: datetime
    stop: datetime | None
    arms: list[dict[str, Any]]
    readout: list[dict[str, Any]] = field(default_factory=list)


def configured(settings: Settings) -> list[ExperimentLike]:
    """The experiments leadops.yaml declares (none when this version of leadops has no `experiments:` section)."""
    return cast(list[ExperimentLike], list(getattr(settings, "experiments", None) or []))


def cards(settings: Settings, warehouse: Warehouse) -> tuple[list[ExperimentCard], bool]:
    """Each configured experiment with its arms' planned shares, and whether any readout exists at all."""
    have_readouts = warehouse.table_exists(READOUTS) and bool(warehouse.scalar(f"SELECT count(*) FROM {READOUTS}"))
    found = []
    for spec in configured(settings):
        total = sum(float(a.weight) for a in spec.arms) or 1.0
        arms = [
            {
                "name": a.name,
                "share": float(a.weight) / total,
                "model": a.model or "champion",
                "routing": a.routing or "workspace policy",
            }
            for a in spec.arms
        ]
        found.append(ExperimentCard(spec.name, spec.unit, spec.start, spec.stop, arms))
    return found, have_readouts
