"""Many simulated experiments at once (numpy, vectorised): the evidence that the readout's statistics keep their
promises: A/A false-positive rates with and without daily peeking, power and interval coverage under a true
lift, sample-ratio mismatch detection. Tests and benchmarks/bench_experiments.py both call these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadops.experiments import stats


@dataclass(frozen=True)
class DailyCounts:
    """Cumulative units and conversions per arm after each day: arrays of shape (tests, days)."""

    n_c: np.ndarray
    x_c: np.ndarray
    n_t: np.ndarray
    x_t: np.ndarray


def daily_counts(
    tests: int,
    days: int,
    units_per_day: int,
    rate: float,
    lift: float = 0.0,
    treatment_share: float = 0.5,
    seed: int = 0,
) -> DailyCounts:
    """Each test's units arrive daily and split by a fair coin (Binomial allocation, as hashing does); each unit
    converts with `rate` in control and `rate (1 + lift)` in treatment."""
    rng = np.random.default_rng(seed)
    n_t_day = rng.binomial(units_per_day, treatment_share, size=(tests, days))
    n_c_day = units_per_day - n_t_day
    x_c_day = rng.binomial(n_c_day, rate)
    x_t_day = rng.binomial(n_t_day, rate * (1 + lift))
    cum = np.cumsum
    return DailyCounts(cum(n_c_day, axis=1), cum(x_c_day, axis=1), cum(n_t_day, axis=1), cum(x_t_day, axis=1))


def default_tau(rate: float, mde: float) -> float:
    """The mSPRT's mixing scale on the difference of rates: the planned absolute effect (rate x mde)."""
    return rate * mde


@dataclass(frozen=True)
class Design:
    """What a batch of simulated tests shares: how many, the control's rate, the relative effect planned for
    (mde), alpha and the random seed."""

    tests: int = 2_000
    rate: float = 0.10
    mde: float = 0.10
    alpha: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class AaResult:
    """False-positive rates of 2,000-odd A/A tests: fixed horizon once, fixed horizon peeked daily, sequential."""

    tests: int
    days: int
    fixed_horizon: float
    fixed_peeked_daily: float
    sequential_peeked_daily: float


def aa_false_positives(design: Design = Design(seed=1), days: int = 28, units_per_day: int = 200) -> AaResult:
    """Run A/A tests and count rejections: the z test on the final day, the z test at any daily look (stopping at
    the first 'significant' day, as a peeking analyst does) and the always-valid mSPRT at any daily look (its
    mixing scale from the design's mde)."""
    tests, rate, mde, alpha, seed = design.tests, design.rate, design.mde, design.alpha, design.seed
    c = daily_counts(tests, days, units_per_day, rate, seed=seed)
    z = stats.two_proportion_z(c.x_c, c.n_c, c.x_t, c.n_t, alpha)
    final = z.p_value[:, -1] < alpha
    peeked = (z.p_value < alpha).any(axis=1)
    seq = stats.msprt(z.diff, z.se, default_tau(rate, mde), alpha)
    always = stats.always_valid_p(seq.p_value)[:, -1] < alpha
    return AaResult(tests, days, float(final.mean()), float(peeked.mean()), float(always.mean()))


@dataclass(frozen=True)
class PowerResult:
    """A true lift tested at the planned sample size: the promised and the observed power, interval coverage."""

    tests: int
    n_per_arm: int
    promised_power: float
    observed_power: float
    diff_coverage: float
    lift_coverage: float


def power_and_coverage(design: Design = Design(seed=2), power: float = 0.80) -> PowerResult:
    """Plan n per arm for (rate, mde), run tests with exactly that many units per arm and a true lift of mde;
    count rejections and how often the difference and lift intervals cover the true effect."""
    tests, rate, mde, alpha, seed = design.tests, design.rate, design.mde, design.alpha, design.seed
    n = stats.sample_size_proportions(rate, mde, alpha, power)
    rng = np.random.default_rng(seed)
    p_t = rate * (1 + mde)
    x_c = rng.binomial(n, rate, size=tests)
    x_t = rng.binomial(n, p_t, size=tests)
    z = stats.two_proportion_z(x_c, n, x_t, n, alpha)
    pc, pt = x_c / n, x_t / n
    lift = stats.relative_lift(
        stats.Summary(pc, pc * (1 - pc) * n / (n - 1), n), stats.Summary(pt, pt * (1 - pt) * n / (n - 1), n), alpha
    )
    true_diff = p_t - rate
    return PowerResult(
        tests=tests,
        n_per_arm=n,
        promised_power=float(stats.power_proportions(rate, mde, n, alpha)),
        observed_power=float((z.p_value < alpha).mean()),
        diff_coverage=float(((z.low <= true_diff) & (true_diff <= z.high)).mean()),
        lift_coverage=float(((lift.low <= mde) & (mde <= lift.high)).mean()),
    )


@dataclass(frozen=True)
class SrmResult:
    """How often the sample-ratio check flags a fair split and a broken one (p < 0.001)."""

    tests: int
    units: int
    fair_flagged: float
    broken_flagged: float
    broken_share: float


def srm_detection(tests: int = 2_000, units: int = 10_000, broken_share: float = 0.53, seed: int = 3) -> SrmResult:
    """A fair 50/50 split and a broken one (one arm over-allocated to `broken_share`), each checked by SRM."""
    rng = np.random.default_rng(seed)
    fair = rng.binomial(units, 0.5, size=tests)
    broken = rng.binomial(units, broken_share, size=tests)

    def flagged(treated: np.ndarray) -> float:
        p = [stats.srm_p_value([units - t, t], [0.5, 0.5]) for t in treated]
        return float((np.array(p) < 0.001).mean())

    return SrmResult(tests, units, flagged(fair), flagged(broken), broken_share)


@dataclass(frozen=True)
class CupedResult:
    """CUPED on the fictional company: the correlation, the predicted and the observed interval ratio."""

    units: int
    rho: float
    predicted_ratio: float
    observed_ratio: float
    raw_width: float
    cuped_width: float


def company_cuped(leads: int = 20_000, seed: int = 7, pre_days: float = 3.0) -> CupedResult:
    """An A/A test on the simulated company: leads split by the salted hash, KPI = the world's conversion (no
    Sales contact), covariate = the lead's activities in its first `pre_days` (before assignment). The CUPED
    interval of the difference should be sqrt(1 - rho^2) times the raw one."""
    from datetime import date

    from leadops.experiments.assignment import buckets
    from leadops.simulate.activities import draw_activities
    from leadops.simulate.funnel import run_funnel
    from leadops.simulate.people import draw_leads
    from leadops.simulate.world import STREAM_FUNNEL, SimulationConfig, lead_days, make_accounts, rng_for

    cfg = SimulationConfig(
        scenario="baseline", leads=leads, days=365, seed=seed, start=date(2025, 1, 1), fault_rate=0.0, drift_day=None
    )
    accounts = make_accounts(cfg)
    days = lead_days(cfg)
    ys: list[np.ndarray] = []
    xs: list[np.ndarray] = []
    ids: list[str] = []
    for chunk in range(cfg.n_chunks):
        block = draw_leads(cfg, accounts, days, chunk)
        acts = draw_activities(cfg, block, chunk)
        early = (acts.t - block.created[acts.lead]) < pre_days * 86_400
        xs.append(np.bincount(acts.lead[early], minlength=len(block)).astype(float))
        no_contact = np.full(len(block), -1, dtype=np.int64)
        fun = run_funnel(cfg, block, accounts, no_contact, rng_for(cfg.seed, STREAM_FUNNEL, chunk))
        ys.append(fun.will_convert.astype(float))
        ids.extend(f"L{int(i):07d}" for i in block.index)
    y, x = np.concatenate(ys), np.concatenate(xs)
    arm = buckets("company-aa", ids) % 2 == 1
    adjusted = stats.cuped(y, x)

    def width(values: np.ndarray) -> float:
        c, t = values[~arm], values[arm]
        d = stats.welch_t(stats.Summary.of(c), stats.Summary.of(t))
        return float(d.high - d.low)

    raw, cup = width(y), width(adjusted.adjusted)
    return CupedResult(int(y.size), adjusted.rho, adjusted.predicted_sd_ratio, cup / raw, raw, cup)
