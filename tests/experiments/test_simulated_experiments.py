"""The Show items: 2,000 simulated experiments each (vectorised), the readout's statistics keep their promises."""

from __future__ import annotations

from leadops.experiments import simulation


def test_aa_fixed_horizon_fpr_is_nominal_peeking_inflates_it_and_the_sequential_test_does_not() -> None:
    aa = simulation.aa_false_positives(simulation.Design(tests=2_000, rate=0.10, seed=1), days=28, units_per_day=200)
    assert 0.04 <= aa.fixed_horizon <= 0.06
    assert aa.fixed_peeked_daily > 0.05 * 2  # an analyst stopping at the first significant day: far above alpha
    assert aa.sequential_peeked_daily <= 0.05


def test_a_true_ten_percent_lift_is_detected_with_the_planned_power_and_intervals_cover_it() -> None:
    res = simulation.power_and_coverage(simulation.Design(tests=2_000, rate=0.10, mde=0.10, seed=2), power=0.8)
    assert abs(res.promised_power - 0.8) < 0.002
    assert abs(res.observed_power - res.promised_power) <= 0.03
    assert 0.935 <= res.diff_coverage <= 0.965
    assert 0.935 <= res.lift_coverage <= 0.965


def test_an_over_allocated_arm_is_caught_by_the_sample_ratio_check() -> None:
    res = simulation.srm_detection(tests=2_000, units=10_000, broken_share=0.53)
    assert res.fair_flagged <= 0.005
    assert res.broken_flagged >= 0.99


def test_cuped_on_the_fictional_company_shrinks_the_interval_as_its_correlation_predicts() -> None:
    res = simulation.company_cuped(leads=4_000, seed=7, pre_days=7.0)
    assert res.rho > 0.1
    assert res.cuped_width < res.raw_width
    assert abs(res.observed_ratio - res.predicted_ratio) <= 0.01
