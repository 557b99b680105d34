"""The leakage guard flags outcome proxies for a stated reason and leaves honest features alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from leadops.features.leakage import check_leakage, rank_auc, single_feature_auc
from leadops.features.specs import LeakageSpec

BANK = Path(__file__).parents[2] / ".." / "shared" / "data" / "bank-additional-full.csv"


def test_rank_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.2
    score = np.round(rng.normal(y * 0.7, 1), 1)
    assert rank_auc(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_single_feature_auc_is_direction_free() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.3).astype(int)
    x = pd.Series(rng.normal(-y * 1.0, 1))
    fit = rng.random(3000) < 0.7
    assert single_feature_auc(x, y, categorical=False, fit=fit) == pytest.approx(1 - roc_auc_score(y, x), abs=1e-12)


def _synthetic(n: int = 6000, seed: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1, (n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + z @ np.array([0.8, 0.6, 0.5, 0.4]))))).astype(int)
    X = pd.DataFrame({f"x{i}": z[:, i] + rng.normal(0, 0.3, n) for i in range(4)})
    X["segment"] = np.where(z[:, 0] > 0, "a", "b")
    return X, y


def test_honest_features_are_not_flagged() -> None:
    X, y = _synthetic()
    report = check_leakage(X, y, categorical=["segment"])
    assert report.flagged == [], report.reasons()


def test_near_perfect_separator_is_flagged_by_threshold_and_excluded() -> None:
    X, y = _synthetic()
    rng = np.random.default_rng(3)
    X["stage_code"] = y * 10 + rng.normal(0, 1, len(y))  # recorded once the deal was decided
    report = check_leakage(X, y, categorical=["segment"])
    assert report.flagged == ["stage_code"] and report.excluded == ["stage_code"]
    assert "almost perfectly" in report.reasons()["stage_code"]


def test_allow_list_keeps_a_flagged_feature_and_says_so() -> None:
    X, y = _synthetic()
    X["stage_code"] = y * 10.0
    report = check_leakage(X, y, spec=LeakageSpec(allow=["stage_code"]), categorical=["segment"])
    assert report.flagged == ["stage_code"] and report.excluded == []
    assert "leakage.allow" in report.reasons()["stage_code"]


def test_two_copies_of_a_proxy_do_not_hide_each_other() -> None:
    X, y = _synthetic(seed=4)
    rng = np.random.default_rng(5)
    proxy = np.where(y == 1, rng.normal(1.3, 1, len(y)), rng.normal(0, 1, len(y)))
    X["call_minutes"] = proxy
    X["call_seconds"] = proxy * 60 + rng.normal(0, 0.01, len(y))
    report = check_leakage(X, y, categorical=["segment"])
    assert {"call_minutes", "call_seconds"} <= set(report.flagged)


@pytest.mark.slow
@pytest.mark.skipif(not BANK.exists(), reason="shared bank-marketing data not present")
def test_bank_marketing_duration_is_flagged_by_dominance_and_nothing_else() -> None:
    data = pd.read_csv(BANK, sep=";")
    y = (data.pop("y") == "yes").astype(int).to_numpy()
    categorical = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    report = check_leakage(data, y, categorical=categorical)
    assert report.flagged == ["duration"], report.reasons()
    check = next(c for c in report.checks if c.name == "duration")
    # below the 0.95 separation threshold: only the dominance rule can catch it
    assert 0.78 < check.auc < 0.95
    assert check.rest_auc is not None and check.auc > check.rest_auc
    assert check.auc == pytest.approx(roc_auc_score(y, data["duration"]), abs=1e-3)


def test_a_dominant_point_in_time_activity_feature_is_a_signal_not_a_leak() -> None:
    """Dominance flags a static field that outranks the whole record, but not an as-of activity count."""
    from leadops.features.leakage import check_leakage
    from leadops.features.specs import LeakageSpec

    rng = np.random.default_rng(5)
    n = 6000
    intent = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.5 * intent - 2)))).astype(int)
    X = pd.DataFrame(
        {
            "pricing_views_30d": rng.poisson(np.exp(0.8 * intent)).astype(float),
            "noise_a": rng.normal(size=n),
            "noise_b": rng.normal(size=n),
        }
    )
    spec = LeakageSpec(dominance_floor=0.6)
    static = check_leakage(X, y, spec=spec, seed=1)
    assert "pricing_views_30d" in static.flagged
    timed = check_leakage(X, y, spec=spec, seed=1, time_safe={"pricing_views_30d"})
    assert "pricing_views_30d" not in timed.flagged
