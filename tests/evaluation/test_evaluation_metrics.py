"""Statistical metrics against scikit-learn, SciPy and closed forms, including ties and single-class input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve
from sklearn.metrics import log_loss as sk_log_loss

from leadops.evaluation import EvaluationError, UndefinedMetricError, metrics


def _data(n: int = 3000, seed: int = 0, round_to: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0.001, 0.999)
    if round_to is not None:
        s = np.round(s, round_to)
    return y, s


@pytest.mark.parametrize("round_to", [None, 2, 1])
def test_auc_matches_sklearn_with_and_without_ties(round_to: int | None) -> None:
    y, s = _data(round_to=round_to)
    assert metrics.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auc_of_constant_score_is_one_half_and_of_perfect_ranking_is_one() -> None:
    y = np.array([0, 1, 0, 1, 1])
    assert metrics.auc(y, np.ones(5)) == 0.5
    assert metrics.auc(y, y * 2.0) == 1.0
    assert metrics.auc(y, -y * 2.0) == 0.0


def test_auc_accepts_booleans_and_series() -> None:
    import pandas as pd

    y, s = _data(200)
    assert metrics.auc(pd.Series(y.astype(bool)), pd.Series(s)) == pytest.approx(roc_auc_score(y, s))


def test_auc_refuses_single_class_with_a_clear_message() -> None:
    with pytest.raises(UndefinedMetricError, match=r"single class.*0 positives and 4 negatives"):
        metrics.auc([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(UndefinedMetricError):
        metrics.auc_ci([1, 1], [0.1, 0.2])


def test_bad_inputs_name_the_field_and_row() -> None:
    with pytest.raises(EvaluationError, match=r"y: expected binary.*2.*row 1"):
        metrics.auc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(EvaluationError, match=r"score: expected 3 values.*got 2"):
        metrics.auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(EvaluationError, match=r"score: expected finite.*row 2"):
        metrics.auc([0, 1, 1], [0.1, 0.2, float("nan")])
    with pytest.raises(EvaluationError, match=r"proba: expected probabilities in \[0, 1\].*row 0"):
        metrics.brier([0, 1], [1.5, 0.2])


@pytest.mark.parametrize("round_to", [None, 1])
def test_pr_auc_matches_average_precision_score(round_to: int | None) -> None:
    y, s = _data(round_to=round_to, seed=3)
    assert metrics.pr_auc(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_pr_auc_hand_example() -> None:
    # ranked: 1 (p=1/1), 0, 1 (p=2/3): AP = 0.5*1 + 0.5*2/3
    assert metrics.pr_auc([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(0.5 + 1 / 3)
    with pytest.raises(UndefinedMetricError, match="without conversions"):
        metrics.pr_auc([0, 0], [0.2, 0.1])
    assert metrics.pr_auc([1, 1], [0.2, 0.1]) == 1.0


def test_brier_and_log_loss_match_sklearn() -> None:
    y, s = _data(seed=5)
    assert metrics.brier(y, s) == pytest.approx(brier_score_loss(y, s), abs=1e-12)
    assert metrics.log_loss(y, s) == pytest.approx(sk_log_loss(y, s), abs=1e-12)


def test_log_loss_clips_certain_wrong_predictions_to_a_finite_value() -> None:
    value = metrics.log_loss([1, 0], [0.0, 0.0])
    assert value == pytest.approx(-math.log(1e-15) / 2)
    assert metrics.log_loss([1, 0], [1.0, 0.0]) == pytest.approx(-math.log(1 - 1e-15), abs=1e-12)


def test_log_loss_and_brier_are_defined_for_a_single_class() -> None:
    assert metrics.brier([0, 0], [0.1, 0.3]) == pytest.approx((0.01 + 0.09) / 2)
    assert metrics.log_loss([1], [0.5]) == pytest.approx(math.log(2))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_curve_matches_sklearn_calibration_curve(strategy: str) -> None:
    y, s = _data(seed=11)
    curve = metrics.reliability_curve(y, s, n_bins=10, strategy=strategy)  # type: ignore[arg-type]
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10, strategy=strategy)
    np.testing.assert_allclose(curve["observed_rate"], prob_true, atol=1e-12)
    np.testing.assert_allclose(curve["mean_predicted"], prob_pred, atol=1e-12)
    assert curve["n"].sum() == len(y)


def test_ece_closed_form_hand_example() -> None:
    # bin [0, .1]: p=.05,.05 outcomes 0,1 -> |0.5-0.05| ; bin (.8,.9]: p=.85 x2, outcomes 1,1 -> |1-.85|
    y = [0, 1, 1, 1]
    p = [0.05, 0.05, 0.85, 0.85]
    assert metrics.ece(y, p) == pytest.approx(0.5 * 0.45 + 0.5 * 0.15)


def test_ece_is_zero_for_perfect_bin_calibration_and_weights_by_bin_size() -> None:
    y, s = _data(seed=2)
    curve = metrics.reliability_curve(y, s)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=10)
    ids = np.searchsorted(np.linspace(0, 1, 11)[1:-1], s)
    counts = np.bincount(ids, minlength=10)
    counts = counts[counts > 0]
    expected = float(np.sum(counts * np.abs(prob_true - prob_pred)) / counts.sum())
    assert metrics.ece(y, s) == pytest.approx(expected, abs=1e-12)
    assert curve["n"].tolist() == counts.tolist()
    assert metrics.ece([0, 1], [0.5, 0.5]) == 0.0


def test_ece_quantile_bins_hold_equal_counts() -> None:
    y, s = _data(n=1000, seed=4)
    curve = metrics.reliability_curve(y, s, strategy="quantile")
    assert curve["n"].tolist() == [100] * 10


def test_reliability_ci_is_wilson() -> None:
    from scipy.stats import binomtest

    y, s = _data(seed=6)
    row = metrics.reliability_curve(y, s).iloc[3]
    k = round(row["observed_rate"] * row["n"])
    ref = binomtest(int(k), int(row["n"])).proportion_ci(method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ref.low, ref.high), abs=1e-9)


def _delong_naive(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """DeLong's variance from its O(m n) definition (placement values with ties counting one half)."""
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return float(psi.mean()), v10.var(ddof=1) / len(x) + v01.var(ddof=1) / len(z)


@pytest.mark.parametrize("round_to", [None, 1])
def test_delong_variance_matches_its_quadratic_definition(round_to: int | None) -> None:
    y, s = _data(n=600, seed=8, round_to=round_to)
    a, var = metrics.delong_variance(y.astype(float), s)
    a_ref, var_ref = _delong_naive(y, s)
    assert a == pytest.approx(a_ref, abs=1e-12)
    assert var == pytest.approx(var_ref, rel=1e-10)


def test_auc_ci_se_agrees_with_bootstrap_and_hanley_mcneil() -> None:
    y, s = _data(n=1500, seed=9)
    ci = metrics.auc_ci(y, s)
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(400):
        idx = rng.integers(0, len(y), len(y))
        boots.append(metrics.auc(y[idx], s[idx]))  # auc itself is checked against sklearn above
    assert ci.se == pytest.approx(np.std(boots, ddof=1), rel=0.15)
    hm = metrics.auc_ci(y, s, method="hanley_mcneil")
    assert hm.se == pytest.approx(ci.se, rel=0.2)
    assert ci.low < ci.auc < ci.high
    assert ci.high - ci.auc == pytest.approx(1.959964 * ci.se, rel=1e-5)


def test_hanley_mcneil_closed_form() -> None:
    a, m, n = 0.8, 50, 100
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    expected = (a * (1 - a) + (m - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (m * n)
    assert metrics.hanley_mcneil_variance(a, m, n) == pytest.approx(expected)


def test_auc_ci_with_one_positive_has_no_interval() -> None:
    ci = metrics.auc_ci([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3])
    assert ci.auc == 1.0 and math.isnan(ci.se)
    assert ci.to_dict()["low"] is None


def test_roc_points_integrate_to_the_auc_and_match_sklearn() -> None:
    y, s = _data(n=400, seed=10, round_to=2)
    pts = metrics.roc_points(y, s, max_points=None)
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(pts["fpr"], fpr)
    np.testing.assert_allclose(pts["tpr"], tpr)
    area = float(np.sum(np.diff(pts["fpr"]) * (pts["tpr"].to_numpy()[1:] + pts["tpr"].to_numpy()[:-1]) / 2))
    assert area == pytest.approx(metrics.auc(y, s))
    assert len(metrics.roc_points(y, s, max_points=50)) <= 50


def test_midranks_match_scipy_rankdata() -> None:
    from scipy.stats import rankdata

    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    np.testing.assert_allclose(metrics.midranks(x), rankdata(x))
