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
    assert sum(c.leads for c in late) > 500
