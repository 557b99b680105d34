"""Lead volume and mix per source of a run's new leads against the reference run's: pure counts in, findings out.

Volume is new leads per day of the window, overall and per source. A change is flagged when its size reaches
`volume_change` (a share of the reference rate; a source the reference never had counts as new) AND it is
significant: given the two windows' total, the current count is binomial with p = current days / both windows'
days under equal rates (the exact conditional test of two Poisson rates, SciPy's binomtest). The mix is the
sources' shares, tested as the lead_source feature is (chi-square, Cramer's V).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from leadops.monitoring.drift import DriftValue, chi_square

ALL = "(all)"
MISSING = "(missing)"


@dataclass(frozen=True)
class SourceVolume:
    """New leads of one source (or of all) in the window and in the reference window, and the verdict."""

    source: str
    leads: int
    per_day: float
    reference_leads: int
    reference_per_day: float
    share: float | None
    reference_share: float | None
    change: float | None
    p_value: float
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return dict(self.__dict__)


def rate_p_value(current: int, reference: int, current_days: float, reference_days: float) -> float:
    """Two-sided p-value of equal rates for two Poisson counts (conditional on their sum: a binomial test)."""
    total = current + reference
    if total == 0:
        return 1.0
    return float(stats.binomtest(current, total, current_days / (current_days + reference_days)).pvalue)


def volume_changes(
    current: Mapping[str, int],
    reference: Mapping[str, int],
    current_days: float,
    reference_days: float,
    *,
    threshold: float,
    alpha: float,
) -> list[SourceVolume]:
    """The total first, then every source of either window (sorted): rates, shares, change, p-value, verdict."""
    cur_total, ref_total = int(sum(current.values())), int(sum(reference.values()))

    def row(name: str, cur: int, ref: int, share: float | None, ref_share: float | None) -> SourceVolume:
        per_day, ref_per_day = cur / current_days, ref / reference_days
        change = None if ref == 0 else per_day / ref_per_day - 1.0
        p = rate_p_value(cur, ref, current_days, reference_days)
        big = (cur > 0) if change is None else abs(change) >= threshold
        return SourceVolume(name, cur, per_day, ref, ref_per_day, share, ref_share, change, p, bool(big and p < alpha))

    out = [row(ALL, cur_total, ref_total, None, None)]
    for name in sorted(set(current) | set(reference)):
        cur, ref = int(current.get(name, 0)), int(reference.get(name, 0))
        out.append(
            row(
                name,
                cur,
                ref,
                cur / cur_total if cur_total else None,
                ref / ref_total if ref_total else None,
            )
        )
    return out


def source_mix(current: Mapping[str, int], reference: Mapping[str, int]) -> DriftValue:
    """Cramer's V (and the chi-square p-value) of the sources' counts: the mix test, as for a categorical feature."""
    names = sorted(set(current) | set(reference))
    ref = np.repeat(np.array(names, dtype=object), [int(reference.get(n, 0)) for n in names])
    cur = np.repeat(np.array(names, dtype=object), [int(current.get(n, 0)) for n in names])
    if ref.size == 0 or cur.size == 0:
        return DriftValue(float("nan"))
    return chi_square(ref, cur, "categorical")
