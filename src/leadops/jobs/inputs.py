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


class BundleFeatures:
    """One model's features computed from its own bundle's fitted spec, never from today's leadops.yaml."""

    def __init__(self, spec: Any, warehouse: Any, *, spec_hash: str = "") -> None:
        self.spec = spec
        self.spec_hash = spec_hash
        self.warehouse = warehouse

    def build(self, as_of: datetime, lead_ids: Sequence[str]) -> pd.DataFrame:
        from leadops.bundle.rows import feature_rows

        return feature_rows(self.spec, self.warehouse, list(lead_ids), as_of)


def bundle_sources(
    refs: Sequence[Any], warehouse: Any
) -> tuple[dict[int, FeatureSource], dict[int, Any], dict[int, str]]:
    """Each model's feature source from its own bundle (shared when fitted specs are equal), its fitted
    features (spec + training summaries) and, per version, why it has none (a bare artifact, a bad file)."""
    from leadops.bundle import load_fitted_features
    from leadops.errors import LeadOpsError

    sources: dict[int, FeatureSource] = {}
    fitted: dict[int, Any] = {}
    problems: dict[int, str] = {}
    by_hash: dict[str, BundleFeatures] = {}
    for ref in refs:
        try:
            found = load_fitted_features(ref.path, verify=False)  # the registry verified the directory
        except LeadOpsError as exc:
            problems[ref.version] = f"model version {ref.version} ({ref.role}): {exc.message}"
            continue
        source = by_hash.setdefault(found.spec_hash, BundleFeatures(found.spec, warehouse, spec_hash=found.spec_hash))
        sources[ref.version] = source
        fitted[ref.version] = found
    return sources, fitted, problems
