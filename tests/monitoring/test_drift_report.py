"""A drift report flags the features that moved, leaves the rest alone, and takes thresholds by statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadops.monitoring.errors import MonitoringError
from leadops.monitoring.report import drift_report


def _frame(rng: np.random.Generator, n: int, *, shift: float = 0.0, new_source: float = 0.0) -> pd.DataFrame:
    sources = np.array(["web", "referral", "event"], dtype=object)
    src = rng.choice(sources, n, p=[0.5, 0.3, 0.2]).astype(object)
    src[rng.random(n) < new_source] = "tiktok"
    return pd.DataFrame(
        {
            "visits": rng.poisson(5 + shift * 3, n).astype(float),
            "age_days": rng.exponential(30, n),
            "source": pd.Series(src, dtype="str"),
            "score": rng.beta(2, 8, n) * 100,
        }
    )


KINDS = {"visits": "numeric", "age_days": "numeric", "source": "categorical", "score": "numeric"}


def test_only_the_features_that_moved_are_flagged() -> None:
    rng = np.random.default_rng(5)
    ref, cur = _frame(rng, 20_000), _frame(rng, 20_000, shift=1.0, new_source=0.15)
    report = {f.feature: f for f in drift_report(ref, cur, KINDS)}  # type: ignore[arg-type]
    assert report["visits"].drifted and {"psi", "ks", "wasserstein"} <= set(report["visits"].drifted_by)
    assert report["source"].drifted and "new_category_share" in report["source"].drifted_by
    assert not report["age_days"].drifted and not report["score"].drifted
    as_json = report["visits"].to_dict()
    assert as_json["stats"]["ks"]["p_value"] < 1e-10 and as_json["reference_rows"] == 20_000


def test_a_threshold_set_by_name_replaces_the_default() -> None:
    rng = np.random.default_rng(6)
    ref, cur = _frame(rng, 5_000), _frame(rng, 5_000, shift=0.15)
    default = drift_report(ref, cur, {"visits": "numeric"})[0]
    strict = drift_report(ref, cur, {"visits": "numeric"}, thresholds={"ks": 0.001, "psi": 0.0001})[0]
    assert strict.stats["ks"].threshold == 0.001 and strict.drifted
    assert default.stats["ks"].threshold == 0.1


def test_a_feature_missing_from_a_sample_is_named() -> None:
    with pytest.raises(MonitoringError, match="visits"):
        drift_report(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [1.0]}), {"visits": "numeric"})
