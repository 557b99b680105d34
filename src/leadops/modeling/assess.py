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


def test_scores(scorer: Scorer, context: ModelContext) -> pd.DataFrame:
    """The scorer's output on the test rows (score, probability, grade, raw)."""
    return scorer.score(context.training.X_test)


def measure(scores: pd.DataFrame, context: ModelContext, champion: pd.DataFrame | None = None) -> EvaluationReport:
    """Evaluate one model's test scores with the workspace's business yardstick."""
    ev = context.settings.evaluation
    probability = scores["probability"].to_numpy(dtype=float)
    has_probability = not np.isnan(probability).any()
    deal = context.training.deal_values["test"].to_numpy(dtype=float)
    deal_value = np.where(deal > 0, deal, ev.value_per_conversion)
    champion_scores = None
    if champion is not None:
        champion_scores = ChampionScores(
            score=champion["score"].to_numpy(dtype=float),
            grade=champion["grade"].astype(str).to_numpy(),
            mql_threshold=ev.mql_threshold,
        )
    return evaluate(
        context.training.y_test.to_numpy(),
        probability if has_probability else scores["score"].to_numpy(dtype=float),
        score=scores["score"].to_numpy(dtype=float),
        grade=scores["grade"].astype(str).to_numpy(),
        is_probability=has_probability,
        capacity_k=context.capacity_k,
        mql_threshold=ev.mql_threshold,
        value_per_conversion=ev.value_per_conversion,
        cost_per_contact=ev.cost_per_contact,
        deal_value=deal_value,
        groups=context.groups if len(context.groups.columns) else None,
        oracle=context.oracle,
        champion=champion_scores,
        min_group_n=ev.min_group_n,
    )


def champion_scores(context: ModelContext, champion_dir: Path | None) -> pd.DataFrame | None:
    """The champion's scores on the same test rows, or None when it cannot score them (other features)."""
    if champion_dir is None:
        return None
    with contextlib.suppress(LeadOpsError):
        return load_scorer(champion_dir).score(context.training.X_test)
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
    champ = champion_scores(context, champion_dir)
    report = measure(scores, context, champ)
    champion_report = measure(champ, context) if champ is not None else None
    return Assessment(report, scores, champion_report, champion_version if champ is not None else None)


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
