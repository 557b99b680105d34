"""Validation gates declared in config: absolute floors, limits relative to the champion (overall and for
every group large enough to judge), a calibration bound and a minimum of training data; plus `no_leakage`,
which is not configurable: it fails when the model uses a feature the leakage guard flagged on the training
set (kept through `training.leakage.allow` or `action: warn`). A model is promoted only if every gate passes
(or when forced with a reason); a gate relative to the champion passes with detail "no champion" when
there is none, and fails with the reason when a champion exists but could not be measured on the same leads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leadops.errors import GateFailedError
from leadops.settings.gates import GatesConfig

if TYPE_CHECKING:
    from leadops.evaluation.evaluator import EvaluationReport

NO_CHAMPION = "no champion"


@dataclass(frozen=True)
class GateOutcome:
    """One gate: did it pass, the measured value, the bound it was held to, and a human-readable detail."""

    passed: bool
    value: float | None
    bound: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return {"passed": self.passed, "value": self.value, "bound": self.bound, "detail": self.detail}


@dataclass(frozen=True)
class GateResult:
    """All gates of one model; `passed` only if every gate passed."""

    passed: bool
    gates: dict[str, GateOutcome] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        """Names of the gates that failed."""
        return [name for name, g in self.gates.items() if not g.passed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict: {passed, gates: {name: {passed, value, bound, detail}}}."""
        return {"passed": self.passed, "gates": {k: g.to_dict() for k, g in self.gates.items()}}

    def raise_if_failed(self, model: str = "model") -> None:
        """Raise GateFailedError naming every failed gate and why."""
        if not self.passed:
            why = "; ".join(f"{n}: {self.gates[n].detail}" for n in self.failed)
            raise GateFailedError(f"{model} failed {len(self.failed)} gate(s): {why}")


@dataclass(frozen=True)
class LeakageEvidence:
    """What the leakage guard found on the training set, as the no_leakage gate needs it."""

    used: Mapping[str, str] = field(default_factory=dict)
    """flagged features the model uses -> why"""
    excluded: tuple[str, ...] = ()
    declared: tuple[str, ...] = ()
    skipped: str | None = None


def leakage_gate(evidence: LeakageEvidence) -> GateOutcome:
    """no_leakage: the model may not use a feature the guard flagged; the detail names them and the way out."""
    if evidence.used:
        names = ", ".join(sorted(evidence.used))
        return GateOutcome(
            False,
            float(len(evidence.used)),
            0.0,
            f"the model uses {len(evidence.used)} feature(s) the leakage guard flagged: {names}; retrain "
            "without them (drop them from training.leakage.allow) or promote with --force --reason",
        )
    if evidence.skipped:
        return GateOutcome(True, 0.0, 0.0, f"leakage guard did not run: {evidence.skipped}")
    left_out = [*evidence.excluded, *evidence.declared]
    detail = "no feature the model uses is flagged"
    if left_out:
        detail += f" ({', '.join(left_out)} left out of training)"
    return GateOutcome(True, 0.0, 0.0, detail)


def _floor(name: str, value: float | None, bound: float, higher_is_better: bool) -> GateOutcome:
    """A gate on one figure of the report."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return GateOutcome(False, None, bound, f"{name} not available for this model")
    ok = value >= bound if higher_is_better else value <= bound
    op = ">=" if higher_is_better else "<="
    return GateOutcome(ok, float(value), bound, f"{name} {value:.4f} {'' if ok else 'not '}{op} {bound:.4f}")


def _drop(name: str, new: float | None, old: float | None, bound: float) -> GateOutcome:
    """A gate on how much a figure fell from the champion to the challenger."""
    if new is None or old is None:
        return GateOutcome(False, None, bound, f"{name} not available (challenger {new}, champion {old})")
    d = float(old) - float(new)
    ok = d <= bound + 1e-12
    return GateOutcome(
        ok,
        d,
        bound,
        f"{name} {old:.4f} -> {new:.4f} (drop {d:.4f} {'<=' if ok else '>'} allowed {bound:.4f})",
    )


def check_gates(
    report: EvaluationReport,
    champion_report: EvaluationReport | None,
    train_rows: int,
    train_conversions: int,
    gates: GatesConfig,
    leakage: LeakageEvidence | None = None,
    *,
    champion_problem: str | None = None,
) -> GateResult:
    """Hold a challenger's report (and its training data size, and what the leakage guard found on its
    training set) to every gate.

    `champion_problem` says why an existing champion could not be measured on the same leads: every gate
    relative to the champion then fails with that reason (it never passes for want of a comparison)."""
    out: dict[str, GateOutcome] = {}
    if leakage is not None:
        out["no_leakage"] = leakage_gate(leakage)
    a = gates.absolute
    for name, value, bound, hib in (
        ("min_auc", report.auc, a.min_auc, True),
        ("min_pr_auc", report.pr_auc, a.min_pr_auc, True),
        ("max_brier", report.brier, a.max_brier, False),
        ("max_log_loss", report.log_loss, a.max_log_loss, False),
        ("min_captured_at_capacity", report.captured_at_capacity, a.min_captured_at_capacity, True),
        (
            "min_mql_conversion_rate",
            None if report.mql is None else report.mql.get("conversion_rate"),
            a.min_mql_conversion_rate,
            True,
        ),
    ):
        if bound is not None:
            out[name] = _floor(name.split("_", 1)[1], value, bound, hib)

    c = gates.calibration
    if c.max_ece is not None:
        out["max_ece"] = _floor("ece", report.ece, c.max_ece, False)
    if c.max_calibration_in_the_large is not None:
        citl = report.calibration_in_the_large
        out["max_calibration_in_the_large"] = _floor(
            "|mean predicted - observed rate|",
            None if citl is None else abs(citl),
            c.max_calibration_in_the_large,
            False,
        )

    t = gates.training
    out["min_train_rows"] = _floor("training rows", float(train_rows), float(t.min_train_rows), True)
    out["min_train_conversions"] = _floor(
        "training conversions", float(train_conversions), float(t.min_train_conversions), True
    )

    ch = gates.champion
    for name, attr, bound in (
        ("max_auc_drop", "auc", ch.max_auc_drop),
        ("max_captured_at_capacity_drop", "captured_at_capacity", ch.max_captured_at_capacity_drop),
    ):
        if bound is None:
            continue
        if champion_report is None:
            out[name] = (
                GateOutcome(False, None, bound, champion_problem)
                if champion_problem
                else GateOutcome(True, None, bound, NO_CHAMPION)
            )
        else:
            out[name] = _drop(attr, getattr(report, attr), getattr(champion_report, attr), bound)

    g = gates.groups
    if g.max_group_auc_drop is not None:
        columns = g.columns if g.columns is not None else list(report.groups)
        for col in columns:
            out[f"max_group_auc_drop:{col}"] = (
                GateOutcome(False, None, g.max_group_auc_drop, champion_problem)
                if champion_report is None and champion_problem
                else _group_gate(report, champion_report, col, g.max_group_auc_drop)
            )
    return GateResult(passed=all(o.passed for o in out.values()), gates=out)


def _group_gate(
    report: EvaluationReport, champion_report: EvaluationReport | None, col: str, bound: float
) -> GateOutcome:
    """Worst AUC drop over the groups of one column that neither report marks small."""
    if champion_report is None:
        return GateOutcome(True, None, bound, NO_CHAMPION)
    if col not in report.groups:
        return GateOutcome(False, None, bound, f"group column {col!r} was not evaluated for the challenger")
    if col not in champion_report.groups:
        return GateOutcome(False, None, bound, f"group column {col!r} was not evaluated for the champion")
    new, old = report.groups[col], champion_report.groups[col]
    drops: list[tuple[float, str, float, float]] = []
    skipped = 0
    for value, m in new.items():
        o = old.get(value)
        if o is None or m.get("small") or o.get("small") or m.get("auc") is None or o.get("auc") is None:
            skipped += 1
            continue
        drops.append((float(o["auc"]) - float(m["auc"]), value, float(o["auc"]), float(m["auc"])))
    if not drops:
        return GateOutcome(True, None, bound, f"no group of {col!r} large enough to judge ({skipped} skipped)")
    drops.sort(reverse=True)
    worst = drops[0][0]
    failing = [d for d in drops if d[0] > bound + 1e-12]
    if failing:
        detail = "; ".join(f"{col}={v}: AUC {o:.4f} -> {n:.4f} (drop {d:.4f})" for d, v, o, n in failing)
        detail += f" > allowed {bound:.4f}"
    else:
        d, v, _o, _n = drops[0]
        detail = f"worst {col}={v} drop {d:.4f} <= allowed {bound:.4f} ({len(drops)} groups, {skipped} small skipped)"
    return GateOutcome(not failing, worst, bound, detail)
