"""Scorecard: calibrated L2 logistic regression on standardized numerics and one-hot categoricals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import ScorerError
from leadops.scorers.base import Scorer
from leadops.scorers.conditions import as_float, as_text
from leadops.scorers.encoding import OTHER, row_dot, split_kinds
from leadops.scorers.frame import Frame
from leadops.scorers.reasons import ReasonMatrix
from leadops.settings.models import ScorecardSpec

PDO = 20.0  # scorecard points that double the odds


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


class ScorecardScorer(Scorer):
    """Logistic scorecard; class weights are undone by a prior-correction offset so probabilities hold."""

    scorer_type = "scorecard"
    contribution_unit = "log-odds"
    learns_from_labels = True
    spec: ScorecardSpec

    def design(self, X: Frame) -> np.ndarray:
        """Design matrix: (x - mean) / std per numeric (missing -> 0), one-hot per level plus `other`."""
        blocks = []
        if self.numeric_:
            Z = np.empty((len(X), len(self.numeric_)))
            for j, f in enumerate(self.numeric_):
                Z[:, j] = (as_float(X[f]) - self.mean_[j]) / self.scale_[j]
            blocks.append(np.nan_to_num(Z, nan=0.0))
        for f in self.categorical_:
            levels = self.levels_[f]
            lookup = {lv: i for i, lv in enumerate(levels)}
            idx = np.array(
                [lookup.get(v, len(levels)) if v is not None else len(levels) for v in as_text(X[f])],
                dtype=np.intp,
            )
            onehot = np.zeros((len(X), len(levels) + 1))
            onehot[np.arange(len(X)), idx] = 1.0
            blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.zeros((len(X), 0))

    def column_names(self) -> list[str]:
        """Design columns: numeric names, then `feature=level` and `feature=__other__`."""
        names = list(self.numeric_)
        for f in self.categorical_:
            names += [f"{f}={lv}" for lv in self.levels_[f]] + [f"{f}={OTHER}"]
        return names

    def _column_owner(self) -> list[str]:
        return list(self.numeric_) + [f for f in self.categorical_ for _ in range(len(self.levels_[f]) + 1)]

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        from sklearn.linear_model import LogisticRegression

        assert y is not None
        if len(np.unique(y)) < 2:
            raise ScorerError("scorecard: expected both converted and non-converted leads in y, got one class")
        self.numeric_, self.categorical_ = split_kinds(X, self.spec.numeric, self.spec.categorical, "scorecard")
        num = np.column_stack([as_float(X[f]) for f in self.numeric_]) if self.numeric_ else np.zeros((len(X), 0))
        self.mean_ = [float(v) for v in np.nan_to_num(np.nanmean(num, axis=0), nan=0.0)] if self.numeric_ else []
        sd = np.nan_to_num(np.nanstd(num, axis=0), nan=1.0) if self.numeric_ else np.zeros(0)
        self.scale_ = [float(v) if v > 0 else 1.0 for v in sd]
        self.levels_: dict[str, list[str]] = {}
        for f in self.categorical_:
            counts = pd.Series([v for v in as_text(X[f]) if v is not None], dtype=object).value_counts()
            self.levels_[f] = sorted(str(k) for k, c in counts.items() if c >= self.spec.min_category_count)
        Z = self.design(X)
        lr = LogisticRegression(
            C=self.spec.C, class_weight=self.spec.class_weight, max_iter=self.spec.max_iter, tol=1e-8
        )
        lr.fit(Z, y)
        self.coef_ = [float(v) for v in lr.coef_[0]]
        self.intercept_ = float(lr.intercept_[0])
        self.column_means_ = [float(v) for v in Z.mean(axis=0)]
        n1 = float(y.sum())
        self.offset_ = -float(np.log((len(y) - n1) / n1)) if self.spec.class_weight == "balanced" else 0.0

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        raw = row_dot(self.design(X), self.coef_) + self.intercept_ + self.offset_
        return raw, _sigmoid(raw)

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        return 100.0 * probability

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions coef * (x - training mean) plus `bias`; rows sum to `raw`."""
        X = self._check(X)
        feats = list(self.numeric_) + list(self.categorical_)
        out = pd.DataFrame(self._feature_contributions(X), columns=feats, index=X.index)
        out["bias"] = self.intercept_ + self.offset_ + float(np.dot(self.coef_, self.column_means_))
        return out

    def _feature_contributions(self, X: Frame) -> np.ndarray:
        """n x features matrix: coefficient x (design - training mean), one-hot columns summed per feature."""
        Z = self.design(X)
        Z -= np.asarray(self.column_means_)[None, :]
        Z *= np.asarray(self.coef_)[None, :]
        owner = self._column_owner()
        feats = list(self.numeric_) + list(self.categorical_)
        contrib = np.zeros((len(X), len(feats)))
        for j, f in enumerate(feats):
            cols = [k for k, o in enumerate(owner) if o == f]
            contrib[:, j] = Z[:, cols[0]] if len(cols) == 1 else Z[:, cols].sum(axis=1)
        return contrib

    def _probability_of_raw(self, raw: np.ndarray) -> np.ndarray:
        return _sigmoid(np.asarray(raw, dtype=float))

    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        feats = list(self.numeric_) + list(self.categorical_)
        contrib = self._feature_contributions(X)
        base = self.intercept_ + self.offset_ + float(np.dot(self.coef_, self.column_means_))
        book = self.phrasebook()
        points = self._path_points(base, base + contrib.sum(axis=1), contrib)
        points = np.where(self._usable(X, feats, book), points, 0.0)

        def text(j: int, rows: np.ndarray, p: np.ndarray) -> np.ndarray:
            return book.texts(feats[j], X, rows)

        return ReasonMatrix(contrib, feats, text, points=points)

    def scorecard_table(self) -> pd.DataFrame:
        """Readable scorecard: feature, level, coefficient (log-odds), points (PDO 20) per design column."""
        rows = []
        for name, owner, coef in zip(self.column_names(), self._column_owner(), self.coef_, strict=True):
            if owner in self.numeric_:
                j = self.numeric_.index(owner)
                level = f"per {self.scale_[j]:.4g} above {self.mean_[j]:.4g}"
            else:
                level = name.split("=", 1)[1]
            rows.append({"feature": owner, "level": level, "coefficient": coef, "points": coef * PDO / np.log(2)})
        rows.append(
            {
                "feature": "(intercept)",
                "level": "",
                "coefficient": self.intercept_ + self.offset_,
                "points": (self.intercept_ + self.offset_) * PDO / np.log(2),
            }
        )
        return pd.DataFrame(rows)

    def _state(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric_,
            "categorical": self.categorical_,
            "mean": self.mean_,
            "scale": self.scale_,
            "levels": self.levels_,
            "columns": self.column_names(),
            "coef": self.coef_,
            "intercept": self.intercept_,
            "offset": self.offset_,
            "column_means": self.column_means_,
        }

    def _write_files(self, path: Path) -> None:
        self.scorecard_table().to_csv(path / "scorecard.csv", index=False)

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        self.numeric_ = list(state["numeric"])
        self.categorical_ = list(state["categorical"])
        self.mean_ = [float(v) for v in state["mean"]]
        self.scale_ = [float(v) for v in state["scale"]]
        self.levels_ = {str(k): list(v) for k, v in state["levels"].items()}
        self.coef_ = [float(v) for v in state["coef"]]
        self.intercept_ = float(state["intercept"])
        self.offset_ = float(state["offset"])
        self.column_means_ = [float(v) for v in state["column_means"]]
