"""Score a fitted scorer on the test rows and measure it: statistics, business, groups, oracle, champion."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import LeadOpsError
from leadops.evaluation import ChampionScores, EvaluationReport, check_gates, evaluate
from leadops.evaluation.gates import GateResult, LeakageEvidence
from leadops.evaluation.thresholds import RoutingChoice, choose_threshold
from leadops.features.leakage import used_flags
from leadops.modeling.context import ModelContext
from leadops.scorers import Scorer, load_scorer


@dataclass
class Assessment:
    """One model measured on the test rows, next to the champion when there is one."""

    report: EvaluationReport
    scores: pd.DataFrame
    champion_report: EvaluationReport | None
    champion_version: int | None
    routing: RoutingChoice | None = None


def test_scores(scorer: Scorer, context: ModelContext) -> pd.DataFrame:
    """The scorer's output on the test rows (score, probability, grade, raw)."""
    return scorer.score(context.training.X_test)


def routing_choice(scorer: Scorer, context: ModelContext) -> RoutingChoice:
    """The MQL threshold SCORER routes with: `business.mql_threshold`, else chosen on the validation split."""
    training = context.training
    sample, X, times = "validation", training.X_val, training.times.get("validation")
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


def champion_scores(context: ModelContext, champion_dir: Path | None) -> pd.DataFrame | None:
    """The champion's scores on the same test rows, or None when it cannot score them (other features)."""
    found = _champion(context, champion_dir)
    return None if found is None else found[0]


def _champion(context: ModelContext, champion_dir: Path | None) -> tuple[pd.DataFrame, RoutingChoice] | None:
    """The champion's test scores and its MQL threshold, or None when it cannot score these rows."""
    if champion_dir is None:
        return None
    with contextlib.suppress(LeadOpsError):
        champion = load_scorer(champion_dir)
        return champion.score(context.training.X_test), routing_choice(champion, context)
    return None


def champion_artifact(registry: Any, *, other_than: int | None = None) -> tuple[Path | None, int | None]:
    """The champion's local artifact directory and version, unless there is none or it is `other_than`."""
    from leadops.registry import load_artifact_dir

    champion = registry.champion()
    if champion is None or champion.version == other_than:
        return None, None
    return load_artifact_dir(registry.settings, champion.version), champion.version


def assess(
    scorer: Scorer, context: ModelContext, champion_dir: Path | None, champion_version: int | None
) -> Assessment:
    """Measure a model and, on the same rows, the champion (for stability and the relative gates)."""
    scores = test_scores(scorer, context)
    choice = routing_choice(scorer, context)
    found = _champion(context, champion_dir)
    champ, champ_choice = found if found is not None else (None, None)
    champ_threshold = None if champ_choice is None else champ_choice.mql_threshold
    report = measure(scores, context, champ, mql_threshold=choice.mql_threshold, champion_mql_threshold=champ_threshold)
    champion_report = measure(champ, context, mql_threshold=champ_threshold) if champ is not None else None
    return Assessment(report, scores, champion_report, champion_version if champ is not None else None, choice)


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
        assessment.report, assessment.champion_report, rows, conversions, context.settings.gates, leakage
    )


def headline(report: EvaluationReport) -> dict[str, Any]:
    """The figures a person wants first (full detail stays in report.to_dict())."""
    data = report.to_dict()
    keys = ("auc", "pr_auc", "brier", "log_loss", "ece", "captured_at_capacity", "revenue_at_capacity")
    return {k: data.get(k) for k in keys}
