"""TreeSHAP values remembered by split pattern: a lead whose features fall on the same side of every split as a
lead already explained by the same trees gets that lead's values again, bit for bit, without walking the trees.

LightGBM's TreeSHAP reads a row only through each node's decision (`value <= threshold`, a category in the node's
set, or the missing-value branch), so two rows that decide every node alike get identical contributions. The
nightly job explains the same Sales leads night after night (a lead stays in the queue while Sales works it), and
about a fifth of them have not crossed any split since the night before: those are looked up, not recomputed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's kZeroThreshold (a C++ float): |value| <= it is "zero" for a node whose missing type is Zero."""
MIN_ROWS = 64
"""Fewer rows go straight to the trees (one lead online: the fast single-row path, nothing to remember)."""
MAX_ROWS = 60_000
"""Split patterns remembered per model (~25 MB at 40 features); past it the older half is forgotten."""
MAX_MODELS = 4
"""Models remembered at once (the champion, a challenger and experiment arms explain on the same night)."""


class SplitPattern:
    """Every split of one booster, per feature: rows with equal `keys` take every node the same way."""

    def __init__(self, booster: Any, n_features: int) -> None:
        self.booster = booster
        text = booster.model_to_string()
        self.digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.exact = "is_linear=1" not in text  # a linear leaf reads the values themselves, not only decisions
        thresholds: list[set[float]] = [set() for _ in range(n_features)]
        categorical = np.zeros(n_features, dtype=bool)
        tree: dict[str, str] = {}
        for line in text.splitlines():  # the text LightGBM loads its trees from: the doubles it compares with
            key, eq, value = line.partition("=")
            if eq and key in ("split_feature", "threshold", "decision_type"):
                tree[key] = value
            if len(tree) == 3:
                features = np.array(tree["split_feature"].split(), dtype=np.int64)
                cuts = np.array(tree["threshold"].split(), dtype=np.float64)
                kinds = np.array(tree["decision_type"].split(), dtype=np.int64)
                is_cat = (kinds & 1) == 1  # kCategoricalMask: the threshold indexes a category set
                categorical[features[is_cat]] = True
                for j, t in zip(features[~is_cat].tolist(), cuts[~is_cat].tolist(), strict=True):
                    thresholds[j].add(t)
                tree = {}
        zero = {float(np.nextafter(-ZERO_THRESHOLD, -np.inf)), -ZERO_THRESHOLD, ZERO_THRESHOLD}
        self.cuts = [np.array(sorted(t | zero)) if t else None for t in thresholds]
        self.categorical = categorical

    def keys(self, M: np.ndarray) -> np.ndarray:
        """One opaque key per row of M: equal keys decide every node of every tree alike.

        A numerical feature becomes the number of its thresholds below the value (`value <= t` is the node's
        test; the zero band of a Zero-missing node is cut out too), NaN its own key; a categorical one keeps its
        value; a feature no tree splits on is left out.
        """
        K = np.zeros(M.shape, dtype=np.float64)
        for j, cuts in enumerate(self.cuts):
            v = M[:, j]
            missing = np.isnan(v)
            if self.categorical[j]:
                K[:, j] = np.where(missing, np.nan, v)  # one NaN bit pattern for every missing value
            elif cuts is not None:
                K[:, j] = np.where(missing, -1.0, np.searchsorted(cuts, v, side="left"))
        K = np.ascontiguousarray(K)
        return K.view(np.dtype((np.void, K.itemsize * int(M.shape[1])))).ravel()


class _Memo:
    """Contribution rows by split-pattern key for a few models (least recently used models forgotten first)."""

    def __init__(self) -> None:
        self.models: OrderedDict[str, dict[bytes, np.ndarray]] = OrderedDict()

    def of(self, digest: str) -> dict[bytes, np.ndarray]:
        found = self.models.pop(digest, None)
        if found is None:
            found = {}
        self.models[digest] = found
        while len(self.models) > MAX_MODELS:
            self.models.popitem(last=False)
        return found

    def clear(self) -> None:
        self.models.clear()


MEMO = _Memo()


def contributions(pattern: SplitPattern, M: np.ndarray, predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """pred_contrib of M's rows: each distinct split pattern computed once (`predict(rows)`), known ones reused."""
    keys = pattern.keys(M)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    memo = MEMO.of(pattern.digest)
    found = [memo.get(keys[i].tobytes()) for i in first]
    todo = [k for k, row in enumerate(found) if row is None]
    width = M.shape[1] + 1
    out = np.empty((len(first), width), dtype=np.float64)
    if todo:
        fresh = np.asarray(predict(M[first[todo]]), dtype=np.float64).reshape(len(todo), width)
        if len(memo) + len(todo) > MAX_ROWS:
            for old in list(memo)[: len(memo) // 2 + len(todo)]:
                del memo[old]
        for k, computed in zip(todo, fresh, strict=True):
            out[k] = computed
            memo[keys[first[k]].tobytes()] = computed.copy()
    for k, known in enumerate(found):
        if known is not None:
            out[k] = known
    return out[inverse.ravel()]
