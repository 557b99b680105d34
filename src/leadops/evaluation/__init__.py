"""Evaluation of scoring models: statistical and business measures, by group, against the oracle and the
champion, validation gates and offline HTML reports.

Pure: arrays and frames in, dataclasses/frames/HTML out.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names resolve on first use, so `import leadops.evaluation.gates` (config loading) stays cheap.
_LAZY = {
    "ChampionScores": "leadops.evaluation.champion_stability",
    "EvaluationError": "leadops.evaluation.errors",
    "EvaluationReport": "leadops.evaluation.evaluator",
    "GateOutcome": "leadops.evaluation.gates",
    "GateResult": "leadops.evaluation.gates",
    "GatesConfig": "leadops.evaluation.gates",
    "UndefinedMetricError": "leadops.evaluation.errors",
    "at_capacity": "leadops.evaluation.business",
    "at_threshold": "leadops.evaluation.business",
    "auc": "leadops.evaluation.metrics",
    "auc_ci": "leadops.evaluation.metrics",
    "best_cutoff": "leadops.evaluation.business",
    "brier": "leadops.evaluation.metrics",
    "captured_at_capacity": "leadops.evaluation.business",
    "check_gates": "leadops.evaluation.gates",
    "ece": "leadops.evaluation.metrics",
    "evaluate": "leadops.evaluation.evaluator",
    "expected_value_at_k": "leadops.evaluation.business",
    "expected_value_at_threshold": "leadops.evaluation.business",
    "expected_value_curve": "leadops.evaluation.business",
    "gains_table": "leadops.evaluation.business",
    "group_frame": "leadops.evaluation.groups",
    "group_metrics": "leadops.evaluation.groups",
    "log_loss": "leadops.evaluation.metrics",
    "migration_matrix": "leadops.evaluation.champion_stability",
    "oracle_comparison": "leadops.evaluation.oracle",
    "pr_auc": "leadops.evaluation.metrics",
    "reliability_curve": "leadops.evaluation.metrics",
    "render_comparison": "leadops.evaluation.report",
    "render_report": "leadops.evaluation.report",
    "stability": "leadops.evaluation.champion_stability",
    "wilson": "leadops.evaluation.intervals",
    "wilson_interval": "leadops.evaluation.intervals",
    "write_comparison": "leadops.evaluation.report",
    "write_report": "leadops.evaluation.report",
}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` when it is first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'leadops.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
