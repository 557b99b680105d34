"""The MQL threshold chosen from data: the score where the expected MQLs match Sales' capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadops.evaluation.errors import EvaluationError
from leadops.evaluation.thresholds import capacity_k, capacity_threshold, choose_threshold
from leadops.settings.business import BusinessSettings


def test_capacity_threshold_is_the_score_of_the_kth_best_lead() -> None:
    scores = np.array([5.0, 90.0, 40.0, 70.0, np.nan, 10.0])
    assert capacity_threshold(scores, 1) == 90.0
    assert capacity_threshold(scores, 3) == 40.0
    assert capacity_threshold(scores, 99) == 5.0  # more capacity than leads: everyone
    rng = np.random.default_rng(1)
    many = rng.uniform(0, 100, 10_000)
    t = capacity_threshold(many, 1_000)
    assert int((many >= t).sum()) == 1_000
    assert t == pytest.approx(np.quantile(many, 0.9), abs=0.5)  # closed form: the 90th percentile
    with pytest.raises(EvaluationError, match="at least one finite score"):
        capacity_threshold(np.array([np.nan]), 1)


def test_capacity_k_counts_business_days_or_takes_the_share_without_dates() -> None:
    business = BusinessSettings(capacity={"per_day": 3, "share": 0.25})
    week = pd.Series(pd.date_range("2026-03-02", "2026-03-08", freq="D"))  # Mon..Sun: 5 business days
    times = pd.concat([week] * 10, ignore_index=True)
    assert capacity_k(business, len(times), times) == 15
    assert capacity_k(business, 40, None) == 10
    assert capacity_k(business, 0, None) == 0
    regions = BusinessSettings(capacity={"per_day": 1, "by": "region", "regions": {"NA": 4, "EMEA": 2}})
    assert capacity_k(regions, 1_000, pd.Series([pd.Timestamp("2026-03-02")] * 1_000)) == 6


def test_choose_threshold_on_a_low_base_rate_sample_sends_sales_what_it_can_work() -> None:
    rng = np.random.default_rng(7)
    scores = np.clip(rng.beta(1.2, 9.0, 5_000) * 100, 0, 100)  # a 10 % base-rate model: most scores far below 70
    assert (scores >= 70).mean() < 0.002
    choice = choose_threshold(scores, BusinessSettings(capacity={"share": 0.05}), None, sample="validation")
    assert choice.method == "capacity" and choice.sample == "validation" and choice.capacity_k == 250
    assert choice.mql_threshold < 40 and choice.mql_share == pytest.approx(0.05, abs=0.001)
    declared = choose_threshold(scores, BusinessSettings(mql_threshold=70), None, sample="validation")
    assert declared.mql_threshold == 70 and declared.method == "business.mql_threshold"


def test_when_sales_could_take_every_lead_the_threshold_stops_at_the_expected_value_break_even() -> None:
    probability = np.array([0.30, 0.12, 0.05, 0.02, 0.004, 0.001])
    scores = probability * 100
    business = BusinessSettings(capacity={"share": 1.0}, value_per_conversion=1_000, cost_per_contact=30)
    choice = choose_threshold(scores, business, None, sample="validation", probabilities=probability)
    # closed form: p x 1000 >= 30 <=> p >= 0.03 -> the lowest such score is 5 (p = 0.05)
    assert choice.method == "break_even" and choice.mql_threshold == pytest.approx(5.0)
    assert choice.capacity_score == pytest.approx(0.1) and choice.break_even_score == pytest.approx(5.0)
    tight = BusinessSettings(capacity={"share": 1 / 6}, value_per_conversion=1_000, cost_per_contact=30)
    capped = choose_threshold(scores, tight, None, sample="validation", probabilities=probability)
    assert capped.method == "capacity" and capped.mql_threshold == pytest.approx(30.0)
    no_p = choose_threshold(scores, business, None, sample="validation", probabilities=np.full(6, np.nan))
    assert no_p.method == "capacity" and no_p.break_even_score is None
