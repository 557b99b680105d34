"""The leakage guard's cost at 1M training rows (quick: 100k) against a bare LightGBM fit on the same rows.

The guard runs in every `train`, so it must stay a small share of training: synthetic rows with 20 features
(six firmographic views of a hidden fit, eight behaviour counts of a hidden intent, four noise categoricals, a
rep's tag written after the outcome and a note filled mostly for converts) go through `check_leakage` with the
shipped defaults (200k rows sampled, rest-of-the-record models on 50k); the baseline is `lgb.train` (100
rounds as in bench_training, one thread like the guard's own models: on a busy shared host two OpenMP
threads run ~4x slower than one, which would flatter the ratio) on 60 % of the rows plus `predict` on the
other 40 %. Both are timed in one process after
LightGBM is imported and warmed up.
"""

from __future__ import annotations

import time
from typing import Any


def make_rows(n: int, seed: int = 0) -> tuple[Any, Any, list[str]]:
    """The synthetic training split: (X, y, categorical columns)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    fit, intent = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 0.6 * fit + 0.9 * intent)))).astype(int)
    cols: dict[str, Any] = {f"fit_{i}": fit + rng.normal(0, 1.5, n) for i in range(6)}
    cols |= {f"count_{i}": rng.poisson(np.exp(0.3 + 0.4 * intent)).astype(float) for i in range(8)}
    cols |= {f"noise_{i}": rng.choice(list("abcdefgh"), n) for i in range(4)}
    cols["rep_tag"] = np.where(rng.random(n) < np.where(y == 1, 0.75, 0.15), "hot", "cold")
    cols["note"] = pd.Series(np.where(rng.random(n) < np.where(y == 1, 0.45, 0.15), "x", None), dtype=object)
    X = pd.DataFrame(cols)
    return X, y, [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def run(quick: bool) -> list[dict[str, Any]]:
    """One row: the guard's seconds, the bare fit's seconds, their ratio."""
    import lightgbm as lgb
    import numpy as np

    from leadops.features.leakage import check_leakage

    n = 100_000 if quick else 1_000_000
    X, y, cats = make_rows(n)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "learning_rate": 0.04}
    lgb.train(params, lgb.Dataset(np.zeros((100, 2)), label=np.r_[np.zeros(50), np.ones(50)]), 1)  # warm-up
    started = time.perf_counter()
    report = check_leakage(X, y, categorical=cats)
    guard = time.perf_counter() - started
    Xc = X.copy()
    for c in cats:
        Xc[c] = Xc[c].astype("category")
    cut = int(0.6 * n)
    started = time.perf_counter()
    booster = lgb.train(params, lgb.Dataset(Xc.iloc[:cut], label=y[:cut]), 100)
    booster.predict(Xc.iloc[cut:])
    bare = time.perf_counter() - started
    return [
        {
            "name": f"leakage guard ({n:,} rows, {X.shape[1]} features) vs bare lgb.train",
            "ours": round(guard, 2),
            "baseline": round(bare, 2),
            "ratio": round(guard / bare, 3),
            "unit": "s",
            "goal": "<= 0.25x at 1M rows",
            "note": f"flagged {report.flagged} (expected ['rep_tag', 'note'])",
        }
    ]
