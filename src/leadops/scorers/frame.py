"""A few leads' features as plain numpy columns: what the scorers read when a DataFrame would cost more than the model.

Building a pandas frame of ~40 typed columns and reading it back a column at a time costs milliseconds; scoring
one lead costs microseconds. `SmallFrame` holds the same values as `bundle.rows.as_model_frame` (numerics as
float64 with NaN for missing, categoricals as an object array of str with None for missing) and answers the
few questions the scorers ask of a frame (`X[name]`, `len`, `columns`, `index`), so every scorer runs the same
code on it and gets the same numbers and words as on the DataFrame.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from leadops.errors import ScorerError

Column: TypeAlias = "pd.Series | np.ndarray"
Frame: TypeAlias = "pd.DataFrame | SmallFrame"


class SmallFrame:
    """Named numpy columns of equal length with an index: a read-only stand-in for a model's feature frame."""

    def __init__(self, columns: Mapping[str, np.ndarray], index: Sequence[Any], *, layout: Hashable = None) -> None:
        self._data = dict(columns)
        self.columns = list(self._data)
        self.index = list(index)
        self.memo: dict[Any, Any] = {}  # what scorers derive from these values once (their matrix): read-only data
        # which names are text columns (a frozenset), when the builder knows: frames with one layout share
        # their column dtypes, so what depends only on those is worked out once per layout
        self.layout = layout
        for name, col in self._data.items():
            if len(col) != len(self.index):
                raise ScorerError(f"SmallFrame: column {name!r} has {len(col)} values, expected {len(self.index)}")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._data[name]
        except KeyError:
            raise ScorerError(f"SmallFrame: no column {name!r}; expected one of {self.columns}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def select(self, names: Iterable[str]) -> SmallFrame:
        """The named columns, in that order (the scorer's fitted order)."""
        return SmallFrame({n: self[n] for n in names}, self.index, layout=self.layout)

    def to_pandas(self) -> pd.DataFrame:
        """The equivalent model frame (float64 numerics, pandas str categoricals), as as_model_frame builds it."""
        data = {
            n: pd.Series(c, dtype="float64" if c.dtype == np.float64 else "str", index=range(len(c)))
            for n, c in self._data.items()
        }
        out = pd.DataFrame(data)
        out.index = pd.Index(self.index, name="lead_id")
        return out

    def __repr__(self) -> str:
        return f"SmallFrame({len(self)} rows x {len(self.columns)} columns)"


def _missing(value: Any) -> bool:
    """Missing as pandas counts it in a feature row (None, NaN, pd.NA)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def numeric_column(values: Sequence[Any]) -> np.ndarray:
    """float64 column of feature values as `pd.to_numeric(errors="coerce").astype("float64")` reads them."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v is None:
            out[i] = np.nan
        elif isinstance(v, bool | int | float | np.bool_ | np.integer | np.floating):
            out[i] = float(v)
        else:  # text in a numeric feature: pandas' own parser decides, as on the DataFrame path
            out[i] = pd.to_numeric(pd.Series([v], dtype=object), errors="coerce").astype("float64").iloc[0]
    return out


def text_column(values: Sequence[Any]) -> np.ndarray:
    """Object column of str (None for missing) as `astype("str")` reads feature values."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = None if _missing(v) else v if isinstance(v, str) else str(v)
    return out


def small_frame(
    rows: Sequence[Mapping[str, Any]], index: Sequence[Any], names: Sequence[str], categorical: Iterable[str]
) -> SmallFrame:
    """A SmallFrame of feature rows (one mapping per lead), `names` in order, categoricals as text."""
    cats = set(categorical)
    cols = {}
    layout = categorical if isinstance(categorical, frozenset) else None
    if len(rows) == 1:  # one lead online: every column a one-value view of two arrays built at once
        return _one_row_frame(rows[0], index, names, cats, layout)
    for name in names:
        values = [r.get(name) for r in rows]
        cols[name] = text_column(values) if name in cats else numeric_column(values)
    return SmallFrame(cols, index, layout=layout)


_PLAIN_NUMBER = (bool, int, float)


def _one_row_frame(
    row: Mapping[str, Any], index: Sequence[Any], names: Sequence[str], cats: set[str], layout: Hashable
) -> SmallFrame:
    """small_frame of one feature row: the same values (numeric_column / text_column rules), fewer arrays."""
    numeric = [n for n in names if n not in cats]
    values = []
    for name in numeric:
        v = row.get(name)
        if v is None:
            values.append(np.nan)
        elif type(v) in _PLAIN_NUMBER or isinstance(v, np.bool_ | np.integer | np.floating):
            values.append(float(v))
        else:  # text in a numeric feature: the general rule (pandas' parser)
            values.append(float(numeric_column([v])[0]))
    numbers = np.array(values, dtype=np.float64)
    texts = text_column([row.get(n) for n in names if n in cats])
    at = {n: i for i, n in enumerate(numeric)}
    text_at = {n: i for i, n in enumerate(n for n in names if n in cats)}
    cols = {n: texts[text_at[n] : text_at[n] + 1] if n in cats else numbers[at[n] : at[n] + 1] for n in names}
    return SmallFrame(cols, index, layout=layout)


def take(col: Column, rows: np.ndarray) -> Column:
    """Positions `rows` of a column (a Series' iloc or an array's fancy index)."""
    return col[rows] if isinstance(col, np.ndarray) else col.iloc[rows]
