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
