"""Set-up the engine parity tests share (Spark and PostgreSQL beside DuckDB): the property-filtered features
every engine must compute alike, and the canonical tables written out as a lake of Parquet files."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadops.settings.features import FeaturesSpec
from leadops.warehouse import Warehouse

CANONICAL = ("leads", "accounts", "activities", "outcomes")

PROPERTY_FEATURES: list[dict[str, Any]] = [
    {"name": "connected_calls_{days}d", "label": "connected calls", "kind": "activity", "types": ["email_open"],
     "agg": "count", "windows": [30, 365], "where": {"property": "outcome", "equals": "Connected"}},
    {"name": "pricing_pages", "label": "pricing pages", "kind": "activity", "types": ["page_view"],
     "agg": "count", "where": {"property": "page", "contains": "/pricing"}},
    {"name": "answered", "label": "answered", "kind": "activity", "types": ["email_open"], "agg": "exists",
     "where": {"property": "outcome", "in": ["Connected", "Left Voicemail"]}},
]  # fmt: skip


def with_property_features(body: Mapping[str, Any]) -> FeaturesSpec:
    """A features spec body with PROPERTY_FEATURES added: every kind of feature, property filters included."""
    spec = copy.deepcopy(dict(body))
    spec["definitions"] = [*spec["definitions"], *PROPERTY_FEATURES]
    return FeaturesSpec.model_validate(spec)


def write_lake(warehouse: Warehouse, root: Path) -> dict[str, str]:
    """Every canonical table of `warehouse` as one Parquet file under `root` (what a lake holds): table -> path."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table in CANONICAL:
        paths[table] = str(root / f"{table}.parquet")
        warehouse.copy_to(f"SELECT * FROM {table}", Path(paths[table]), "parquet")
    return paths
