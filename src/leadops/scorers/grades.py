"""Grade cut-offs: fixed thresholds from config or thresholds learned from score quantiles (top 10% A ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import ScorerError
from leadops.settings.models import GradesSpec


@dataclass(frozen=True)
class GradeScale:
    """Ordered (grade, minimum value) pairs, best first; values below every threshold get `otherwise`."""

    thresholds: tuple[tuple[str, float], ...]
    otherwise: str
    basis: str = "score"

    @classmethod
    def fit(cls, spec: GradesSpec, values: np.ndarray) -> GradeScale:
        """Fixed cut-offs as given, or top fractions turned into thresholds on the fitted `values`."""
        if spec.cutoffs is not None:
            return cls(tuple((g, float(v)) for g, v in spec.cutoffs.items()), spec.otherwise, spec.basis)
        assert spec.top is not None
        finite = np.asarray(values, dtype=float)
        finite = finite[np.isfinite(finite)]
        if finite.size == 0:
            raise ScorerError("grades.top: expected fitted scores to learn quantile cut-offs from, got none")
        pairs = tuple((g, float(np.quantile(finite, 1.0 - frac))) for g, frac in spec.top.items())
        return cls(pairs, spec.otherwise, spec.basis)

    def codes(self, values: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(index of every value's grade in the labels, the labels worst first); NaN gets the lowest grade."""
        v = np.asarray(values, dtype=float)
        worst_first = list(reversed(self.thresholds))
        labels = [self.otherwise, *(g for g, _ in worst_first)]
        # how many thresholds each value reaches = the index of its grade (the best whose threshold it meets)
        reached = np.searchsorted(np.array([t for _, t in worst_first], dtype=float), v, side="right")
        reached[np.isnan(v)] = 0
        return reached, labels

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Grade of every value (NaN gets the lowest grade)."""
        reached, labels = self.codes(values)
        return np.array(labels, dtype=object)[reached]

    def assign_column(self, values: np.ndarray) -> Any:
        """assign() as pandas' text column (what a DataFrame makes of it), built by one Arrow take of the few
        labels instead of converting one Python str per lead (~15x faster at 200k leads)."""
        reached, labels = self.codes(values)
        dtype = pd.StringDtype(na_value=np.nan) if pd.get_option("future.infer_string") else None
        if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
            return pd.array(np.array(labels, dtype=object)[reached], dtype=object)
        import pyarrow as pa

        taken = pa.array(labels, pa.large_string()).take(pa.array(reached, pa.int64()))
        return pd.arrays.ArrowStringArray(taken, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": [[g, t] for g, t in self.thresholds],
            "otherwise": self.otherwise,
            "basis": self.basis,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeScale:
        return cls(
            tuple((str(g), float(t)) for g, t in data["thresholds"]),
            str(data["otherwise"]),
            str(data["basis"]),
        )
