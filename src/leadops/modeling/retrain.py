"""`leadops retrain`: when a trigger of the policy fires, train on the fresh data, validate against the champion
on the same leads, register the version, then promote it through the gates or leave it a shadowed challenger.

Every decision, a skip included, goes to the registry's audit log with its reason and the triggers it saw. The
nightly job and the online service follow the champion alias, so a promotion needs no redeploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from leadops.actor import default_actor
from leadops.bundle import load_bundle
from leadops.config import Settings
from leadops.errors import GateFailedError
from leadops.modeling.train import train_model
from leadops.registry import Registry, audit
from leadops.registry.loading import load_artifact_dir
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

Decision = Literal["promoted", "challenger", "experiment", "skipped"]
DEFAULT_MODEL = "predictive"


@dataclass(frozen=True)
class RetrainResult:
    """What `leadops retrain` decided, why, and the version it registered (if any)."""

    decision: Decision
    reason: str
    triggers: list[str]
    version: int | None = None
    champion_version: int | None = None
    model: str | None = None
    gates_passed: bool | None = None
    train: dict[str, Any] = field(default_factory=dict)
    experiment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """`retrain --json`."""
        return {
            "decision": self.decision,
            "reason": self.reason,
            "triggers": self.triggers,
            "version": self.version,
            "champion_version": self.champion_version,
            "model": self.model,
            "gates_passed": self.gates_passed,
            "train": self.train,
            "experiment": self.experiment,
        }


def _as_naive(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return None


def fired_triggers(
    settings: Settings, warehouse: Warehouse, champion_version: int | None, lineage: dict[str, Any], now: datetime
) -> list[str]:
    """The policy's triggers that fire now, each as a sentence (none configured: nothing fires)."""
    policy = settings.retraining
    if champion_version is None:
        return ["there is no champion yet"]
    fired: list[str] = []
    trained_until = _as_naive(lineage.get("data_end"))
    if policy.every_days is not None and trained_until is not None:
        age = (now - trained_until).total_seconds() / 86_400
        if age >= policy.every_days:
            fired.append(f"the champion's data ends {age:.0f} days ago (every_days: {policy.every_days})")
    if policy.on_drift is not None and warehouse.table_exists("monitor_runs"):
        rows = warehouse.rows(
            "SELECT run_id, drifted_features, score_drifted FROM monitor_runs WHERE model_version = ? "
            "ORDER BY as_of DESC, monitored_at DESC LIMIT 1",
            [champion_version],
        )
        if rows:
            run_id, drifted, score_drifted = rows[0]
            if int(drifted) >= policy.on_drift.min_features:
                fired.append(
                    f"run {run_id} drifted on {int(drifted)} features (min_features: {policy.on_drift.min_features})"
                )
            elif policy.on_drift.on_score and bool(score_drifted):
                fired.append(f"run {run_id}'s score distribution drifted")
    if policy.on_performance_drop and warehouse.table_exists("alerts"):
        drops = warehouse.rows(
            "SELECT a.message FROM alerts a JOIN monitor_runs m ON m.run_id = a.run_id "
            "WHERE m.model_version = ? AND a.kind IN ('performance_drop', 'concept_drift') "
            "AND m.as_of = (SELECT max(as_of) FROM monitor_runs WHERE model_version = ?)",
            [champion_version, champion_version],
        )
        if drops:
            fired.append(f"performance fell: {drops[0][0]}")
    if policy.new_labels is not None and trained_until is not None:
        outcome = settings.training.label.outcome
        arrived = int(
            warehouse.rows(
                "SELECT count(DISTINCT lead_id) FROM outcomes "
                "WHERE outcome = ? AND occurred_at > ? AND occurred_at <= ?",
                [outcome, trained_until, now],
            )[0][0]
        )
        if arrived >= policy.new_labels:
            fired.append(
                f"{arrived} new '{outcome}' outcomes since the champion's data end (new_labels: {policy.new_labels})"
            )
    return fired


def _audit(settings: Settings, warehouse: Warehouse, result: RetrainResult) -> None:
    with warehouse.transaction():
        audit.append(
            warehouse,
            actor=default_actor(),
            action="retrain",
            model_name=settings.registry.model_name,
            alias=None,
            version=result.version,
            previous_version=result.champion_version,
            reason=f"{result.decision}: {result.reason}",
            detail={
                "triggers": result.triggers,
                "model": result.model,
                "gates_passed": result.gates_passed,
                "experiment": result.experiment,
            },
        )


def retrain(
    settings: Settings, warehouse: Warehouse, *, now: datetime | None = None, force: bool = False
) -> RetrainResult:
    """Run the retraining policy once; the decision is audited whatever it is."""
    now = now or utcnow()
    registry = Registry(settings, warehouse)
    champion = registry.champion()
    champion_version = None if champion is None else champion.version
    verified = None if champion is None else load_artifact_dir(settings, champion.version)
    lineage = {} if verified is None else load_bundle(verified, verify=False).lineage
    model = settings.retraining.model or (champion.scorer if champion is not None and champion.scorer else None)
    model = model or DEFAULT_MODEL
    triggers = fired_triggers(settings, warehouse, champion_version, lineage, now)
    if force:
        triggers = [*triggers, "forced (--force)"]
    if not triggers:
        result = RetrainResult("skipped", "no retraining trigger fired", [], None, champion_version, model)
        _audit(settings, warehouse, result)
        return result
    trained = train_model(settings, warehouse, model)
    summary = {
        "auc": trained.metrics.get("auc"),
        "captured_at_capacity": trained.metrics.get("captured_at_capacity"),
        "train_rows": trained.rows.get("train"),
        "gates": trained.gates.to_dict(),  # each gate against the champion on the same test leads, with figures
    }

    def decided(decision: Decision, reason: str) -> RetrainResult:
        return RetrainResult(
            decision, reason, triggers, trained.version, champion_version, model, trained.gates_passed, summary
        )

    floor = int(lineage.get("train_rows") or 0) + settings.retraining.min_new_rows
    if settings.retraining.min_new_rows and int(trained.rows.get("train") or 0) < floor:
        reason = (
            f"only {trained.rows.get('train')} training rows, fewer than the champion's plus min_new_rows ({floor})"
        )
        registry.set_challenger(trained.version or 0, reason=f"retrain: {reason}")
        result = decided("challenger", reason)
    elif settings.retraining.action == "promote" and trained.gates_passed:
        try:
            registry.promote(
                trained.version or 0,
                gates_passed=True,
                gate_detail=trained.gates.to_dict(),
                force=False,
                reason="retrain: " + "; ".join(triggers),
            )
            result = decided("promoted", "every gate passed against the champion")
        except GateFailedError as exc:
            registry.set_challenger(trained.version or 0, reason=f"retrain: {exc.message}")
            result = decided("challenger", exc.message)
    elif settings.retraining.action == "experiment" and trained.gates_passed and champion_version is not None:
        from leadops.experiments.service import start_challenger_experiment

        version = trained.version or 0
        name = f"retrain-v{version}"
        registry.set_challenger(version, reason=f"retrain: A/B tested against the champion in experiment {name}")
        spec = start_challenger_experiment(settings, warehouse, challenger=version, champion=champion_version, now=now)
        result = decided(
            "experiment",
            f"every gate passed; experiment {spec.name} tests v{version} against the champion v{champion_version} "
            f"until {spec.stop:%Y-%m-%d}, and a 'ship' readout promotes it",
        )
        result = RetrainResult(**{**result.__dict__, "experiment": spec.name})
    else:
        why = (
            "the policy keeps new versions as challengers for review (action: challenger)"
            if settings.retraining.action == "challenger"
            else f"failed gates {trained.gates.failed}; the champion stays"
            if not trained.gates_passed
            else "there is no champion to run an experiment against; kept as a challenger"
        )
        registry.set_challenger(trained.version or 0, reason=f"retrain: {why}")
        result = decided("challenger", why)
    _audit(settings, warehouse, result)
    return result
