"""Evaluation of scoring models: statistical and business measures, by group, against the oracle and the
champion, validation gates and offline HTML reports.

Pure: arrays and frames in, dataclasses/frames/HTML out.
"""

from leadops.evaluation.business import (
    at_capacity,
    at_threshold,
    best_cutoff,
    captured_at_capacity,
    expected_value_at_k,
    expected_value_at_threshold,
    expected_value_curve,
    gains_table,
)
from leadops.evaluation.champion_stability import ChampionScores, migration_matrix, stability
from leadops.evaluation.errors import EvaluationError, UndefinedMetricError
from leadops.evaluation.evaluator import EvaluationReport, evaluate
from leadops.evaluation.gates import GateOutcome, GateResult, check_gates
from leadops.evaluation.groups import group_frame, group_metrics
from leadops.evaluation.intervals import wilson, wilson_interval
from leadops.evaluation.metrics import auc, auc_ci, brier, ece, log_loss, pr_auc, reliability_curve
from leadops.evaluation.oracle import oracle_comparison
from leadops.evaluation.report import render_comparison, render_report, write_comparison, write_report
from leadops.settings.gates import GatesConfig

__all__ = [
    "ChampionScores",
    "EvaluationError",
    "EvaluationReport",
    "GateOutcome",
    "GateResult",
    "GatesConfig",
    "UndefinedMetricError",
    "at_capacity",
    "at_threshold",
    "auc",
    "auc_ci",
    "best_cutoff",
    "brier",
    "captured_at_capacity",
    "check_gates",
    "ece",
    "evaluate",
    "expected_value_at_k",
    "expected_value_at_threshold",
    "expected_value_curve",
    "gains_table",
    "group_frame",
    "group_metrics",
    "log_loss",
    "migration_matrix",
    "oracle_comparison",
    "pr_auc",
    "reliability_curve",
    "render_comparison",
    "render_report",
    "stability",
    "wilson",
    "wilson_interval",
    "write_comparison",
    "write_report",
]
