"""Executors predict with the task's cores, not every core: Spark runs one task per core already."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadops.scorers.base import build_scorer

pytest.importorskip("pyspark")
from leadops.jobs.engines.spark import pin_threads, task_cpus


def _data(n: int = 3_000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.integers(0, 5, n).astype(float)})
    y = (X["a"] + 0.5 * X["b"] + rng.normal(0, 1, n) > 0).astype(int).to_numpy()
    return X, y


def test_lightgbm_on_every_core_is_pinned_to_the_task_and_scores_the_same() -> None:
    X, y = _data()
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 30}).fit(X, y)
    before = scorer.score(X)
    assert scorer._threads(len(X)) >= 1 and scorer.spec.num_threads == 0  # type: ignore[attr-defined]
    pin_threads(scorer, 1)
    assert scorer.spec.num_threads == 1 and scorer._threads(len(X)) == 1  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(scorer.score(X), before)


def test_a_spec_that_chose_its_threads_keeps_them_and_components_are_pinned() -> None:
    X, y = _data(1_000)
    chosen = build_scorer({"type": "lightgbm", "n_estimators": 5, "num_threads": 3}).fit(X, y)
    pin_threads(chosen, 1)
    assert chosen.spec.num_threads == 3  # type: ignore[attr-defined]
    inner = {"type": "lightgbm", "n_estimators": 5}
    blend = build_scorer({"type": "blend", "components": {"m": {"weight": 1, "scorer": inner}}}).fit(X, y)
    pin_threads(blend, 2)
    parts = list(blend.components_.values())  # type: ignore[attr-defined]
    assert parts and all(p.spec.num_threads == 2 for p in parts)


def test_outside_a_spark_task_one_core() -> None:
    assert task_cpus() == 1
