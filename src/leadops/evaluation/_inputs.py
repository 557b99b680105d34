"""Input checks shared by every evaluation function: one place that turns arrays into clean float vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from leadops.evaluation.errors import EvaluationError, UndefinedMetricError

FloatArray = npt.NDArray[np.float64]
ArrayLike: TypeAlias = npt.ArrayLike | pd.Series | Sequence[Any]


def as_labels(y: ArrayLike, name: str = "y") -> FloatArray:
    """Return 0/1 labels as floats; refuse anything that is not binary, with the offending row named."""
    arr = _as_1d(y, name)
    if arr.dtype == bool:
        return arr.astype(np.float64)
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{name}: expected binary labels 0/1 or booleans, got dtype {arr.dtype}") from exc
    bad = ~np.isin(out, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise EvaluationError(
            f"{name}: expected binary labels 0/1 or booleans, got {arr[row]!r} at row {row} "
            f"({int(bad.sum())} non-binary values)"
        )
    return out


def as_scores(s: ArrayLike, name: str, n: int | None = None) -> FloatArray:
    """Return finite float scores of the expected length; name the first bad row otherwise."""
    arr = _as_1d(s, name)
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{name}: expected numeric scores, got dtype {arr.dtype}") from exc
    if n is not None and out.shape[0] != n:
        raise EvaluationError(f"{name}: expected {n} values (one per row of y), got {out.shape[0]}")
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise EvaluationError(
            f"{name}: expected finite numbers, got {arr[row]!r} at row {row} ({int(bad.sum())} non-finite values)"
        )
    return out


def as_probabilities(p: ArrayLike, name: str, n: int | None = None) -> FloatArray:
    """Return probabilities in [0, 1]; refuse values outside with the row named."""
    out = as_scores(p, name, n)
    bad = (out < 0.0) | (out > 1.0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise EvaluationError(f"{name}: expected probabilities in [0, 1], got {out[row]!r} at row {row}")
    return out


def require_both_classes(y: FloatArray, metric: str) -> tuple[int, int]:
    """Return (positives, negatives) or raise UndefinedMetricError when one class is missing."""
    pos = int(y.sum())
    neg = int(y.shape[0] - pos)
    if pos == 0 or neg == 0:
        raise UndefinedMetricError(
            f"{metric}: undefined when y holds a single class; expected at least one conversion and one "
            f"non-conversion, got {pos} positives and {neg} negatives"
        )
    return pos, neg


def require_nonempty(y: FloatArray, metric: str) -> None:
    """Raise when there are no rows at all."""
    if y.shape[0] == 0:
        raise EvaluationError(f"{metric}: expected at least one row, got an empty y")


def _as_1d(x: ArrayLike, name: str) -> npt.NDArray[Any]:
    """Flatten a Series/list/array into one dimension, refusing 2-D input."""
    arr = x.to_numpy() if isinstance(x, pd.Series | pd.Index) else np.asarray(x)
    if arr.ndim != 1:
        raise EvaluationError(f"{name}: expected a one-dimensional array, got shape {arr.shape}")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise EvaluationError(f"{name}: expected numbers, got values such as {arr[:3].tolist()!r}") from exc
    return arr
