"""The statistics of an A/B readout as small pure functions (numbers in, numbers out), each tested against SciPy
or statsmodels: two-proportion z, Welch t, relative lift by the delta method on the log ratio, the sample-ratio
chi-square, CUPED, an always-valid mixture SPRT (mSPRT) with its confidence sequence, power and sample size.

Every function takes summary statistics or plain arrays, so the same code serves one readout and 2,000
vectorised simulated tests (arguments may be numpy arrays of equal shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from leadops.experiments.errors import ExperimentError

FloatLike = ArrayLike
"""An argument: a number or an array of numbers (the functions broadcast)."""
Floats = NDArray[np.float64]
"""A result: float64 values shaped as the arguments broadcast (0-d for one readout: float() takes it)."""


class Sample(Protocol):
    """One arm's summary statistics: mean, sample variance (ddof=1) and units (analysis.ArmMetric is one)."""

    @property
    def mean(self) -> FloatLike: ...

    @property
    def var(self) -> FloatLike: ...

    @property
    def n(self) -> FloatLike: ...


@dataclass(frozen=True)
class Summary:
    """A Sample from plain numbers or arrays (simulated tests, one set of values)."""

    mean: FloatLike
    var: FloatLike
    n: FloatLike

    @classmethod
    def of(cls, values: ArrayLike) -> Summary:
        """The mean, sample variance and size of one arm's values."""
        arr = np.asarray(values, dtype=float)
        return cls(float(arr.mean()), float(arr.var(ddof=1)), int(arr.size))


def _arms(control: Sample, treatment: Sample) -> tuple[Floats, Floats, Floats, Floats, Floats, Floats]:
    """Both arms' mean, variance and n as float arrays, control first."""
    c, t = control, treatment
    mean_c, var_c, n_c, mean_t, var_t, n_t = (
        np.asarray(v, dtype=float) for v in (c.mean, c.var, c.n, t.mean, t.var, t.n)
    )
    return mean_c, var_c, n_c, mean_t, var_t, n_t


@dataclass(frozen=True)
class Difference:
    """Treatment minus control with its standard error, interval and two-sided test."""

    diff: Floats
    se: Floats
    low: Floats
    high: Floats
    stat: Floats
    p_value: Floats


@dataclass(frozen=True)
class Lift:
    """Relative lift (T - C) / C with its interval from the delta method on log(T / C)."""

    lift: Floats
    se_log: Floats
    low: Floats
    high: Floats


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ExperimentError(f"alpha must lie in (0, 1), got {alpha}")
    return float(sps.norm.ppf(1 - alpha / 2))


def two_proportion_z(x_c: FloatLike, n_c: FloatLike, x_t: FloatLike, n_t: FloatLike, alpha: float = 0.05) -> Difference:
    """Difference of two conversion rates: the test on the pooled SE (as statsmodels' proportions_ztest), the
    interval on the unpooled (Wald) SE, so the interval need not assume the null."""
    x_c, n_c, x_t, n_t = (np.asarray(v, dtype=float) for v in (x_c, n_c, x_t, n_t))
    p_c, p_t = x_c / n_c, x_t / n_t
    pooled = (x_c + x_t) / (n_c + n_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
        z = np.where(se0 > 0, (p_t - p_c) / se0, 0.0)
    se = np.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    half = _z(alpha) * se
    diff = p_t - p_c
    return Difference(diff, se, diff - half, diff + half, z, 2 * sps.norm.sf(np.abs(z)))


def welch_t(control: Sample, treatment: Sample, alpha: float = 0.05) -> Difference:
    """Difference of two means with unequal variances (revenue per lead): Welch's t and Satterthwaite's df,
    as scipy.stats.ttest_ind(equal_var=False); the variances are sample variances (ddof=1)."""
    mean_c, var_c, n_c, mean_t, var_t, n_t = _arms(control, treatment)
    a, b = var_c / n_c, var_t / n_t
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (a + b) ** 2 / (a**2 / (n_c - 1) + b**2 / (n_t - 1))
        t = np.where(se > 0, (mean_t - mean_c) / se, 0.0)
    df = np.where(np.isfinite(df), df, 1.0)
    diff = mean_t - mean_c
    half = sps.t.ppf(1 - alpha / 2, df) * se
    return Difference(diff, se, diff - half, diff + half, t, 2 * sps.t.sf(np.abs(t), df))


def relative_lift(control: Sample, treatment: Sample, alpha: float = 0.05) -> Lift:
    """Lift (T - C) / C with a delta-method interval on log(T / C): se^2 = var_t/(n_t T^2) + var_c/(n_c C^2),
    exponentiated back (for proportions this is statsmodels' ratio interval, method 'log'); never below -100 %."""
    mean_c, var_c, n_c, mean_t, var_t, n_t = _arms(control, treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean_t / mean_c
        se = np.sqrt(var_t / (n_t * mean_t**2) + var_c / (n_c * mean_c**2))
        log_ratio = np.log(ratio)
    half = _z(alpha) * se
    return Lift(ratio - 1, se, np.exp(log_ratio - half) - 1, np.exp(log_ratio + half) - 1)


def srm_p_value(observed: list[int] | np.ndarray, expected_shares: list[float] | np.ndarray) -> float:
    """Sample-ratio mismatch: Pearson's chi-square of the units per arm against the configured allocation
    (scipy.stats.chisquare); p < 0.001 means the assignment is broken and the readout is blocked."""
    counts = np.asarray(observed, dtype=float)
    shares = np.asarray(expected_shares, dtype=float)
    if counts.shape != shares.shape or counts.size < 2:
        raise ExperimentError(f"SRM check needs one count and one share per arm, got {counts.size} and {shares.size}")
    total = counts.sum()
    if total <= 0:
        return 1.0
    expected = shares / shares.sum() * total
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    return float(sps.chi2.sf(chi2, counts.size - 1))


@dataclass(frozen=True)
class Cuped:
    """The CUPED-adjusted outcome and what predicts its variance: theta, the correlation and sqrt(1 - rho^2)."""

    adjusted: np.ndarray
    theta: float
    rho: float
    predicted_sd_ratio: float


def cuped(y: np.ndarray, x: np.ndarray) -> Cuped:
    """y - theta (x - mean x), theta = cov(x, y) / var(x) pooled over the arms (x is measured before assignment,
    so the adjustment cannot move the difference's expectation); its variance is var(y) (1 - rho^2)."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if y.shape != x.shape or y.size < 3:
        raise ExperimentError(f"CUPED needs one pre-assignment value per unit (got {x.size} for {y.size} units)")
    vx = float(np.var(x, ddof=1))
    vy = float(np.var(y, ddof=1))
    if vx <= 0 or vy <= 0:
        return Cuped(y.copy(), 0.0, 0.0, 1.0)
    cov = float(np.cov(x, y, ddof=1)[0, 1])
    theta = cov / vx
    rho = cov / np.sqrt(vx * vy)
    return Cuped(y - theta * (x - x.mean()), theta, float(rho), float(np.sqrt(max(0.0, 1 - rho**2))))


@dataclass(frozen=True)
class Sequential:
    """The mixture SPRT on a difference: likelihood ratio, always-valid p-value, confidence sequence."""

    likelihood_ratio: Floats
    p_value: Floats
    low: Floats
    high: Floats


def msprt(diff: FloatLike, se: FloatLike, tau: FloatLike, alpha: float = 0.05) -> Sequential:
    """Normal-mixture SPRT (Johari et al. 2017) of H0: effect = 0 for an estimate `diff` with standard error `se`
    and prior N(0, tau^2) on the effect: Lambda = sqrt(s2/(s2+t2)) exp(diff^2 t2 / (2 s2 (s2+t2))).
    p = min(1, 1/Lambda) at this look (take the running minimum over looks for the always-valid p-value);
    the confidence sequence is every effect this test would not reject at level alpha."""
    diff, se, tau = (np.asarray(v, dtype=float) for v in (diff, se, tau))
    s2, t2 = se**2, tau**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lr = 0.5 * np.log(s2 / (s2 + t2)) + diff**2 * t2 / (2 * s2 * (s2 + t2))
        half = np.sqrt(s2 * (s2 + t2) / t2 * (2 * np.log(1 / alpha) + np.log((s2 + t2) / s2)))
    lr = np.exp(np.minimum(log_lr, 700.0))
    return Sequential(lr, np.minimum(1.0, 1 / lr), diff - half, diff + half)


def always_valid_p(p_values_by_look: np.ndarray) -> np.ndarray:
    """The always-valid p-value after each look: the running minimum of the per-look mSPRT p-values (last axis)."""
    return np.minimum.accumulate(np.asarray(p_values_by_look, dtype=float), axis=-1)


def _check_plan(baseline_rate: float, mde: float, alpha: float, power: float) -> None:
    if not 0 < baseline_rate < 1:
        raise ExperimentError(f"--baseline-rate must lie in (0, 1), got {baseline_rate}")
    if mde <= 0 or baseline_rate * (1 + mde) >= 1:
        raise ExperimentError(
            f"--mde must be > 0 with baseline-rate x (1 + mde) < 1, got mde {mde} on baseline {baseline_rate}"
        )
    if not 0 < alpha < 0.5:
        raise ExperimentError(f"--alpha must lie in (0, 0.5), got {alpha}")
    if not 0.5 <= power < 1:
        raise ExperimentError(f"--power must lie in [0.5, 1), got {power}")


def sample_size_proportions(baseline_rate: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm for the two-sided pooled two-proportion z test to detect a relative lift `mde` (0.1 = +10 %):
    n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2, rounded up."""
    _check_plan(baseline_rate, mde, alpha, power)
    p1, p2 = baseline_rate, baseline_rate * (1 + mde)
    pbar = (p1 + p2) / 2
    z_a, z_b = _z(alpha), float(sps.norm.ppf(power))
    n = (z_a * np.sqrt(2 * pbar * (1 - pbar)) + z_b * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    return int(np.ceil(n))


def power_proportions(baseline_rate: float, mde: float, n_per_arm: FloatLike, alpha: float = 0.05) -> Floats:
    """Power of that test with `n_per_arm` units per arm (both tails counted), the inverse of the sample size."""
    p1, p2 = baseline_rate, baseline_rate * (1 + mde)
    n = np.asarray(n_per_arm, dtype=float)
    pbar = (p1 + p2) / 2
    se0 = np.sqrt(2 * pbar * (1 - pbar) / n)
    se1 = np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    crit = _z(alpha) * se0
    delta = p2 - p1
    return sps.norm.sf((crit - delta) / se1) + sps.norm.cdf((-crit - delta) / se1)


def sample_size_means(sd: float, mde_absolute: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm for a two-sided z test of a difference in means (revenue per lead) with common `sd`."""
    if sd <= 0 or mde_absolute <= 0:
        raise ExperimentError(f"sd and the minimum detectable effect must be > 0, got {sd} and {mde_absolute}")
    return int(np.ceil(2 * ((_z(alpha) + float(sps.norm.ppf(power))) * sd / mde_absolute) ** 2))
