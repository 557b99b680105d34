"""Train, evaluate and register on 1M rows against bare LightGBM training on the same data, in the same run."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FEATURES = 30
TREES = 100


def _data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A logistic world over 30 numeric features (a few strong, most weak), ~8% positives."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES)).astype(np.float64)
    weights = np.r_[np.linspace(1.0, 0.3, 6), rng.normal(0, 0.08, FEATURES - 6)]
    p = 1 / (1 + np.exp(-(X @ weights - 2.9)))
    y = (rng.random(rows) < p).astype(np.int64)
    return pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(FEATURES)]), y


def _bare(X: pd.DataFrame, y: np.ndarray, n_train: int, n_val: int) -> float:
    """What a data scientist would write: lgb.train on the same rows and rounds with the same validation rows
    picking the best iteration (leadops' LightGBM trains with early stopping on the validation split), then
    predict the test rows."""
    import lightgbm as lgb

    began = time.perf_counter()
    params = {
        "objective": "binary",
        "learning_rate": 0.04,
        "num_leaves": 31,
        "min_child_samples": 50,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "verbose": -1,
        "seed": 0,
    }
    train = lgb.Dataset(X.iloc[:n_train].to_numpy(), y[:n_train])
    val = lgb.Dataset(X.iloc[n_train : n_train + n_val].to_numpy(), y[n_train : n_train + n_val], reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=TREES,
        valid_sets=[val],
        callbacks=[lgb.early_stopping(TREES, verbose=False)],
    )
    booster.predict(X.iloc[n_train + n_val :].to_numpy(), num_iteration=booster.best_iteration)
    return time.perf_counter() - began


def _ours(X: pd.DataFrame, y: np.ndarray, n_train: int, n_val: int) -> float:
    """leadops: fit the predictive scorer (calibrated), evaluate every metric, save the bundle (fitted feature
    spec + training summaries, as `train` writes it), register."""
    from leadops import config
    from leadops.bundle.store import save_bundle
    from leadops.bundle.summaries import summarize
    from leadops.evaluation import evaluate
    from leadops.registry import Registry
    from leadops.scorers import build_scorer
    from leadops.settings.features import AttributeFeature, FeaturesSpec
    from leadops.warehouse import open_warehouse
    from leadops.workspace import init_workspace

    with tempfile.TemporaryDirectory(prefix="bench_training_") as tmp:
        init_workspace(Path(tmp) / "ws")
        settings = config.load(Path(tmp) / "ws", environ={})
        warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
        registry = Registry(settings, warehouse)
        registry.list_versions()  # an existing workspace: its MLflow store is created once, not per training
        began = time.perf_counter()
        scorer = build_scorer(
            {
                "type": "lightgbm",
                "n_estimators": TREES,
                "early_stopping_rounds": TREES,
                "calibration": {"method": "isotonic"},
            }
        )
        val = slice(n_train, n_train + n_val)
        test = slice(n_train + n_val, None)
        scorer.fit(X.iloc[:n_train], y[:n_train], X_val=X.iloc[val], y_val=y[val])
        scores = scorer.score(X.iloc[test])
        report = evaluate(
            y[test],
            scores["probability"].to_numpy(),
            score=scores["score"].to_numpy(),
            capacity_k=max(1, len(scores) // 10),
            mql_threshold=30.0,
            value_per_conversion=20_000.0,
            cost_per_contact=150.0,
        )
        artifact = Path(tmp) / "artifact"
        spec = FeaturesSpec(definitions=[AttributeFeature(name=c, key=c, label=c) for c in X.columns])
        summaries = summarize(X.iloc[:n_train], spec, scores)
        save_bundle(artifact, scorer, spec, summaries=summaries, lineage={"training_set_digest": "bench"})
        registry.log_training(
            "predictive",
            artifact,
            params={"trees": TREES},
            metrics={"auc": report.auc or 0.0},
            lineage={"training_set_digest": "bench", "training_set_rows": len(X), "feature_spec_hash": "bench"},
            report_path=None,
        )
        seconds = time.perf_counter() - began
        warehouse.close()
    return seconds


def run(quick: bool) -> list[dict[str, Any]]:
    """Overhead of leadops' whole training path over bare LightGBM (goal: at most 30 %)."""
    rows = 200_000 if quick else 1_000_000
    X, y = _data(rows)
    n_train, n_val = int(rows * 0.6), int(rows * 0.2)
    _bare(X, y, n_train, n_val)  # warm-up: imports, page cache, CPU frequency; both sides then run warm
    bares, ourss = [], []
    for _ in range(int(os.environ.get("LEADOPS_BENCH_ROUNDS", "3"))):  # interleaved, best of N on both sides
        bares.append(_bare(X, y, n_train, n_val))
        ourss.append(_ours(X, y, n_train, n_val))
    bare, ours = min(bares), min(ourss)
    label = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    return [
        {
            "name": f"train+evaluate+register {label} rows",
            "ours": ours,
            "baseline": bare,
            "ratio": ours / bare,
            "goal": "<= 1.30x (overhead <= 30%)",
            "unit": "s",
            "note": f"{TREES} trees, {FEATURES} features; ours adds calibration, every metric, the bundle, MLflow",
        }
    ]


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
