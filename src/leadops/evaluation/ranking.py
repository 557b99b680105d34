"""Rows ordered by descending score with ties grouped, so every top-K figure is the expectation under random
tie-breaking (a points model with many equal scores is neither flattered nor punished by row order)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from leadops.evaluation._inputs import FloatArray
from leadops.evaluation.errors import EvaluationError


class Ranking:
    """Descending order of one score vector, with its tie groups, computed once and reused."""

    def __init__(self, score: FloatArray) -> None:
        s = np.asarray(score, dtype=np.float64)
        self.n = int(s.shape[0])
        if self.n == 0:
            raise EvaluationError("ranking: expected at least one scored row, got none")
        self.order = np.argsort(-s, kind="mergesort")
        self.sorted_scores = s[self.order]
        change = np.flatnonzero(np.diff(self.sorted_scores) != 0) + 1
        self.starts = np.r_[0, change].astype(np.int64)
        self.ends = np.r_[change, self.n].astype(np.int64)

    def cumulative(self, values: npt.ArrayLike, ks: npt.ArrayLike) -> FloatArray:
        """Expected sum of `values` over the top k rows, for each k in ks (k clipped to [0, n])."""
        v = np.asarray(values, dtype=np.float64)[self.order]
        cs = np.r_[0.0, np.cumsum(v)]
        kk = np.clip(np.asarray(ks, dtype=np.float64), 0, self.n)
        g = np.minimum(np.searchsorted(self.ends, kk, side="left"), self.ends.shape[0] - 1)
        before = self.starts[g]
        size = self.ends[g] - before
        frac = (kk - before) / size
        return np.asarray(cs[before] + (cs[self.ends[g]] - cs[before]) * frac, dtype=np.float64)

    def membership(self, k: int) -> FloatArray:
        """Probability that each row (original order) is among the top k under random tie-breaking."""
        kk = min(max(int(k), 0), self.n)
        p_sorted = np.zeros(self.n)
        if kk > 0:
            g = int(np.searchsorted(self.ends, kk, side="left"))
            before = int(self.starts[g])
            p_sorted[:before] = 1.0
            p_sorted[before : self.ends[g]] = (kk - before) / (self.ends[g] - before)
        out = np.empty(self.n)
        out[self.order] = p_sorted
        return out

    def boundaries(self) -> npt.NDArray[np.int64]:
        """Every k at which a tie group ends, with 0 first: the only places a top-k optimum can sit."""
        return np.r_[0, self.ends].astype(np.int64)

    def lowest_score_in_top(self, k: int) -> float:
        """Score of the k-th ranked row (the threshold `score >= t` that selects exactly a boundary k)."""
        return float(self.sorted_scores[k - 1])
