"""Typed results of the model-lifecycle commands; `to_dict()` is exactly what each command prints with --json."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadops.evaluation.gates import GateResult


@dataclass
class TrainResult:
    """One `leadops train`: the data it learned from, its figures on the test leads, its bundle, its gates."""

    model: str
    scorer_type: str
    rows: dict[str, int]
    conversions: dict[str, int]
    metrics: dict[str, Any]
    capacity_k: int
    routing: dict[str, Any] | None
    leakage_flags: dict[str, str]
    leakage: Any
    features: list[str]
    training_digest: str
    point_in_time: bool
    warnings: list[str]
    artifact: Path
    report: Path
    gates: GateResult
    champion_version: int | None = None
    oracle: dict[str, float | None] = field(default_factory=dict)
    version: int | None = None
    seconds: float = 0.0

    @property
    def mql_threshold(self) -> float | None:
        """The MQL threshold the version routes with (chosen on the validation split unless declared)."""
        return None if self.routing is None else self.routing.get("mql_threshold")

    @property
    def gates_passed(self) -> bool:
        """True when every gate passed."""
        return self.gates.passed

    def to_dict(self) -> dict[str, Any]:
        """What `leadops train --json` prints."""
        out: dict[str, Any] = {
            "model": self.model,
            "scorer_type": self.scorer_type,
            "train_rows": self.rows["train"],
            "validation_rows": self.rows["validation"],
            "test_rows": self.rows["test"],
            "train_conversions": self.conversions["train"],
            "test_conversions": self.conversions["test"],
            **self.metrics,
            "capacity_k": self.capacity_k,
            "mql_threshold": self.mql_threshold,
            "routing": self.routing,
            "leakage_flags": self.leakage_flags,
            "leakage": self.leakage,
            "features": self.features,
            "training_digest": self.training_digest,
            "point_in_time": self.point_in_time,
            "warnings": self.warnings,
            "artifact": str(self.artifact),
            "report": str(self.report),
            "champion_version": self.champion_version,
            "gates_passed": self.gates.passed,
            "failed_gates": list(self.gates.failed),
            **self.oracle,
        }
        if self.version is not None:
            out["version"] = self.version
        out["seconds"] = self.seconds
        return out


@dataclass
class EvaluationResult:
    """`leadops evaluate`: a registered version's figures on today's test leads, beside the champion's."""

    model: str | None
    version: int
    metrics: dict[str, Any]
    capacity_k: int
    mql_threshold: float | None
    test_rows: int
    champion_version: int | None
    champion_metrics: dict[str, Any] | None
    champion_problem: str | None
    gates_passed: bool
    report: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """What `leadops evaluate --json` prints."""
        return {
            "model": self.model,
            "version": self.version,
            **self.metrics,
            "capacity_k": self.capacity_k,
            "mql_threshold": self.mql_threshold,
            "test_rows": self.test_rows,
            "groups": self.report.get("groups"),
            "champion_version": self.champion_version,
            "champion": self.champion_metrics,
            "champion_problem": self.champion_problem,
            "gates_passed": self.gates_passed,
            "report": self.report,
        }


@dataclass
class GateVerdict:
    """`leadops validate`: every gate of a registered version, the champion it was held against."""

    model: str | None
    version: int
    champion_version: int | None
    gates: GateResult

    @property
    def passed(self) -> bool:
        """True when every gate passed."""
        return self.gates.passed

    def to_dict(self) -> dict[str, Any]:
        """What `leadops validate --json` prints (beside ok/error)."""
        return {
            "model": self.model,
            "version": self.version,
            "champion_version": self.champion_version,
            **self.gates.to_dict(),
        }


@dataclass
class PromotionResult:
    """`leadops models promote` / the promotion policy: who is champion now, and what the gates said."""

    champion: dict[str, Any] | None
    promoted: bool
    forced: bool
    gates: GateResult
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What `leadops models promote --json` prints."""
        return {
            "champion": self.champion,
            "promoted": self.promoted,
            "forced": self.forced,
            "reason": self.reason,
            "gates_passed": self.gates.passed,
            "failed_gates": list(self.gates.failed),
        }


@dataclass
class ComparisonResult:
    """`leadops compare`: several versions on the same test leads, each with its own features."""

    report: Path
    test_rows: int
    models: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """What `leadops compare --json` prints."""
        return {"report": str(self.report), "test_rows": self.test_rows, "models": self.models}
