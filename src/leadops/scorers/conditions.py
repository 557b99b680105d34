"""Vectorised rule conditions (equals / in / ranges / is_true) over one pandas column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from leadops.scorers.frame import Column
from leadops.settings.models import Condition

_TRUE = {"true", "1", "yes", "y", "t", "1.0"}
_FALSE = {"false", "0", "no", "n", "f", "0.0"}


def as_float(s: Column) -> np.ndarray:
    """Numeric view of a column (bools as 0/1, unparseable and missing as NaN)."""
    if isinstance(s, np.ndarray):
        if s.dtype == np.float64:
            return s
        if s.dtype.kind in "biuf":
            return s.astype(np.float64)
        s = pd.Series(s, dtype=object)  # text used as a number: pandas' parser decides, as on a DataFrame
    if s.dtype == np.float64:
        return s.to_numpy()  # already float64 with NaN for missing: no conversion, no copy
    if is_bool_dtype(s.dtype):
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def as_text(s: Column) -> np.ndarray:
    """String view of a column with None for missing values (for categorical comparisons)."""
    if isinstance(s, np.ndarray) and s.dtype == object:  # a SmallFrame column: str, or None for missing
        out = np.empty(len(s), dtype=object)
        out[:] = [None if _absent(v) else v if type(v) is str else str(v) for v in s.tolist()]
        return out
    values = s.astype(object) if isinstance(s, np.ndarray) else s.to_numpy(dtype=object)
    missing = np.asarray(pd.isna(values), dtype=bool)
    out = np.array([None if m else str(v) for v, m in zip(values, missing, strict=True)], dtype=object)
    return out


def _absent(value: object) -> bool:
    """Missing as pandas.isna counts a scalar (None, NaN, pd.NA, NaT)."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def truthy(s: Column) -> tuple[np.ndarray, np.ndarray]:
    """(is true, is false) masks; missing or unrecognised values are neither."""
    if is_bool_dtype(s.dtype) or is_numeric_dtype(s.dtype):
        f = as_float(s)
        return (f != 0) & ~np.isnan(f), f == 0
    low = np.array([None if v is None else v.strip().lower() for v in as_text(s)], dtype=object)
    return np.isin(low, list(_TRUE)), np.isin(low, list(_FALSE))


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def matches_any(s: Column, values: Sequence[object]) -> np.ndarray:
    """Rows whose value is one of `values` (compared as numbers when the column is numeric)."""
    if is_numeric_dtype(s.dtype) and not is_bool_dtype(s.dtype) and all(_is_number(v) for v in values):
        return np.isin(as_float(s), [float(v) for v in values])  # type: ignore[arg-type]
    if is_bool_dtype(s.dtype) and all(isinstance(v, bool) for v in values):
        t, f = truthy(s)
        return (t & (True in values)) | (f & (False in values))
    wanted = {str(v) for v in values}
    return np.array([v is not None and v in wanted for v in as_text(s)], dtype=bool)


def condition_mask(s: Column, cond: Condition) -> np.ndarray:
    """Rows of `s` satisfying every key of `cond` (missing values satisfy none)."""
    mask = np.ones(len(s), dtype=bool)
    if cond.equals is not None:
        mask &= matches_any(s, [cond.equals])
    if cond.in_ is not None:
        mask &= matches_any(s, cond.in_)
    if any(v is not None for v in (cond.gte, cond.gt, cond.lte, cond.lt, cond.between)):
        x = as_float(s)
        with np.errstate(invalid="ignore"):
            if cond.gte is not None:
                mask &= x >= cond.gte
            if cond.gt is not None:
                mask &= x > cond.gt
            if cond.lte is not None:
                mask &= x <= cond.lte
            if cond.lt is not None:
                mask &= x < cond.lt
            if cond.between is not None:
                mask &= (x >= cond.between[0]) & (x <= cond.between[1])
    if cond.is_true is not None:
        t, f = truthy(s)
        mask &= t if cond.is_true else f
    return mask
