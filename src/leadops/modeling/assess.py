"""Score a fitted scorer on the test rows and measure it: statistics, business, groups, oracle, champion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadops.bundle import Bundle, load_bundle
from leadops.errors import LeadOpsError, ScorerError
from leadops.evaluation import ChampionScores, EvaluationReport, check_gates, evaluate
from leadops.evaluation.gates import GateResult, LeakageEvidence
from leadops.evaluation.thresholds import RoutingChoice, choose_threshold
from leadops.features.leakage import used_flags
from leadops.hashing import feature_spec_hash
from leadops.modeling.context import ModelContext
from leadops.scorers import Scorer


@dataclass
class Assessment:
    """One model measured on the test rows, next to the champion when there is one."""

    report: EvaluationReport
    scores: pd.DataFrame
    champion_report: EvaluationReport | None
    champion_version: int | None
    routing: RoutingChoice | None = None
    champion_problem: str | None = None


def routing_choice(scorer: Scorer, context: ModelContext, X_val: pd.DataFrame | None = None) -> RoutingChoice:
    """The MQL threshold SCORER routes with: `business.mql_threshold`, else chosen on the validation split
    (`X_val`: the scorer's own rows of it, default the training set's)."""
    training = context.training
    sample, X, times = "validation", training.X_val if X_val is None else X_val, training.times.get("validation")
    if len(X) == 0:
        sample, X, times = "train", training.X_train, training.times.get("train")
    scored = scorer.score(X)
    return choose_threshold(
        scored["score"].to_numpy(dtype=float),
        context.settings.business,
        times if training.point_in_time else None,
        sample=sample,
        probabilities=scored["probability"].to_numpy(dtype=float),
    )


def measure(
    scores: pd.DataFrame,
    context: ModelContext,
    champion: pd.DataFrame | None = None,
    *,
    mql_threshold: float | None = None,
    champion_mql_threshold: float | None = None,
) -> EvaluationReport:
    """Evaluate one model's test scores with the workspace's business facts (`business:`)."""
    ev = context.settings.evaluation
    business = context.settings.business
    declared = business.mql_threshold
    threshold = mql_threshold if mql_threshold is not None else declared
    if threshold is None:  # no version-specific choice given: the capacity threshold on these scores
        probability = scores["probability"].to_numpy(dtype=float)
        threshold = choose_threshold(
            scores["score"], business, None, sample="test", probabilities=probability
        ).mql_threshold
    probability = scores["probability"].to_numpy(dtype=float)
    has_probability = not np.isnan(probability).any()
    deal = context.training.deal_values["test"].to_numpy(dtype=float)
    deal_value = np.where(deal > 0, deal, business.value_per_conversion)
    champion_scores = None
    if champion is not None:
        champion_threshold = champion_mql_threshold if champion_mql_threshold is not None else threshold
        champion_scores = ChampionScores(
            score=champion["score"].to_numpy(dtype=float),
            grade=champion["grade"].astype(str).to_numpy(),
            mql_threshold=champion_threshold,
        )
    return evaluate(
        context.training.y_test.to_numpy(),
        probability if has_probability else scores["score"].to_numpy(dtype=float),
        score=scores["score"].to_numpy(dtype=float),
        grade=scores["grade"].astype(str).to_numpy(),
        is_probability=has_probability,
        capacity_k=context.capacity_k,
        mql_threshold=threshold,
        value_per_conversion=business.value_per_conversion,
        cost_per_contact=business.cost_per_contact,
        deal_value=deal_value,
        groups=context.groups if len(context.groups.columns) else None,
        oracle=context.oracle,
        champion=champion_scores,
        min_group_n=ev.min_group_n,
    )


@dataclass(frozen=True)
class ChampionView:
    """The champion on the candidate's test leads, with its own features and threshold, or why it could not be."""

    version: int
    scores: pd.DataFrame | None
    mql_threshold: float | None
    problem: str | None = None


def version_rows(bundle: Bundle, context: ModelContext, split: str) -> pd.DataFrame:
    """A registered version's own feature rows for the (lead, snapshot) rows of one split of today's training set.

    When the version was fitted with exactly today's spec its rows are the training set's (the bundle tests prove
    both paths equal), so no second feature query runs."""
    training = context.training
    frames = {"train": training.X_train, "validation": training.X_val, "test": training.X_test}
    if bundle.spec_hash == feature_spec_hash(training.spec) and bundle.feature_names == training.features:
        return frames[split]
    if context.warehouse is None:
        raise ScorerError("version_rows: the model context has no warehouse to build a version's features from")
    return bundle.rows_at(context.warehouse, training.ids[split], training.times[split])


def champion_view(context: ModelContext, registry: Any, *, other_than: int | None = None) -> ChampionView | None:
    """The champion measured on today's test leads from its own bundle; None only when there is no champion."""
    from leadops.registry import load_artifact_dir

    champion = registry.champion()
    if champion is None or champion.version == other_than:
        return None
    version = int(champion.version)
    try:
        bundle = load_bundle(load_artifact_dir(registry.settings, version), verify=False)
        scores = bundle.scorer.score(version_rows(bundle, context, "test"))
        X_val = version_rows(bundle, context, "validation") if len(context.training.X_val) else None
        threshold = routing_choice(bundle.scorer, context, X_val).mql_threshold
    except LeadOpsError as exc:
        why = f"champion v{version} could not be scored on the same test leads: {exc.message}"
        return ChampionView(version, None, None, why)
    return ChampionView(version, scores, threshold)


def assess(
    scorer: Scorer,
    context: ModelContext,
    champion: ChampionView | None,
    X_test: pd.DataFrame | None = None,
    X_val: pd.DataFrame | None = None,
) -> Assessment:
    """Measure a model on its rows of the test leads and, on the same leads, the champion (stability, gates)."""
    X = context.training.X_test if X_test is None else X_test
    scores = scorer.score(X)
    choice = routing_choice(scorer, context, X_val)
    champ = None if champion is None else champion.scores
    champ_threshold = None if champion is None else champion.mql_threshold
    report = measure(scores, context, champ, mql_threshold=choice.mql_threshold, champion_mql_threshold=champ_threshold)
    champion_report = measure(champ, context, mql_threshold=champ_threshold) if champ is not None else None
    return Assessment(
        report,
        scores,
        champion_report,
        None if champion is None else champion.version,
        choice,
        None if champion is None else champion.problem,
    )


def gates_for(
    assessment: Assessment,
    context: ModelContext,
    features: Sequence[str] | None = None,
    recorded_flags: Mapping[str, str] | None = None,
) -> GateResult:
    """Check every gate: floors, champion-relative, groups, calibration, training data, and no_leakage for the
    model's `features` (default: the training set's) against today's guard and the flags its training recorded."""
    training = context.training
    rows = len(training.y_train) + len(training.y_val)
    conversions = int(training.y_train.sum() + training.y_val.sum())
    used = {**(recorded_flags or {}), **used_flags(training.leakage, features or training.features)}
    leakage = LeakageEvidence(
        used=used,
        excluded=tuple(training.leakage.excluded),
        declared=tuple(training.leakage.declared),
        skipped=training.leakage.skipped,
    )
    return check_gates(
        assessment.report,
        assessment.champion_report,
        rows,
        conversions,
        context.settings.gates,
        leakage,
        champion_problem=assessment.champion_problem,
    )


def headline(report: EvaluationReport) -> dict[str, Any]:
    """The figures a person wants first (full detail stays in report.to_dict())."""
    data = report.to_dict()
    keys = ("auc", "pr_auc", "brier", "log_loss", "ece", "captured_at_capacity", "revenue_at_capacity")
    return {k: data.get(k) for k in keys}
