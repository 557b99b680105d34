"""Tonight's feature frames: leadops.features behind one small protocol, so tests and engines can swap it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from leadops.jobs.errors import JobError


class FeatureSource(Protocol):
    """Builds point-in-time features for some leads as of T: a frame indexed by lead_id, one column per feature."""

    def build(self, as_of: datetime, lead_ids: Sequence[str]) -> pd.DataFrame: ...


def as_feature_frame(data: Any) -> pd.DataFrame:
    """Arrow table or DataFrame with a lead_id column (or index) -> DataFrame indexed by lead_id (str)."""
    frame = data if isinstance(data, pd.DataFrame) else data.to_pandas()
    if "lead_id" in frame.columns:
        frame = frame.set_index("lead_id")
    elif frame.index.name != "lead_id":
        raise JobError(f"feature frame: expected a 'lead_id' column, got columns {list(frame.columns)[:10]}")
    frame.index = frame.index.astype(str)
    frame.index.name = "lead_id"
    return frame


class WarehouseFeatures:
    """The real source: leadops.features.build_features over the warehouse's canonical tables."""

    def __init__(self, settings: Any, warehouse: Any) -> None:
        try:
            from leadops.features.build import build_features
        except ImportError as exc:
            raise JobError(f"the feature store (leadops.features) is not available: {exc}") from exc
        self._build = build_features
        self.settings = settings
        self.warehouse = warehouse

    def build(self, as_of: datetime, lead_ids: Sequence[str]) -> pd.DataFrame:
        data = self._build(self.settings, self.warehouse, as_of=as_of, lead_ids=list(lead_ids))
        frame = as_feature_frame(data)
        return frame.reindex(pd.Index(list(lead_ids), name="lead_id"))
