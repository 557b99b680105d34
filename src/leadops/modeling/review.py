"""`leadops evaluate|validate|models promote`: measure a registered version against the champion, gate it."""

from __future__ import annotations

from typing import Any

from leadops.bundle import Bundle, load_bundle
from leadops.config import Settings
from leadops.evaluation.gates import GateResult
from leadops.modeling.assess import Assessment, assess, champion_view, gates_for, headline, version_rows
from leadops.modeling.context import ModelContext, build_context
from leadops.modeling.results import ComparisonResult, EvaluationResult, GateVerdict, PromotionResult
from leadops.warehouse import Warehouse


def review(settings: Settings, warehouse: Warehouse, ref: str) -> tuple[Any, Assessment, GateResult, ModelContext]:
    """Load version REF and the champion, score both on today's test split, check the gates."""
    from leadops.registry import Registry, load_artifact_dir

    registry = Registry(settings, warehouse)
    version = registry.resolve(ref)
    context = build_context(settings, warehouse)
    bundle = load_bundle(load_artifact_dir(settings, version.version), verify=False)
    champion = champion_view(context, registry, other_than=version.version)
    assessment = assess(bundle.scorer, context, champion, *_own_rows(bundle, context))
    recorded = recorded_leakage(registry.show(version.version).lineage)
    gates = gates_for(assessment, context, bundle.feature_names, recorded)
    return version, assessment, gates, context


def recorded_leakage(lineage: dict[str, Any]) -> dict[str, str]:
    """The flagged features a version was trained with, as its training recorded them (feature -> why)."""
    import json

    raw = lineage.get("leakage_flags_used")
    try:
        found = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    names = found if isinstance(found, list) else []
    return {str(n): "flagged by the leakage guard when this version was trained" for n in names}


def _own_rows(bundle: Bundle, context: ModelContext) -> tuple[Any, Any]:
    """The version's own rows of today's test and validation leads (its features, its vocabulary)."""
    X_val = version_rows(bundle, context, "validation") if len(context.training.X_val) else None
    return version_rows(bundle, context, "test"), X_val


def evaluate_ref(settings: Settings, warehouse: Warehouse, ref: str) -> EvaluationResult:
    """Every metric of version REF on the test split, beside the champion's and the oracle's."""
    version, assessment, gates, context = review(settings, warehouse, ref)
    return EvaluationResult(
        model=version.scorer,
        version=version.version,
        metrics=headline(assessment.report),
        capacity_k=context.capacity_k,
        mql_threshold=None if assessment.routing is None else assessment.routing.mql_threshold,
        test_rows=len(context.training.y_test),
        champion_version=assessment.champion_version,
        champion_metrics=headline(assessment.champion_report) if assessment.champion_report else None,
        champion_problem=assessment.champion_problem,
        gates_passed=gates.passed,
        report=assessment.report.to_dict(),
    )


def validate_ref(settings: Settings, warehouse: Warehouse, ref: str) -> GateVerdict:
    """The gate table of version REF: passed overall and per gate (value, bound)."""
    version, assessment, gates, _ = review(settings, warehouse, ref)
    return GateVerdict(version.scorer, version.version, assessment.champion_version, gates)


def promote_ref(
    settings: Settings,
    warehouse: Warehouse,
    ref: str,
    *,
    force: bool = False,
    reason: str | None = None,
    first_champion: str | None = None,
    actor: str | None = None,
) -> PromotionResult:
    """The promotion policy: REF becomes champion when every gate passes, or when forced with a reason.

    `first_champion` is the policy of a new workspace (the demo's): with no champion at all, REF becomes the
    first one despite failed gates, audited as a forced promotion with that reason; when a champion exists and
    REF's gates fail, the champion stays (the refusal is audited) and `promoted` is False instead of an error.
    A plain `leadops models promote` (no first_champion) raises GateFailedError on failed gates. `actor` names
    who acts in the audit log (the dashboard passes its signed-in user; default: LEADOPS_ACTOR or the OS user).
    """
    from leadops.errors import ConfigError, GateFailedError
    from leadops.registry import Registry

    if force and not (reason or "").strip():
        raise ConfigError("promote --force needs a reason; expected --reason '<why the gates are overridden>'")
    version, _, gates, _ = review(settings, warehouse, ref)
    registry = Registry(settings, warehouse)
    if first_champion is not None and not gates.passed and not force and registry.champion() is None:
        force, reason = True, first_champion
    try:
        promoted = registry.promote(
            version.version,
            gates_passed=gates.passed,
            gate_detail=gates.to_dict(),
            force=force,
            reason=reason,
            actor=actor,
        )
    except GateFailedError:
        if first_champion is None:
            raise
        champion = registry.champion()
        return PromotionResult(None if champion is None else champion.to_dict(), False, False, gates, reason)
    return PromotionResult(promoted.to_dict(), True, force, gates, reason)


def compare_refs(settings: Settings, warehouse: Warehouse, refs: list[str]) -> ComparisonResult:
    """Several registered versions on the same test leads, each with its own features, in one HTML report."""
    from datetime import UTC, datetime

    from leadops.evaluation import write_comparison
    from leadops.modeling.assess import measure, routing_choice
    from leadops.registry import Registry, load_artifact_dir

    registry = Registry(settings, warehouse)
    context = build_context(settings, warehouse)
    reports = {}
    for ref in refs:
        version = registry.resolve(ref)
        bundle = load_bundle(load_artifact_dir(settings, version.version), verify=False)
        X_test, X_val = _own_rows(bundle, context)
        label = f"v{version.version} {version.scorer or ''}".strip()
        threshold = routing_choice(bundle.scorer, context, X_val).mql_threshold
        reports[label] = measure(bundle.scorer.score(X_test), context, mql_threshold=threshold)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = write_comparison(settings.path(settings.evaluation.report_dir) / f"compare-{stamp}.html", reports)
    return ComparisonResult(path, len(context.training.y_test), {k: headline(r) for k, r in reports.items()})
