"""A model's own feature rows from its fitted spec: set-based (SQL), per (lead, snapshot), and for one lead.

The three paths hand a model exactly the values, vocabulary and dtypes it was trained on: numerics float64,
categoricals pandas strings with unseen values already mapped by the spec's policy (`other` by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from leadops.errors import FeatureError
from leadops.features.build import build_features
from leadops.features.online import online_vector
from leadops.settings.features import FeaturesSpec
from leadops.warehouse.connection import utcnow


def as_model_frame(frame: pd.DataFrame, spec: FeaturesSpec, columns: Sequence[str] | None) -> pd.DataFrame:
    """`columns` (default: every feature) in order, numerics as float64 and categoricals as pandas strings."""
    names = list(columns) if columns is not None else spec.names()
    cats = set(spec.categorical())
    out = pd.DataFrame(index=frame.index)
    for name in names:
        col = frame[name]
        out[name] = col.astype("str") if name in cats else pd.to_numeric(col, errors="coerce").astype("float64")
    return out


def feature_rows(
    spec: FeaturesSpec,
    warehouse: Any,
    lead_ids: Sequence[str],
    as_of: datetime,
    *,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows for `lead_ids` as of one time, indexed by lead_id in the given order (unknown leads: all missing)."""
    ids = [str(i) for i in lead_ids]
    table = build_features(spec, warehouse, as_of=as_of, lead_ids=ids, as_pandas=True)
    assert isinstance(table, pd.DataFrame)
    frame = table.set_index("lead_id").reindex(pd.Index(ids, name="lead_id"))
    return as_model_frame(frame, spec, columns)


def feature_rows_at(
    spec: FeaturesSpec,
    warehouse: Any,
    lead_ids: pd.Series,
    times: pd.Series,
    *,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows for (lead, snapshot) pairs in their order, with a RangeIndex; no times (flat exports): as of now."""
    ids = lead_ids.astype(str).reset_index(drop=True)
    when = pd.to_datetime(times.reset_index(drop=True))
    if len(ids) == 0:
        return as_model_frame(pd.DataFrame({n: pd.Series([], dtype="float64") for n in spec.names()}), spec, columns)
    if when.isna().all():
        rows = feature_rows(spec, warehouse, ids.drop_duplicates().tolist(), utcnow(), columns=columns)
        return rows.loc[ids.tolist()].reset_index(drop=True)
    if when.isna().any():
        raise FeatureError("feature_rows_at: some snapshot times are missing; expected a time for every row or none")
    stamps = when.dt.as_unit("us")
    population = pa.table(
        {"lead_id": pa.array(ids.tolist(), pa.string()), "as_of": pa.array(stamps.tolist(), pa.timestamp("us"))}
    )
    table = build_features(spec, warehouse, per_lead_as_of=population.group_by(["lead_id", "as_of"]).aggregate([]))
    assert isinstance(table, pa.Table)
    built = table.to_pandas()
    built["as_of"] = pd.to_datetime(built["as_of"]).dt.as_unit("us")
    keys = pd.DataFrame({"lead_id": ids, "as_of": stamps})
    frame = keys.merge(built, on=["lead_id", "as_of"], how="left", validate="many_to_one")
    return as_model_frame(frame, spec, columns)


def online_row(
    spec: FeaturesSpec,
    lead: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    activities: Sequence[Mapping[str, Any]],
    as_of: datetime,
    *,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One lead's row from its records (features.online), indexed by its lead_id, typed like the SQL rows."""
    vector = online_vector(spec, lead, account, activities, as_of)
    frame = pd.DataFrame([vector], index=pd.Index([str(lead.get("lead_id"))], name="lead_id"))
    return as_model_frame(frame, spec, columns)
