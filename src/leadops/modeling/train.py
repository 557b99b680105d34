"""`leadops train`: cut the training set, fit a configured scorer, measure it, save its plain files, register it."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops import __version__
from leadops.bundle import save_bundle
from leadops.bundle.summaries import summarize
from leadops.config import Settings
from leadops.errors import NotFoundError
from leadops.evaluation import auc, write_report
from leadops.features.leakage import used_flags
from leadops.hashing import config_hash, feature_spec_hash
from leadops.modeling.assess import assess, champion_view, gates_for, headline
from leadops.modeling.context import ModelContext, build_context
from leadops.modeling.results import TrainResult
from leadops.scorers import Scorer, build_scorer
from leadops.scorers.phrases import meanings_of
from leadops.warehouse import Warehouse

Progress = Callable[[str, float], None]


def model_catalog(
    settings: Settings, labels: dict[str, str], meanings: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The configured models as plain specs, each given the feature labels and meanings its reasons are worded from."""
    catalog: dict[str, Any] = {}
    for name, spec in settings.models.items():
        data = copy.deepcopy(spec if isinstance(spec, dict) else spec.model_dump(mode="json", exclude_unset=True))
        data["feature_labels"] = {**labels, **data.get("feature_labels", {})}
        data["feature_meanings"] = {**(meanings or {}), **data.get("feature_meanings", {})}
        catalog[name] = data
    return catalog


def fit_scorer(settings: Settings, name: str, context: ModelContext) -> Scorer:
    """Build the configured scorer NAME and fit it on the training split (validation for calibration)."""
    if name not in settings.models:
        raise NotFoundError(f"no model named '{name}' in leadops.yaml", hint=f"configured: {sorted(settings.models)}")
    training = context.training
    catalog = model_catalog(settings, training.feature_labels, meanings_of(training.spec))
    scorer = build_scorer(catalog[name], catalog=catalog)
    has_val = len(training.y_val) > 0 and training.y_val.nunique() == 2
    return scorer.fit(
        training.X_train,
        training.y_train,
        X_val=training.X_val if has_val else None,
        y_val=training.y_val if has_val else None,
    )


def monitoring_reference(X_test: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The held-out rows as the model saw them plus their score: what monitoring compares tonight's leads with."""
    frame = X_test.reset_index(drop=True).copy()
    frame["score"] = scores["score"].to_numpy(dtype=float)
    return frame


def train_model(
    settings: Settings,
    warehouse: Warehouse,
    name: str,
    *,
    register: bool = True,
    progress: Progress | None = None,
) -> TrainResult:
    """Train the configured scorer NAME end to end: fit, measure beside the champion, save its bundle, register."""
    step = progress or (lambda label, fraction: None)
    started = time.perf_counter()
    step("building the training set", 0.05)
    context = build_context(settings, warehouse)
    training = context.training
    step(f"fitting {name}", 0.35)
    scorer = fit_scorer(settings, name, context)
    step("evaluating on the test split", 0.7)
    champion = champion_view(context, _registry(settings, warehouse)) if register else None
    champion_version = None if champion is None else champion.version
    assessment = assess(scorer, context, champion)
    gates = gates_for(assessment, context)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    artifact = settings.path(Path(".leadops") / "artifacts" / f"{name}-{stamp}")
    routing = assessment.routing.to_dict() if assessment.routing is not None else None
    save_bundle(
        artifact,
        scorer,
        training.spec,
        summaries=summarize(training.X_train, training.spec, assessment.scores),
        reference=monitoring_reference(training.X_test, assessment.scores),
        lineage={
            "training_set_digest": training.digest,
            "training_set_rows": len(training.y_train) + len(training.y_val) + len(training.y_test),
            "train_rows": len(training.y_train),
            "data_end": training.data_end.isoformat() if isinstance(training.data_end, datetime) else None,
            "leadops_version": __version__,
        },
        config_hash=config_hash(settings),
        extras={"routing": routing} if routing is not None else None,
    )
    report_dir = settings.path(settings.evaluation.report_dir)
    report_path = write_report(
        report_dir / f"{name}-{stamp}.html",
        assessment.report,
        model_name=name,
        champion=assessment.champion_report,
        champion_name=f"champion v{champion_version}" if champion_version else "champion",
        gate_result=gates,
        leakage=training.leakage.to_dict(),
    )
    report = assessment.report.to_dict()
    metrics = headline(assessment.report)
    oracle: dict[str, float | None] = {}
    if context.oracle is not None:
        oracle["oracle_auc"] = float(auc(training.y_test.to_numpy(), context.oracle))
        figures = (report.get("oracle") or {}).get("figures", {})
        oracle["oracle_captured_at_capacity"] = (figures.get("captured_at_capacity") or {}).get("oracle")
        oracle["oracle_lift_share"] = _lift_share(metrics.get("auc"), oracle["oracle_auc"])
    observable = observable_oracle_auc(context)
    if observable is not None:
        oracle["observable_oracle_auc"] = observable
    result = TrainResult(
        model=name,
        scorer_type=type(scorer).scorer_type,
        rows={"train": len(training.y_train), "validation": len(training.y_val), "test": len(training.y_test)},
        conversions={"train": int(training.y_train.sum()), "test": int(training.y_test.sum())},
        metrics=metrics,
        capacity_k=context.capacity_k,
        routing=routing,
        leakage_flags=training.leakage.reasons(),
        leakage=training.leakage.flags(),
        features=training.features,
        training_digest=training.digest,
        point_in_time=training.point_in_time,
        warnings=[*training.warnings, *scorer.diagnose(training.X_train)],
        artifact=artifact,
        report=report_path,
        gates=gates,
        champion_version=champion_version,
        oracle=oracle,
    )
    if register:
        step("registering the version", 0.9)
        result.version = _register(settings, warehouse, name, scorer, artifact, report_path, result.to_dict(), context)
    result.seconds = round(time.perf_counter() - started, 2)
    step("done", 1.0)
    return result


def _lift_share(model_auc: float | None, oracle_auc: float | None) -> float | None:
    if model_auc is None or oracle_auc is None or oracle_auc <= 0.5:
        return None
    return float((model_auc - 0.5) / (oracle_auc - 0.5))


def observable_oracle_auc(context: ModelContext) -> float | None:
    truth = context.training.truth
    if truth is None or "observable_logit" not in truth["test"]:
        return None
    logit = truth["test"]["observable_logit"].to_numpy(dtype=float)
    if np.isnan(logit).any():
        return None
    return float(auc(context.training.y_test.to_numpy(), logit))


def _registry(settings: Settings, warehouse: Warehouse) -> Any:
    from leadops.registry import Registry

    return Registry(settings, warehouse)


def _register(
    settings: Settings,
    warehouse: Warehouse,
    name: str,
    scorer: Scorer,
    artifact: Path,
    report_path: Path,
    result: dict[str, Any],
    context: ModelContext,
) -> int:
    metrics = {k: v for k, v in result.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    version = _registry(settings, warehouse).log_training(
        name,
        artifact,
        params={"scorer": name, "scorer_type": result["scorer_type"], "features": len(result["features"])},
        metrics=metrics,
        lineage={
            "training_set_digest": context.training.digest,
            "training_set_rows": result["train_rows"] + result["validation_rows"] + result["test_rows"],
            "train_rows": result["train_rows"],
            "feature_spec_hash": feature_spec_hash(context.training.spec),
            "config_hash": config_hash(settings),
            "leadops_version": __version__,
            "gates_passed": result["gates_passed"],
            "leakage_flags_used": json.dumps(sorted(used_flags(context.training.leakage, result["features"]))),
        },
        report_path=report_path,
    )
    return int(version.version)
