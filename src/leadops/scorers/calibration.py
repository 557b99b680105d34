"""Calibration of a scorer's raw value: Platt (a, b) or isotonic breakpoints, saved as plain JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leadops.errors import ScorerError


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def fit_platt(raw: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10) -> tuple[float, float]:
    """Unpenalised logistic fit p = sigmoid(a * raw + b) by Newton's method (maximum likelihood)."""
    x = np.asarray(raw, dtype=float)
    t = np.asarray(y, dtype=float)
    mu, sd = float(x.mean()), float(x.std()) or 1.0
    z = (x - mu) / sd
    prior = np.clip(t.mean(), 1e-6, 1 - 1e-6)
    a, b = 0.0, float(np.log(prior / (1 - prior)))
    for _ in range(max_iter):
        p = _sigmoid(a * z + b)
        w = np.maximum(p * (1 - p), 1e-12)
        g = np.array([np.dot(z, p - t), np.sum(p - t)])
        h = np.array([[np.dot(w * z, z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - float(step[0]), b - float(step[1])
        if np.max(np.abs(step)) < tol:
            break
    return a / sd, b - a * mu / sd


@dataclass
class Calibrator:
    """A fitted map raw -> probability; `platt` keeps (a, b), `isotonic` keeps breakpoints for np.interp."""

    method: str
    a: float = 0.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    p: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, method: str, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Fit the chosen method on (raw, y) pairs, e.g. the validation split or out-of-fold raw values."""
        raw = np.asarray(raw, dtype=float)
        y = np.asarray(y, dtype=float)
        if raw.shape != y.shape or raw.size == 0:
            raise ScorerError(f"calibration: expected equal non-empty raw and y, got {raw.shape} and {y.shape}")
        if len(np.unique(y)) < 2:
            raise ScorerError("calibration: expected both classes in the calibration labels, got one")
        if method == "platt":
            a, b = fit_platt(raw, y)
            return cls("platt", a=a, b=b)
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
            return cls("isotonic", x=[float(v) for v in iso.X_thresholds_], p=[float(v) for v in iso.y_thresholds_])
        raise ScorerError(f"calibration.method: expected 'platt' or 'isotonic', got {method!r}")

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability for each raw value."""
        r = np.asarray(raw, dtype=float)
        if self.method == "platt":
            return _sigmoid(self.a * r + self.b)
        return np.interp(r, np.asarray(self.x), np.asarray(self.p))

    def to_dict(self) -> dict[str, Any]:
        if self.method == "platt":
            return {"method": "platt", "a": self.a, "b": self.b}
        return {"method": "isotonic", "x": self.x, "p": self.p}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        if data.get("method") == "platt":
            return cls("platt", a=float(data["a"]), b=float(data["b"]))
        if data.get("method") == "isotonic":
            return cls("isotonic", x=[float(v) for v in data["x"]], p=[float(v) for v in data["p"]])
        raise ScorerError(f"calibration.json: expected method 'platt' or 'isotonic', got {data.get('method')!r}")


def stratified_folds(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold id per row, each class spread evenly over the k folds (for cross-fitted calibration)."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=int)
    for cls_value in np.unique(y):
        idx = np.flatnonzero(y == cls_value)
        rng.shuffle(idx)
        folds[idx] = np.arange(len(idx)) % k
    return folds
