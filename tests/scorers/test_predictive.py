"""Predictive scorers checked against scikit-learn and the true probabilities of synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scorer_fixtures import make_leads

from leadops.scorers import build_scorer


def test_scorecard_coefficients_match_sklearn_pipeline() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = make_leads(4000, seed=2)
    X = X.drop(columns=["is_competitor"])
    scorer = build_scorer({"type": "scorecard", "C": 0.5, "min_category_count": 1}).fit(X, y)
    num = ["employees", "email_clicks_30d", "demo_requests_30d", "days_since_last_activity"]
    cat = ["industry", "job_level"]
    pipe = make_pipeline(
        ColumnTransformer([("n", StandardScaler(), num), ("c", OneHotEncoder(handle_unknown="ignore"), cat)]),
        LogisticRegression(C=0.5, max_iter=5000, tol=1e-8),
    ).fit(X, y)
    enc = pipe[0]
    ref = dict(zip(enc.get_feature_names_out(), pipe[-1].coef_[0], strict=True))
    ours = dict(zip(scorer.column_names(), scorer.coef_, strict=True))  # type: ignore[attr-defined]
    for name, coef in ref.items():
        col = name.split("__", 1)[1]
        key = next((f"{f}={col[len(f) + 1 :]}" for f in cat if col.startswith(f + "_")), col)
        assert ours[key] == pytest.approx(coef, abs=1e-5), name
    assert all(abs(v) < 1e-6 for k, v in ours.items() if k.endswith("=__other__"))
    assert scorer.intercept_ == pytest.approx(pipe[-1].intercept_[0], abs=1e-5)  # type: ignore[attr-defined]
    np.testing.assert_allclose(scorer.score(X)["probability"], pipe.predict_proba(X)[:, 1], atol=1e-4)


def test_scorecard_contributions_sum_to_raw_and_unseen_levels_go_to_other() -> None:
    X, y = make_leads(3000, seed=3)
    scorer = build_scorer({"type": "scorecard", "class_weight": "balanced"}).fit(X, y)
    contrib = scorer.contributions(X)  # type: ignore[attr-defined]
    np.testing.assert_allclose(contrib.sum(axis=1), scorer.score(X)["raw"], atol=1e-9)
    odd = X.iloc[:3].assign(industry="Aerospace")
    assert np.isfinite(scorer.score(odd)["raw"]).all()
    table = scorer.scorecard_table()  # type: ignore[attr-defined]
    assert {"feature", "level", "coefficient", "points"} <= set(table.columns)
    # balanced class weights are undone by the prior correction: mean probability near the base rate
    assert scorer.score(X)["probability"].mean() == pytest.approx(y.mean(), abs=0.03)


def _logistic_data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 8))
    beta = np.array([1.0, -0.8, 0.6, 0.5, -0.4, 0.3, 0.0, 0.0])
    p = 1 / (1 + np.exp(-(Z @ beta - 1.5)))
    y = (rng.random(n) < p).astype(int)
    X = pd.DataFrame(Z, columns=[f"x{i}" for i in range(8)])
    X["segment"] = pd.Series(np.where(Z[:, 0] > 0.5, "high", np.where(Z[:, 0] < -0.5, "low", "mid")), dtype="str")
    return X, pd.Series(y), p


@pytest.mark.slow
def test_lightgbm_auc_is_within_001_of_the_true_probability_auc_at_50k() -> None:
    from sklearn.metrics import roc_auc_score

    X, y, _ = _logistic_data(50_000, seed=7)
    Xv, yv, _ = _logistic_data(10_000, seed=8)
    Xt, yt, pt = _logistic_data(50_000, seed=9)
    scorer = build_scorer({"type": "lightgbm", "num_threads": 1}).fit(X, y, X_val=Xv, y_val=yv)
    ours = roc_auc_score(yt, scorer.score(Xt)["score"])
    oracle = roc_auc_score(yt, pt)
    assert oracle - ours < 0.01, (ours, oracle)


def test_lightgbm_shap_reasons_sum_to_the_raw_margin_with_class_weights() -> None:
    X, y, _ = _logistic_data(6000, seed=10)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 80, "class_weight": "balanced", "num_threads": 1}).fit(
        X, y
    )
    contrib = scorer.contributions(X)  # type: ignore[attr-defined]
    out = scorer.score(X)
    np.testing.assert_allclose(contrib.sum(axis=1), out["raw"], atol=1e-6)
    ex = scorer.explain(X.iloc[:5], top_n=8)
    for i, reasons in enumerate(ex["reasons"]):
        for r in reasons:
            assert r["contribution"] == pytest.approx(contrib.iloc[i][r["feature"]])
    # scale_pos_weight is undone before probabilities are read: mean probability near the base rate
    assert out["probability"].mean() == pytest.approx(y.mean(), abs=0.03)


@pytest.mark.slow
def test_lightgbm_early_stops_on_validation_and_searches_when_asked() -> None:
    X, y, _ = _logistic_data(4000, seed=11)
    Xv, yv, _ = _logistic_data(1000, seed=12)
    plain = build_scorer({"type": "lightgbm", "n_estimators": 2000, "learning_rate": 0.2, "num_threads": 1}).fit(
        X, y, X_val=Xv, y_val=yv
    )
    assert plain.best_iteration_ < 2000  # type: ignore[attr-defined]
    searched = build_scorer(
        {"type": "lightgbm", "n_estimators": 150, "search": True, "search_iterations": 4, "num_threads": 1}
    )
    searched.fit(X, y, X_val=Xv, y_val=yv)
    assert searched.search_results_["tried"] == 4  # type: ignore[attr-defined]


def test_lightgbm_unseen_category_scores_as_missing() -> None:
    X, y, _ = _logistic_data(4000, seed=13)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 30, "num_threads": 1}).fit(X, y)
    odd = X.iloc[:5].assign(segment="never-seen")
    missing = X.iloc[:5].assign(segment=pd.Series([None] * 5, index=X.index[:5], dtype="str"))
    np.testing.assert_array_equal(scorer.score(odd)["raw"], scorer.score(missing)["raw"])
