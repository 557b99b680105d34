"""How much of tonight's categorical data the champion has never seen: shares mapped to `other` or missing.

A model's vocabulary is fixed at training; when a CRM starts sending new values (a renamed lead source, a new
region) they all become `other`. The job counts them per column and warns when the share is large and well
above what the model saw in training, so nobody trusts a score built on values the model cannot tell apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leadops.settings.features import OTHER

WARN_SHARE = 0.25  # tonight's other+missing share at or above which a column is reported ...
WARN_EXCESS = 0.10  # ... when it is also this far above the training share


@dataclass
class CoverageTally:
    """Running counts of `other` and missing values per categorical column over the chunks of a run."""

    columns: list[str]
    rows: int = 0
    other: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)

    def add(self, X: pd.DataFrame) -> None:
        """Count one chunk of the champion's feature rows."""
        self.rows += len(X)
        for name in self.columns:
            if name not in X:
                continue
            values = X[name]
            self.other[name] = self.other.get(name, 0) + int(np.sum(values.to_numpy(dtype=object) == OTHER))
            self.missing[name] = self.missing.get(name, 0) + int(values.isna().sum())

    def shares(self) -> dict[str, float]:
        """Column -> tonight's share of rows that are `other` or missing."""
        if not self.rows:
            return {}
        return {n: (self.other.get(n, 0) + self.missing.get(n, 0)) / self.rows for n in self.columns}

    def warnings(self, summaries: dict[str, Any], version: int) -> list[str]:
        """One line per column whose unseen/missing share is large and above its training share."""
        from leadops.bundle.summaries import unseen_share

        out = []
        for name, share in self.shares().items():
            trained = unseen_share(summaries, name) or 0.0
            if share >= WARN_SHARE and share - trained >= WARN_EXCESS:
                other = self.other.get(name, 0) / self.rows
                missing = self.missing.get(name, 0) / self.rows
                out.append(
                    f"feature '{name}': {share:.0%} of tonight's leads reach model v{version} as '{OTHER}' "
                    f"({other:.0%}, values outside its vocabulary) or missing ({missing:.0%}); in training "
                    f"{trained:.0%} were"
                )
        return out
