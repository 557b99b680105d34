"""The new-lead population: significance-guarded drift of small samples, lead volume and mix per source."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leadops.monitoring.drift import DRIFT_STATS
from leadops.monitoring.monitor import new_lead_reference
from leadops.monitoring.report import feature_drift
from leadops.monitoring.volume import ALL, rate_p_value, source_mix, volume_changes
from leadops.warehouse import Warehouse


def _binomial_two_sided(k: int, n: int, p: float) -> float:
    """Closed form: the probability of every outcome no more likely than the observed one."""
    pmf = np.array([stats.binom.pmf(i, n, p) for i in range(n + 1)])
    return float(min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()))


def test_the_rate_test_is_the_exact_conditional_binomial_of_two_poisson_counts() -> None:
    for cur, ref, days in ((30, 10, (7, 7)), (12, 15, (7, 14)), (0, 9, (3, 7)), (40, 0, (7, 7))):
        want = _binomial_two_sided(cur, cur + ref, days[0] / sum(days))
        assert rate_p_value(cur, ref, *days) == pytest.approx(want, rel=1e-9)
    assert rate_p_value(0, 0, 7, 7) == 1.0


def test_a_new_source_and_a_doubled_one_are_flagged_a_noisy_one_is_not() -> None:
    current = {"Paid Social": 80, "Webinar": 200, "Referral": 52, "Trade Show": 3}
    reference = {"Webinar": 100, "Referral": 50, "Trade Show": 6}
    rows = {v.source: v for v in volume_changes(current, reference, 7, 7, threshold=0.5, alpha=0.001)}
    assert next(iter(rows)) == ALL and rows[ALL].leads == 335 and rows[ALL].reference_leads == 156
    assert rows["Paid Social"].change is None and rows["Paid Social"].flagged
    assert rows["Webinar"].change == pytest.approx(1.0) and rows["Webinar"].flagged
    assert rows["Referral"].change == pytest.approx(0.04) and not rows["Referral"].flagged  # too small a change
    assert rows["Trade Show"].change == pytest.approx(-0.5) and not rows["Trade Show"].flagged  # too few to tell
    assert rows["Webinar"].share == pytest.approx(200 / 335)
    assert rows["Webinar"].reference_share == pytest.approx(100 / 156)
    assert rows["Webinar"].per_day == pytest.approx(200 / 7)


def test_the_source_mix_is_the_chi_square_of_the_counts() -> None:
    current, reference = {"a": 50, "b": 30, "c": 20}, {"a": 40, "b": 40, "d": 5}
    got = source_mix(current, reference)
    table = np.array([[40, 40, 0, 5], [50, 30, 20, 0]], dtype=float)
    want = stats.chi2_contingency(table, correction=False)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-12)
    assert got.value == pytest.approx(np.sqrt(want.statistic / table.sum()), rel=1e-12)


def test_the_missing_rate_jump_reports_scipys_two_proportion_chi_square() -> None:
    ref = np.array([np.nan] * 10 + [1.0] * 90)
    cur = np.array([np.nan] * 30 + [1.0] * 70)
    got = DRIFT_STATS["missing_rate_jump"].compute(ref, cur, "numeric")
    want = stats.chi2_contingency(np.array([[10, 90], [30, 70]]), correction=False)
    assert got.value == pytest.approx(0.2) and got.p_value == pytest.approx(want.pvalue, rel=1e-12)


def test_with_alpha_small_samples_of_one_distribution_do_not_drift_but_a_real_shift_does() -> None:
    rng = np.random.default_rng(3)
    cats = list("abcdefghijkl")
    noisy = 0
    for _ in range(40):
        ref = pd.Series(rng.choice(cats, 150), dtype=object)
        cur = pd.Series(rng.choice(cats, 150), dtype=object)
        loose = feature_drift("industry", ref, cur, "categorical")
        guarded = feature_drift("industry", ref, cur, "categorical", alpha=0.001)
        noisy += loose.drifted
        assert not guarded.drifted  # same distribution: never significant at 0.001 here
        assert {k: s.value for k, s in loose.stats.items()} == {k: s.value for k, s in guarded.stats.items()}
    assert noisy > 20  # without the guard, 150 leads of 12 categories cross Cramer's V 0.1 by noise alone
    ref = pd.Series(rng.choice(cats, 300), dtype=object)
    cur = pd.Series(rng.choice(cats[:6], 300), dtype=object)
    shifted = feature_drift("industry", ref, cur, "categorical", alpha=0.001)
    assert shifted.drifted and {"chi_square", "psi"} <= set(shifted.drifted_by)


class _Runs:
    """A warehouse answering new_lead_reference's two queries: published runs of one version, the first lead."""

    def __init__(self, runs: list[tuple[str, datetime]], first_lead: datetime) -> None:
        self.runs, self.first_lead = runs, first_lead

    def rows(self, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
        if "min(created_at)" in sql:
            return [(self.first_lead,)]
        return [(r, a) for r, a in self.runs if params is None or a <= params[1]]  # type: ignore[operator]


def test_the_new_lead_reference_is_a_same_weekday_run_whose_window_lies_within_the_history() -> None:
    start = datetime(2025, 1, 1)
    runs = [(f"r{d}", start + timedelta(days=d)) for d in (5, 12, 19, 26, 30, 33)]
    tonight = start + timedelta(days=33)
    wh = cast(Warehouse, _Runs(runs, first_lead=start))  # only rows() is asked for
    week = timedelta(days=7)
    assert new_lead_reference(wh, "first_run", "r33", tonight, 1, week) == ("r12", start + timedelta(days=12))
    assert new_lead_reference(wh, "previous_run", "r33", tonight, 1, week) == ("r26", start + timedelta(days=26))
    # a window of 14 days back from day 12 would start before the first lead: day 19 is the first whole one
    assert new_lead_reference(wh, "first_run", "r33", tonight, 1, 2 * week) == ("r19", start + timedelta(days=19))
    assert new_lead_reference(wh, "first_run", "r33", tonight, 1, timedelta(days=40)) is None
