"""ICP fit: how closely a lead and its account match the ideal customer profile (configured or learned)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import ScorerError
from leadops.scorers.base import Scorer
from leadops.scorers.conditions import as_float, as_text, matches_any
from leadops.scorers.encoding import MISSING, is_numeric_column, quantile_edges
from leadops.scorers.frame import Column, Frame
from leadops.scorers.reasons import ReasonMatrix, concat
from leadops.settings.models import ICPAttribute, ICPFitSpec


def _logit(p: np.ndarray | float) -> Any:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


class ICPFitScorer(Scorer):
    """Configured: 100 * matched weight / total weight. Learned: smoothed weight of evidence per bucket."""

    scorer_type = "icp_fit"
    spec: ICPFitSpec

    @property
    def learns_from_labels(self) -> bool:  # type: ignore[override]
        return self.spec.learn

    # ---------------------------------------------------------------- configured profile

    def _match(self, X: Frame, a: ICPAttribute) -> np.ndarray:
        s = X[a.feature]
        if a.range is not None:
            x = as_float(s)
            m = np.isfinite(x)
            with np.errstate(invalid="ignore"):
                if a.range.min is not None:
                    m &= x >= a.range.min
                if a.range.max is not None:
                    m &= x <= a.range.max
            return m.astype(float)
        if isinstance(a.values, dict):
            credit = {str(k): float(v) for k, v in a.values.items()}
            return np.array([0.0 if v is None else credit.get(v, 0.0) for v in as_text(s)])
        assert a.values is not None
        return matches_any(s, list(a.values)).astype(float)

    # ---------------------------------------------------------------- learned profile

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        attrs = self.spec.attributes
        if not self.spec.learn:
            self._require_features(X, [a.feature for a in attrs], "the profile's attributes")
            self.tables_: dict[str, dict[str, Any]] = {}
            return
        assert y is not None
        feats = [a.feature for a in attrs] if attrs else [str(c) for c in X.columns]
        self._require_features(X, feats, "the learned attributes")
        prior = float(y.mean())
        if prior in (0.0, 1.0):
            raise ScorerError("icp_fit learn: expected both converted and non-converted leads in y, got one class")
        m = self.spec.smoothing
        tables: dict[str, dict[str, Any]] = {}
        for f in feats:
            s = X[f]
            if is_numeric_column(s) and s.nunique(dropna=True) > self.spec.bins:
                edges = quantile_edges(as_float(s), self.spec.bins)
                keys = self._bucket_keys(s, {"kind": "numeric", "edges": edges})
            else:
                edges = []
                keys = self._bucket_keys(s, {"kind": "categorical"})
            frame = pd.DataFrame({"k": keys, "y": y}).groupby("k")["y"].agg(["sum", "count"])
            rate = (frame["sum"] + m * prior) / (frame["count"] + m)
            woe = _logit(rate.to_numpy()) - _logit(prior)
            tables[f] = {
                "kind": "numeric" if edges else "categorical",
                "edges": edges,
                "woe": {str(k): float(w) for k, w in zip(frame.index, woe, strict=True)},
                "lift": {str(k): float(r / prior) for k, r in zip(frame.index, rate, strict=True)},
            }
        self.tables_ = tables
        self.prior_ = prior

    @staticmethod
    def _bucket_keys(s: Column, table: dict[str, Any]) -> np.ndarray:
        if table["kind"] == "numeric":
            x = as_float(s)
            idx = np.searchsorted(np.asarray(table["edges"], dtype=float), x, side="right")
            return np.where(np.isnan(x), MISSING, idx.astype(str)).astype(object)
        return np.array([MISSING if v is None else v for v in as_text(s)], dtype=object)

    def _weights(self) -> dict[str, float]:
        return {a.feature: a.weight for a in self.spec.attributes}

    def _learned_parts(self, X: Frame) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
        w = self._weights()
        feats = list(self.tables_)
        parts = np.zeros((len(X), len(feats)))
        keys_all = []
        for j, f in enumerate(feats):
            t = self.tables_[f]
            keys = self._bucket_keys(X[f], t)
            keys_all.append(keys)
            parts[:, j] = w.get(f, 1.0) * np.array([t["woe"].get(k, 0.0) for k in keys])
        return parts, feats, keys_all

    def _range(self) -> tuple[float, float]:
        w = self._weights()
        lo = sum(w.get(f, 1.0) * min(0.0, *t["woe"].values()) for f, t in self.tables_.items())
        hi = sum(w.get(f, 1.0) * max(0.0, *t["woe"].values()) for f, t in self.tables_.items())
        return lo, hi if hi > lo else lo + 1.0

    # ---------------------------------------------------------------- protocol hooks

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        if self.spec.learn:
            return self._learned_parts(X)[0].sum(axis=1), None
        total = sum(a.weight for a in self.spec.attributes)
        matched = np.zeros(len(X))
        for a in self.spec.attributes:
            matched += a.weight * self._match(X, a)
        return matched / total * 100.0, None

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        if not self.spec.learn:
            return raw
        lo, hi = self._range()
        return (raw - lo) / (hi - lo) * 100.0

    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        """Contributions already on the 0..100 score (the score is linear in them); unknown values never count."""
        book = self.phrasebook()
        if self.spec.learn:
            parts, feats, keys = self._learned_parts(X)
            lo, hi = self._range()
            contrib = parts * 100.0 / (hi - lo)

            def learned_text(j: int, rows: np.ndarray, c: np.ndarray) -> np.ndarray:
                f = feats[j]
                codes, uniques = pd.factorize(keys[j][rows])
                lifts = self.tables_[f]["lift"]
                hows = [
                    f" (converts {lifts[k]:.1f}x the average)"
                    if lifts.get(k) is not None
                    else " (not seen in training)"
                    for k in uniques
                ]
                return concat(book.texts(f, X, rows), np.asarray(hows, dtype=object)[codes])

            points = np.where(self._usable(X, feats, book), contrib, 0.0)
            return ReasonMatrix(contrib, feats, learned_text, points=points)
        attrs = self.spec.attributes
        feats = [a.feature for a in attrs]
        total = sum(a.weight for a in attrs)
        contrib = np.zeros((len(X), len(attrs)))
        for j, a in enumerate(attrs):
            m = self._match(X, a)
            share = a.weight / total * 100.0
            contrib[:, j] = np.where(m > 0, share * m, -share)

        def text(j: int, rows: np.ndarray, c: np.ndarray) -> np.ndarray:
            verdict = np.where(c > 0, " (fits the ideal customer profile)", " (outside the ideal customer profile)")
            return concat(book.texts(feats[j], X, rows), verdict.astype(object))

        points = np.where(self._usable(X, feats, book), contrib, 0.0)
        return ReasonMatrix(contrib, feats, text, points=points)

    def _state(self) -> dict[str, Any]:
        if not self.spec.learn:
            return {}
        return {"prior": self.prior_, "tables": self.tables_}

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        self.tables_ = state.get("tables", {})
        if self.spec.learn:
            self.prior_ = float(state["prior"])
