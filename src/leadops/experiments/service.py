"""Experiments as the rest of leadops uses them: the readout for the CLI, the arms for the nightly job and the
online service, an experiment for the retraining policy's challenger, and promotion by a 'ship' readout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from leadops.experiments import store
from leadops.experiments.report import ReportResult, experiment_report
from leadops.settings.experiments import ArmSpec, ExperimentSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

if TYPE_CHECKING:
    from leadops.config import Settings


def sales_types(settings: Settings) -> list[str]:
    """The activity types that count as a Sales contact, as routing reads them."""
    from leadops.jobs.routing import declared_activity_types, sales_activity_types

    return sales_activity_types(settings.routing, declared_activity_types(settings.contracts, settings.sources))


def spec_of(settings: Settings, warehouse: Warehouse, name: str) -> store.ExperimentRecord:
    """The experiment called `name` (leadops.yaml's declarations registered first, so edits are seen)."""
    store.sync(warehouse, settings.experiments)
    return store.get_experiment(warehouse, name)


def report_experiment(
    settings: Settings,
    warehouse: Warehouse,
    name: str,
    *,
    as_of: datetime | None = None,
    html: bool = True,
    now: datetime | None = None,
) -> ReportResult:
    """`leadops experiment report NAME`: the readout, stored and rendered; promote_on_ship experiments act on it."""
    record = spec_of(settings, warehouse, name)
    html_dir = settings.path(settings.evaluation.report_dir) if html else None
    result = experiment_report(
        warehouse,
        record.spec,
        settings.business,
        sales_types=sales_types(settings),
        as_of=as_of,
        html_dir=html_dir,
        now=now,
        stop=record.stop_info(),
    )
    if record.spec.promote_on_ship and record.decision is None:
        result = ReportResult(
            result.readout | {"action": act_on_readout(settings, warehouse, record, result)}, result.html
        )
    return result


def stop_experiment(
    settings: Settings,
    warehouse: Warehouse,
    name: str,
    *,
    at: datetime | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """`leadops experiment stop NAME`: no new units from `at` (default now) in the nightly job and the online
    service (its workers follow the stops file), audited; a retry of the same stop changes nothing."""
    from leadops.experiments.online import STOPS_FILE, write_stops

    now = now or utcnow()
    spec_of(settings, warehouse, name)
    record, changed = store.stop(warehouse, name, at=at, reason=reason, now=now)
    write_stops(settings.path(STOPS_FILE), store.hand_stops(warehouse))
    return record.to_dict(now) | {
        "changed": changed,
        "units": store.assignment_counts(warehouse, name),
        "units_after_stop": store.units_assigned_from(warehouse, name, record.spec.stop),
    }


def act_on_readout(
    settings: Settings, warehouse: Warehouse, record: store.ExperimentRecord, result: ReportResult
) -> dict[str, Any]:
    """A 'ship' readout promotes the treatment's pinned version through the gates (audited by the registry) and
    closes the experiment; a 'keep' once the experiment has stopped closes it with the champion kept."""
    from leadops.errors import GateFailedError
    from leadops.modeling.review import promote_ref

    comparisons = result.readout["comparisons"]
    if not comparisons:
        return {"done": "nothing", "why": "no treatment arm"}
    first = comparisons[0]
    arm = record.spec.arm(first["treatment"])
    version = arm.version()
    if first["recommendation"] == "ship" and version is not None:
        reason = f"experiment {record.name}: ship readout ({first['reason']})"
        try:
            promoted = promote_ref(settings, warehouse, str(version), reason=reason)
        except GateFailedError as exc:
            store.decide(warehouse, record.name, "keep")
            return {"done": "kept", "why": f"the ship readout's version v{version} failed its gates: {exc.message}"}
        store.decide(warehouse, record.name, "ship")
        return {"done": "promoted", "version": version, "champion": promoted.to_dict().get("champion")}
    if first["recommendation"] == "keep" and result.readout["stopped"]:
        store.decide(warehouse, record.name, "keep")
        return {"done": "kept", "why": first["reason"]}
    return {"done": "nothing", "why": f"recommendation {first['recommendation']}: the experiment goes on"}


@dataclass(frozen=True)
class ArmPlan:
    """What one arm of a running experiment does tonight: the model version and routing policy it uses."""

    experiment: str
    arm: str
    version: int | None
    routing: str | None


def start_challenger_experiment(
    settings: Settings, warehouse: Warehouse, *, challenger: int, champion: int, now: datetime | None = None
) -> ExperimentSpec:
    """The retraining policy's action `experiment`: champion vs the pinned challenger version, from its template."""
    now = now or utcnow()
    template = settings.retraining.experiment
    weight = template.challenger_weight
    spec = ExperimentSpec(
        name=f"retrain-v{challenger}",
        arms=[
            ArmSpec(name="champion", model=str(champion), weight=1 - weight),
            ArmSpec(name=f"challenger-v{challenger}", model=str(challenger), weight=weight),
        ],
        unit=template.unit,
        salt=f"retrain-v{challenger}-{now:%Y%m%d}",
        start=now,
        stop=now + timedelta(days=template.days),
        primary_kpi=template.primary_kpi,
        guardrails=template.guardrails,
        alpha=template.alpha,
        mde=template.mde,
        sequential=template.sequential,
        promote_on_ship=True,
    )
    store.register(warehouse, spec, origin="retraining", now=now)
    return spec
