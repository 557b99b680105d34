"""Calibration and grades checked against scikit-learn and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadops.scorers import Calibrator, GradeScale, GradesSpec, build_scorer


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return total


def test_platt_matches_unpenalised_sklearn_logistic_regression() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    score = rng.uniform(0, 100, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.06 * score - 3.5)))).astype(int)
    cal = Calibrator.fit("platt", score, y)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(score[:, None], y)
    assert cal.a == pytest.approx(ref.coef_[0, 0], rel=1e-4)
    assert cal.b == pytest.approx(ref.intercept_[0], rel=1e-4)
    np.testing.assert_allclose(cal.transform(score), ref.predict_proba(score[:, None])[:, 1], atol=1e-6)


def test_isotonic_matches_sklearn_isotonic_regression_and_round_trips_json() -> None:
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(4)
    raw = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * raw))).astype(int)
    cal = Calibrator.from_dict(Calibrator.fit("isotonic", raw, y).to_dict())
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(raw, y)
    probe = np.concatenate([raw, np.linspace(-5, 5, 101)])
    np.testing.assert_allclose(cal.transform(probe), ref.predict(probe), atol=1e-12)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_ece_falls_after_calibrating_a_miscalibrated_scorer(method: str) -> None:
    rng = np.random.default_rng(5)
    n = 20000
    X = pd.DataFrame({"clicks": rng.poisson(3, n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * X["clicks"] - 3)))).astype(int)
    # a scorecard trained with balanced class weights and no prior correction would be miscalibrated;
    # here the miscalibrated reference is the engagement score read as a probability
    spec = {"type": "engagement", "activities": [{"feature": "clicks", "weight": 10}], "scale": 30}
    plain = build_scorer(spec).fit(X, y).score(X)
    before = ece(plain["score"].to_numpy() / 100, y.to_numpy())
    calibrated = build_scorer({**spec, "calibration": {"method": method}}).fit(X, y).score(X)
    after = ece(calibrated["probability"].to_numpy(), y.to_numpy())
    assert before > 0.1
    assert after < 0.02 and after < before / 5


def test_cross_fitted_calibration_is_used_when_no_validation_split() -> None:
    rng = np.random.default_rng(6)
    n = 4000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["a"] - 1.5)))).astype(int)
    spec = {"type": "scorecard", "class_weight": "balanced", "calibration": {"method": "platt", "cv": 3}}
    out = build_scorer(spec).fit(X, y).score(X)
    assert out["probability"].mean() == pytest.approx(y.mean(), abs=0.01)
    val = build_scorer(spec).fit(X.iloc[:3000], y.iloc[:3000], X_val=X.iloc[3000:], y_val=y.iloc[3000:])
    assert val.calibrator_ is not None


def test_quantile_grades_put_the_top_fraction_in_a() -> None:
    values = np.arange(1000.0)
    scale = GradeScale.fit(GradesSpec(top={"A": 0.1, "B": 0.3}, otherwise="C"), values)
    grades = scale.assign(values)
    assert (grades == "A").sum() == 100 and (grades == "B").sum() == 200 and (grades == "C").sum() == 700
    assert GradeScale.from_dict(scale.to_dict()) == scale


def test_fixed_cutoffs_grade_at_the_boundary_inclusively() -> None:
    scale = GradeScale.fit(GradesSpec(cutoffs={"A": 150, "B": 120}, otherwise="F"), np.zeros(1))
    assert scale.assign(np.array([150, 149.9, 120, 0, np.nan])).tolist() == ["A", "B", "B", "F", "F"]


def test_grades_are_the_best_grade_whose_cutoff_a_value_reaches_nan_the_lowest() -> None:
    scale = GradeScale((("A", 75.0), ("B", 50.0), ("B2", 50.0), ("C", 25.0)), "D", "score")
    values = np.array([100.0, 75.0, 74.9, 50.0, 49.0, 25.0, 0.0, -1.0, np.nan, np.inf])
    want = []
    for v in values:
        reached = [g for g, t in scale.thresholds if v >= t]  # thresholds best first
        want.append(reached[0] if reached else "D")
    assert scale.assign(values).tolist() == want == ["A", "A", "B", "B", "C", "C", "D", "D", "D", "A"]


def test_grade_column_is_what_a_frame_makes_of_assign() -> None:
    scale = GradeScale((("A", 75.0), ("B", 50.0), ("C", 25.0)), "D", "score")
    values = np.array([100.0, 75.0, 74.9, 50.0, 25.0, 0.0, np.nan, np.inf] * 50)
    column = pd.DataFrame({"grade": scale.assign_column(values)})["grade"]
    reference = pd.DataFrame({"grade": pd.array(scale.assign(values), dtype=object)})["grade"]
    assert column.dtype == reference.dtype
    assert column.tolist() == reference.tolist() == scale.assign(values).tolist()
