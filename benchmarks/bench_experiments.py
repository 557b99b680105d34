"""The experiment statistics keep their promises, over 2,000 simulated experiments each (vectorised numpy):
A/A false positives (fixed horizon; fixed horizon peeked daily; the always-valid mSPRT peeked daily), power at
the sample size `experiment plan` promises for a +10 % lift, interval coverage, CUPED on the fictional company
against sqrt(1 - rho^2), the sample-ratio check on a broken split; and the time of 2,000 vectorised z tests
beside statsmodels' proportions_ztest called once per test (interleaved, best of N).
"""

from __future__ import annotations

import time
from typing import Any


def _timing(quick: bool) -> dict[str, Any]:
    """Vectorised two-proportion z tests vs a statsmodels call per test, interleaved, best of N."""
    import numpy as np
    from statsmodels.stats.proportion import proportions_ztest

    from leadops.experiments import stats

    tests = 2_000
    rng = np.random.default_rng(0)
    n = 10_000
    x_c, x_t = rng.binomial(n, 0.1, tests), rng.binomial(n, 0.1, tests)
    ours, base = [], []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        fast = stats.two_proportion_z(x_c, n, x_t, n).p_value
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        slow = np.array([proportions_ztest([b, a], [n, n])[1] for a, b in zip(x_c, x_t, strict=True)])
        base.append(time.perf_counter() - t0)
    assert np.allclose(fast, slow, rtol=1e-9)
    best, ref = min(ours), min(base)
    return {
        "name": "2,000 two-proportion z tests: vectorised vs statsmodels per test",
        "ours": round(best * 1000, 3),
        "baseline": round(ref * 1000, 3),
        "ratio": round(best / ref, 4),
        "goal": "<= 0.05x (the simulations below run in seconds)",
        "unit": "ms",
        "note": "same p-values (rtol 1e-9)",
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """Rows {name, ours, baseline, ratio, goal, unit, note}: each Show item of the experiments issue."""
    from leadops.experiments import simulation

    tests = 2_000
    aa = simulation.aa_false_positives(simulation.Design(tests=tests, rate=0.10, seed=1), days=28, units_per_day=200)
    pw = simulation.power_and_coverage(simulation.Design(tests=tests, rate=0.10, mde=0.10, seed=2), power=0.8)
    srm = simulation.srm_detection(tests=tests, units=10_000, broken_share=0.53)
    cup = simulation.company_cuped(leads=5_000 if quick else 20_000, seed=7, pre_days=7.0)
    aa_note = f"{tests} A/A tests, 28 daily looks, 200 units/day, 10 % base rate"
    return [
        {
            "name": "A/A false-positive rate, fixed horizon",
            "ours": aa.fixed_horizon,
            "baseline": 0.05,
            "ratio": round(aa.fixed_horizon / 0.05, 3),
            "goal": "in [4 %, 6 %]",
            "unit": "share",
            "note": aa_note,
        },
        {
            "name": "A/A false-positive rate, fixed-horizon z test peeked daily",
            "ours": aa.fixed_peeked_daily,
            "baseline": 0.05,
            "ratio": round(aa.fixed_peeked_daily / 0.05, 3),
            "goal": "> 5 % (why daily peeking needs a sequential test)",
            "unit": "share",
            "note": aa_note + "; stop at the first p < 0.05",
        },
        {
            "name": "A/A false-positive rate, always-valid mSPRT peeked daily",
            "ours": aa.sequential_peeked_daily,
            "baseline": aa.fixed_peeked_daily,
            "ratio": round(aa.sequential_peeked_daily / aa.fixed_peeked_daily, 3) if aa.fixed_peeked_daily else None,
            "goal": "<= 5 %",
            "unit": "share",
            "note": aa_note + "; baseline: the fixed-horizon test peeked the same way",
        },
        {
            "name": "power for a true +10 % lift at plan's n per arm",
            "ours": pw.observed_power,
            "baseline": round(pw.promised_power, 4),
            "ratio": round(pw.observed_power / pw.promised_power, 3),
            "goal": "within 3 points of the promised power",
            "unit": "share",
            "note": f"{tests} tests, n per arm {pw.n_per_arm:,} (plan --baseline-rate 0.1 --mde 0.1)",
        },
        {
            "name": "95 % interval coverage of the true effect (difference; lift)",
            "ours": pw.diff_coverage,
            "baseline": 0.95,
            "ratio": round(pw.diff_coverage / 0.95, 3),
            "goal": "nominal (0.95 +- 0.015)",
            "unit": "share",
            "note": f"lift interval (delta method on log ratio) covers {pw.lift_coverage:.4f}",
        },
        {
            "name": "CUPED interval ratio on the fictional company",
            "ours": round(cup.observed_ratio, 4),
            "baseline": round(cup.predicted_ratio, 4),
            "ratio": round(cup.observed_ratio / cup.predicted_ratio, 4),
            "goal": "observed = sqrt(1 - rho^2) (+- 0.01)",
            "unit": "width ratio",
            "note": f"{cup.units:,} leads, rho {cup.rho:.3f}: activities in the first 7 days vs conversion",
        },
        {
            "name": "SRM check flags a 53/47 split (p < 0.001)",
            "ours": srm.broken_flagged,
            "baseline": srm.fair_flagged,
            "ratio": None,
            "goal": ">= 99 % of broken splits, <= 0.5 % of fair ones",
            "unit": "share",
            "note": f"{tests} tests of {srm.units:,} units; baseline: a fair 50/50 split",
        },
        _timing(quick),
    ]
