"""Performance by weekly cohort: realised once labels mature, estimated from calibrated probabilities before."""

from __future__ import annotations

from datetime import datetime
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from leadops.config import load
from leadops.monitoring.performance import cohorts, expected_auc
from leadops.warehouse.connection import open_warehouse


def _brute(p: np.ndarray, s: np.ndarray) -> float:
    num = den = 0.0
    for i, j in product(range(len(p)), repeat=2):
        if i == j:
            continue
        w = p[i] * (1 - p[j])
        den += w
        num += w * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
    return num / den


def test_expected_auc_is_the_closed_form_pair_sum_with_ties() -> None:
    rng = np.random.default_rng(2)
    for _ in range(5):
        p = rng.uniform(0.01, 0.9, 40)
        s = np.round(rng.uniform(0, 10, 40))  # ties on purpose
        assert expected_auc(p, s) == pytest.approx(_brute(p, s), rel=1e-12)


def test_with_certain_outcomes_the_expected_auc_is_the_auc() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = rng.normal(y, 1.0)
    assert expected_auc(y.astype(float), s) == pytest.approx(roc_auc_score(y, s), rel=1e-12)


def test_for_a_calibrated_model_the_estimate_tracks_the_realised_auc() -> None:
    rng = np.random.default_rng(4)
    p = 1 / (1 + np.exp(-rng.normal(-2, 1.2, 5000)))
    realised = [roc_auc_score(rng.random(p.size) < p, p) for _ in range(40)]
    assert expected_auc(p, p) == pytest.approx(float(np.mean(realised)), abs=0.005)


def test_cohorts_of_the_monitored_company_have_estimates_and_mature_realised_figures(monitored: Path) -> None:
    settings = load(monitored)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        version = int(wh.rows("SELECT max(model_version) FROM score_runs WHERE status = 'published'")[0][0])
        early = cohorts(settings, wh, version, datetime(2025, 9, 10))
        late = cohorts(settings, wh, version, datetime(2026, 9, 1))
    assert early and all(not c.mature and c.realised is None for c in early)
    assert [c.week for c in early] == sorted(c.week for c in early)
    assert late and all(c.mature for c in late)
    big = [c for c in late if c.realised is not None and c.realised["positives"] >= 2]
    assert big, [(c.week, c.leads, c.mature, c.realised and c.realised["positives"]) for c in late]
    for c in big:
        assert c.expected_conversion_rate is not None and c.expected_auc is not None
        assert 0.0 <= c.realised["conversion_rate"] <= 1.0 and c.realised["auc"] is not None
        low, high = c.realised["auc_ci"]
        assert low <= c.realised["auc"] <= high
    assert sum(c.leads for c in late) > 50  # two runs a week apart: two weeks of leads at the trained age (94)
    # each lead counts at its first score once 14 days old (the training snapshot); one scored more than a week
    # past that age (created well before the first run, 2025-09-01) was first seen at an arbitrary age: left out
    assert min(c.week for c in late) >= datetime(2025, 8, 11)


def test_a_falling_cohort_auc_is_concept_drift_when_the_inputs_held() -> None:
    from leadops.monitoring.monitor import performance_alerts
    from leadops.monitoring.performance import Cohort
    from leadops.settings.monitoring import MonitoringSettings

    def week(day: int, auc: float | None, mature: bool = True) -> Cohort:
        realised = None if auc is None else {"auc": auc}
        return Cohort(datetime(2025, 3, day), 400, mature, 0.05, 0.8, realised)

    steady = [week(3, 0.80), week(10, 0.79), week(17, 0.81), week(24, 0.78)]
    assert performance_alerts("r", steady, False, MonitoringSettings()) == []
    fallen = [*steady[:3], week(24, 0.70), week(31, None, mature=False)]
    (alert,) = performance_alerts("r", fallen, False, MonitoringSettings())
    assert alert.kind == "concept_drift" and alert.value == 0.70 and alert.threshold == pytest.approx(0.80 - 0.05)
    (moved,) = performance_alerts("r", fallen, True, MonitoringSettings())
    assert moved.kind == "performance_drop"
    assert performance_alerts("r", fallen, False, MonitoringSettings(auc_drop=0.2)) == []
    assert performance_alerts("r", fallen[:2], False, MonitoringSettings()) == []  # too few mature cohorts


def test_expected_conversions_are_the_sum_of_probabilities_and_the_interval_covers_95_percent() -> None:
    from leadops.monitoring.performance import expected_conversions

    rng = np.random.default_rng(5)
    p = rng.beta(0.6, 8.0, 3000)
    mean, low, high = expected_conversions(p)
    assert mean == pytest.approx(float(p.sum()), rel=1e-12)
    assert high - mean == pytest.approx(mean - low) == pytest.approx(1.959963984540054 * np.sqrt(np.sum(p * (1 - p))))
    counts = (rng.random((4000, p.size)) < p).sum(axis=1)  # the Poisson-binomial count, drawn
    inside = float(np.mean((counts >= low) & (counts <= high)))
    assert 0.935 <= inside <= 0.965, inside
    assert expected_conversions(np.array([0.0, 0.0])) == (0.0, 0.0, 0.0)


def test_label_draws_give_sklearns_auc_spread_and_the_ece_a_calibrated_model_stays_under() -> None:
    from leadops.evaluation.metrics import ece
    from leadops.monitoring.performance import label_draws

    rng = np.random.default_rng(6)
    p = rng.uniform(0.02, 0.4, 400)
    s = np.round(p * 20 + rng.normal(0, 1, p.size))  # ties on purpose
    got = label_draws(p, s, draws=50, seed=11)
    draws = np.random.default_rng(11).random((50, p.size)) < p
    auc_ref = np.quantile([roc_auc_score(y, s) for y in draws], [0.025, 0.975])
    ece_ref = np.quantile([ece(y.astype(int), p) for y in draws], 0.95)
    assert (got.auc_low, got.auc_high) == pytest.approx(tuple(auc_ref), abs=1e-12)
    assert got.ece_high == pytest.approx(ece_ref, abs=1e-12)
    assert got.auc_low < expected_auc(p, s) < got.auc_high  # type: ignore[operator]
    assert label_draws(np.array([0.5]), np.array([1.0])).auc_low is None


def test_a_mature_cohort_held_when_its_realised_figures_sit_inside_the_estimates_intervals() -> None:
    from leadops.monitoring.performance import Cohort

    def cohort(rate: float, auc: float, mature: bool = True) -> Cohort:
        realised = {"conversion_rate": rate, "auc": auc} if mature else None
        return Cohort(datetime(2025, 3, 3), 500, mature, 0.06, 0.75, realised, {}, (0.04, 0.08), (0.70, 0.80), 0.02)

    assert cohort(0.05, 0.74).held is True
    assert cohort(0.05, 0.62).held is False  # ranked worse than the probabilities promised: the concept moved
    assert cohort(0.10, 0.74).held is False
    assert cohort(0.05, 0.74, mature=False).held is None


def test_with_ties_in_the_probabilities_broken_by_a_finer_score_the_estimate_is_the_mean_realised_auc() -> None:
    rng = np.random.default_rng(12)
    s = rng.normal(0.0, 1.0, 4000)
    p = np.round(1 / (1 + np.exp(-(s * 1.1 - 2.5))), 2)  # few distinct probabilities, as isotonic steps give
    realised = [roc_auc_score(rng.random(p.size) < p, s) for _ in range(60)]
    assert len(np.unique(p)) < 100  # against 4,000 leads
    assert expected_auc(p, s) == pytest.approx(float(np.mean(realised)), abs=0.004)


def test_the_recalibration_slope_and_its_interval_are_statsmodels_logit_on_the_log_odds() -> None:
    import statsmodels.api as sm

    from leadops.monitoring.performance import logit, recalibration

    rng = np.random.default_rng(13)
    p = 1 / (1 + np.exp(-rng.normal(-2.4, 0.7, 3000)))
    y = (rng.random(p.size) < 1 / (1 + np.exp(-(0.3 + 1.5 * logit(p))))).astype(float)
    got = recalibration(p, y)
    ref = sm.Logit(y, sm.add_constant(logit(p))).fit(disp=0)
    assert got is not None and (got.intercept, got.slope) == pytest.approx(tuple(ref.params), rel=1e-6)
    assert got.slope_ci == pytest.approx(tuple(ref.conf_int()[1]), rel=1e-6)
    assert not got.model_calibrated and got.positives == int(y.sum()) and got.leads == p.size
    assert recalibration(p[:200], y[:200]) is None  # fewer than MIN_REFERENCE positives: nothing said


def test_probabilities_too_flat_put_the_estimate_below_the_realised_auc_and_recalibration_restores_it() -> None:
    """A model ranking well whose probabilities are too flat (slope 1.5, ECE small): the estimate from its own
    probabilities misses the realised AUC; recalibrated on matured leads of the same model it tracks it."""
    from leadops.evaluation.metrics import ece
    from leadops.monitoring.performance import label_draws, logit, recalibration

    rng = np.random.default_rng(14)
    truth = 1 / (1 + np.exp(-rng.normal(-3.0, 1.2, 6000)))
    model = 1 / (1 + np.exp(-(logit(truth) / 1.5 - 0.9)))  # the same ranking, too flat
    old, new = slice(0, 3000), slice(3000, 6000)
    y = (rng.random(truth.size) < truth).astype(int)
    realised = roc_auc_score(y[new], model[new])
    assert ece(y[new], model[new]) < 0.02  # what ECE says: fine
    own = label_draws(model[new], model[new])
    assert expected_auc(model[new], model[new]) < own.auc_high < realised  # type: ignore[operator]
    fitted = recalibration(model[old], y[old])
    assert fitted is not None and fitted.slope_ci[0] > 1.2
    fixed = fitted.apply(model[new])
    drawn = label_draws(fixed, model[new])
    assert drawn.auc_low < realised < drawn.auc_high  # type: ignore[operator]
    assert expected_auc(fixed, model[new]) == pytest.approx(expected_auc(truth[new], model[new]), abs=0.01)


def test_cohort_leads_count_at_their_first_score_once_as_old_as_the_training_snapshot(monitored: Path) -> None:
    """The model's probabilities are for leads 14 days old (training.snapshot): a first-night score is flatter."""
    from leadops.monitoring.performance import labelled, trained_age

    settings = load(monitored)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        version = int(wh.rows("SELECT max(model_version) FROM score_runs WHERE status = 'published'")[0][0])
        frame = labelled(settings, wh, version, datetime(2026, 9, 1), datetime(2025, 1, 1))
    age = (frame["first_as_of"] - frame["created_at"]).dt.total_seconds() / 86_400
    assert trained_age(settings) == 14.0 and len(frame) > 50
    assert age.min() >= 14.0 and age.max() <= 21.0, (age.min(), age.max())
