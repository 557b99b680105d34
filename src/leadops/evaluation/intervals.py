"""Confidence intervals for conversion rates (Wilson score), checked against SciPy's binomtest."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from leadops.evaluation.errors import EvaluationError


def wilson_interval(
    successes: npt.ArrayLike, n: npt.ArrayLike, level: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Wilson score interval (no continuity correction) for k successes out of n; NaN where n == 0."""
    if not 0.0 < level < 1.0:
        raise EvaluationError(f"wilson_interval: level must be in (0, 1), got {level}")
    k = np.asarray(successes, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    if np.any(k < 0) or np.any(k > nn):
        raise EvaluationError("wilson_interval: expected 0 <= successes <= n for every entry")
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        phat = k / nn
        denom = 1.0 + z * z / nn
        center = (phat + z * z / (2.0 * nn)) / denom
        half = z * np.sqrt(phat * (1.0 - phat) / nn + z * z / (4.0 * nn * nn)) / denom
        low = np.where(nn > 0, np.clip(center - half, 0.0, 1.0), np.nan)
        high = np.where(nn > 0, np.clip(center + half, 0.0, 1.0), np.nan)
    return np.atleast_1d(low).astype(np.float64), np.atleast_1d(high).astype(np.float64)


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Scalar Wilson interval; (nan, nan) when n == 0."""
    lo, hi = wilson_interval([successes], [n], level)
    return float(lo[0]), float(hi[0])
