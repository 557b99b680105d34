"""Drift of every feature and of the score between a reference and a current sample: pure frames in, findings out.

Each feature is tested with every registered statistic that accepts its type (monitoring.drift); a feature has
drifted when any statistic's effect size reaches its threshold (`thresholds` overrides the defaults by name).
The KS and chi-square p-values are reported beside, never used to decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadops.monitoring.drift import DriftValue, Kind, shared_cleaning, stats_for
from leadops.monitoring.errors import MonitoringError

SCORE = "score"


@dataclass(frozen=True)
class StatResult:
    """One statistic on one feature: its value, p-value, threshold and verdict."""

    stat: str
    value: float | None
    threshold: float
    drifted: bool
    p_value: float | None = None
    detail: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (None for a value that could not be computed, e.g. an all-missing sample)."""
        return {
            "value": self.value,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "p_value": self.p_value,
            **({"detail": self.detail} if self.detail else {}),
        }


@dataclass(frozen=True)
class FeatureDrift:
    """Every statistic of one feature (or of the score) and whether any of them says it drifted."""

    feature: str
    kind: Kind
    reference_rows: int
    current_rows: int
    stats: dict[str, StatResult]

    @property
    def drifted(self) -> bool:
        """True when any statistic reached its threshold."""
        return any(s.drifted for s in self.stats.values())

    @property
    def drifted_by(self) -> list[str]:
        """The statistics that reached their thresholds."""
        return [name for name, s in self.stats.items() if s.drifted]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for `monitor --json` and the drift table."""
        return {
            "kind": self.kind,
            "drifted": self.drifted,
            "drifted_by": self.drifted_by,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "stats": {name: s.to_dict() for name, s in self.stats.items()},
        }


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _values(column: pd.Series, kind: Kind) -> np.ndarray:
    if kind == "numeric":
        return np.asarray(pd.to_numeric(column, errors="coerce"), dtype=float)
    return np.asarray(column.astype(object).where(column.notna(), None), dtype=object)


DISTRIBUTION_TEST: dict[Kind, str] = {"numeric": "ks", "categorical": "chi_square"}


def feature_drift(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    kind: Kind,
    thresholds: Mapping[str, float] | None = None,
    alpha: float | None = None,
) -> FeatureDrift:
    """Every applicable statistic for one feature.

    With `alpha` (small samples: a run's new leads), a statistic drifts only when its effect size passes AND the
    difference is significant: its own p-value, else the feature's distribution test's (KS / chi-square), < alpha.
    """
    ref, cur = _values(reference, kind), _values(current, kind)
    got_by: dict[str, tuple[float, DriftValue]] = {}
    with shared_cleaning():
        for stat in stats_for(kind):
            limit = float((thresholds or {}).get(stat.name, stat.threshold))
            got_by[stat.name] = (limit, stat.compute(ref, cur, kind))
    base = got_by.get(DISTRIBUTION_TEST[kind])
    results: dict[str, StatResult] = {}
    for stat in stats_for(kind):
        limit, got = got_by[stat.name]
        drifted = stat.drifted(got, limit)
        if alpha is not None and drifted:
            p = got.p_value if got.p_value is not None else (None if base is None else base[1].p_value)
            drifted = p is not None and p < alpha
        results[stat.name] = StatResult(
            stat=stat.name,
            value=_finite(got.value),
            threshold=limit,
            drifted=drifted,
            p_value=got.p_value,
            detail=dict(got.detail),
        )
    return FeatureDrift(name, kind, len(ref), len(cur), results)


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, Kind],
    thresholds: Mapping[str, float] | None = None,
    alpha: float | None = None,
) -> list[FeatureDrift]:
    """Drift of each column in `kinds` present in both frames, in `kinds`' order (the score is one more column)."""
    missing = [c for c in kinds if c not in reference.columns or c not in current.columns]
    if missing:
        raise MonitoringError(
            f"drift: features {missing} are not in both the reference and the current sample; "
            f"expected every one of {list(kinds)}"
        )
    return [feature_drift(c, reference[c], current[c], kinds[c], thresholds, alpha) for c in kinds]
