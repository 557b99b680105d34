"""Each readout statistic against its reference: statsmodels, SciPy, or the closed form computed another way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize, proportions_ztest

from leadops.experiments import stats
from leadops.experiments.errors import ExperimentError


def test_two_proportion_z_matches_statsmodels_test_and_wald_interval() -> None:
    x_c, n_c, x_t, n_t = 480, 5_000, 560, 5_100
    got = stats.two_proportion_z(x_c, n_c, x_t, n_t, alpha=0.05)
    z, p = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert got.stat == pytest.approx(z, rel=1e-10)
    assert got.p_value == pytest.approx(p, rel=1e-10)
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=0.05)
    assert (got.low, got.high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))


def test_welch_t_matches_scipy_including_its_interval() -> None:
    rng = np.random.default_rng(4)
    c = rng.lognormal(3.0, 1.2, 400) * (rng.random(400) < 0.1)
    t = rng.lognormal(3.1, 1.0, 350) * (rng.random(350) < 0.12)
    got = stats.welch_t(stats.Summary.of(c), stats.Summary.of(t), alpha=0.1)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert got.stat == pytest.approx(ref.statistic, rel=1e-10)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert (got.low, got.high) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))


def test_relative_lift_interval_is_statsmodels_log_ratio_interval_for_proportions() -> None:
    x_c, n_c, x_t, n_t = 300, 3_000, 345, 3_000
    pc, pt = x_c / n_c, x_t / n_t
    # the binomial variance p(1-p) per unit: Katz's log interval uses (1-p)/(n p) = p(1-p) / (n p^2)
    got = stats.relative_lift(stats.Summary(pc, pc * (1 - pc), n_c), stats.Summary(pt, pt * (1 - pt), n_t))
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="log", compare="ratio")
    assert got.lift == pytest.approx(pt / pc - 1)
    assert got.low == pytest.approx(low - 1, rel=1e-9)
    assert got.high == pytest.approx(high - 1, rel=1e-9)


def test_srm_matches_scipy_chisquare() -> None:
    observed, shares = [5_210, 4_790], [0.5, 0.5]
    ref = sps.chisquare(observed, [5_000, 5_000])
    assert stats.srm_p_value(observed, shares) == pytest.approx(ref.pvalue, rel=1e-12)
    three = [2_010, 3_950, 4_040]
    ref3 = sps.chisquare(three, np.array([0.2, 0.4, 0.4]) * sum(three))
    assert stats.srm_p_value(three, [1, 2, 2]) == pytest.approx(ref3.pvalue, rel=1e-12)
    with pytest.raises(ExperimentError, match="one count and one share"):
        stats.srm_p_value([1, 2], [1.0])


def test_cuped_theta_is_the_ols_slope_and_variance_shrinks_by_one_minus_rho_squared() -> None:
    rng = np.random.default_rng(5)
    x = rng.poisson(4.0, 5_000).astype(float)
    y = (rng.random(5_000) < 0.05 + 0.02 * x).astype(float)
    got = stats.cuped(y, x)
    ref = sps.linregress(x, y)
    assert got.theta == pytest.approx(ref.slope, rel=1e-10)
    assert got.rho == pytest.approx(ref.rvalue, rel=1e-10)
    assert np.var(got.adjusted, ddof=1) == pytest.approx(np.var(y, ddof=1) * (1 - ref.rvalue**2), rel=1e-9)
    assert got.adjusted.mean() == pytest.approx(y.mean())


def test_msprt_likelihood_ratio_is_the_normal_mixture_integral_and_its_sequence_inverts_it() -> None:
    diff, se, tau = 0.012, 0.005, 0.01

    def integrand(theta: float) -> float:
        ratio = sps.norm.pdf(diff, theta, se) / sps.norm.pdf(diff, 0.0, se)
        return float(ratio * sps.norm.pdf(theta, 0.0, tau))

    ref, _ = integrate.quad(integrand, -0.2, 0.2, points=[0.0, diff])
    got = stats.msprt(diff, se, tau, alpha=0.05)
    assert got.likelihood_ratio == pytest.approx(ref, rel=1e-7)
    assert got.p_value == pytest.approx(min(1.0, 1 / ref), rel=1e-7)
    # on the sequence's edge the test of "effect = edge" sits exactly at 1/alpha
    edge = stats.msprt(diff - got.low, se, tau, alpha=0.05)
    assert edge.likelihood_ratio == pytest.approx(1 / 0.05, rel=1e-9)
    assert list(stats.always_valid_p(np.array([0.5, 0.2, 0.4, 0.1]))) == [0.5, 0.2, 0.2, 0.1]


def test_sample_size_closed_form_and_power_agree_with_statsmodels() -> None:
    n = stats.sample_size_proportions(0.10, 0.10, alpha=0.05, power=0.8)
    p1, p2 = 0.10, 0.11
    pbar = (p1 + p2) / 2
    closed = (
        1.959963984540054 * np.sqrt(2 * pbar * (1 - pbar)) + 0.8416212335729143 * np.sqrt(p1 * 0.9 + p2 * 0.89)
    ) ** 2
    assert n == int(np.ceil(closed / (p2 - p1) ** 2))
    assert stats.power_proportions(0.10, 0.10, n) == pytest.approx(0.8, abs=0.001)
    # statsmodels' arcsine (Cohen's h) approximation of the same question lands within 1 %
    h = proportion_effectsize(p2, p1)
    ref = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)
    assert n == pytest.approx(ref, rel=0.01)
    means = stats.sample_size_means(sd=2.0, mde_absolute=0.1)
    assert means == pytest.approx(NormalIndPower().solve_power(effect_size=0.05, alpha=0.05, power=0.8), rel=0.001)
    with pytest.raises(ExperimentError, match="--mde"):
        stats.sample_size_proportions(0.6, 1.0)
