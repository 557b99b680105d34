"""Engagement scorer: weighted activity counts decayed by recency and saturated onto 0..100."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.scorers.base import Scorer
from leadops.scorers.conditions import as_float
from leadops.scorers.encoding import row_dot
from leadops.scorers.frame import Frame, take
from leadops.scorers.phrases import ago as _ago
from leadops.scorers.reasons import ReasonMatrix, concat
from leadops.settings.models import EngagementSpec


class EngagementScorer(Scorer):
    """points = sum w * count * 0.5**(days/half_life); score = 100 * (1 - exp(-max(points, 0) / scale))."""

    scorer_type = "engagement"
    spec: EngagementSpec

    @property
    def learns_from_labels(self) -> bool:  # type: ignore[override]
        return self.spec.learn_weights

    def _decayed(self, X: Frame) -> np.ndarray:
        acts = self.spec.activities
        out = np.zeros((len(X), len(acts)))
        for j, a in enumerate(acts):
            x = np.nan_to_num(as_float(X[a.feature]), nan=0.0)
            if a.days_since_feature is not None:
                days = np.clip(np.nan_to_num(as_float(X[a.days_since_feature]), nan=0.0), 0.0, None)
                x = x * 0.5 ** (days / (a.half_life_days or self.spec.half_life_days))
            out[:, j] = x
        return out

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        acts = self.spec.activities
        needed = [a.feature for a in acts] + [a.days_since_feature for a in acts if a.days_since_feature]
        self._require_features(X, needed, "the activities")
        if not self.spec.learn_weights:
            self.weights_ = [a.weight for a in acts]
            self.scale_ = self.spec.scale
            return
        from sklearn.linear_model import LogisticRegression

        assert y is not None
        D = self._decayed(X)
        lr = LogisticRegression(C=1.0, max_iter=2000).fit(D, y)
        self.weights_ = [float(w) for w in lr.coef_[0]]
        points = D @ np.asarray(self.weights_)
        p90 = float(np.quantile(points, 0.9)) if len(points) else 0.0
        self.scale_ = p90 / np.log(10.0) if p90 > 0 else self.spec.scale

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        return row_dot(self._decayed(X), self.weights_), None

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        return 100.0 * (1.0 - np.exp(-np.maximum(raw, 0.0) / self.scale_))

    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        contrib = self._decayed(X) * np.asarray(self.weights_, dtype=float)[None, :]
        acts = self.spec.activities
        feats = [a.feature for a in acts]
        book = self.phrasebook()
        points = self._path_points(0.0, contrib.sum(axis=1), contrib)
        points = np.where(self._usable(X, feats, book), points, 0.0)

        def text(j: int, rows: np.ndarray, p: np.ndarray) -> np.ndarray:
            a = acts[j]
            body = book.texts(a.feature, X, rows)
            if not a.days_since_feature:
                return body
            days = as_float(take(X[a.days_since_feature], rows))
            when = np.where(np.isfinite(days), concat(", last active ", _ago(np.nan_to_num(days))), "")
            return concat(body, when)

        return ReasonMatrix(contrib, feats, text, points=points)

    def _state(self) -> dict[str, Any]:
        return {"weights": self.weights_, "scale": self.scale_}

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        self.weights_ = [float(w) for w in state["weights"]]
        self.scale_ = float(state["scale"])
