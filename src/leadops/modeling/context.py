"""What a model is measured on: the training set's test rows, their groups, the oracle, the business yardstick."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.config import Settings
from leadops.features.training import TrainingSet, build_training_set
from leadops.warehouse import Warehouse

TRUTH_FILE = Path("ground_truth") / "leads_truth.parquet"
SIZE_BANDS = [(0, 50, "1-49"), (50, 200, "50-199"), (200, 1000, "200-999"), (1000, 5000, "1000-4999")]


@dataclass
class ModelContext:
    """Everything built once per command and shared by the candidate and the champion."""

    settings: Settings
    training: TrainingSet
    groups: pd.DataFrame
    oracle: np.ndarray | None
    capacity_k: int
    warehouse: Warehouse | None = None


def load_truth(settings: Settings) -> pd.DataFrame | None:
    """The simulator's ground truth when the workspace holds one (only evaluation ever reads it)."""
    path = settings.path(TRUTH_FILE)
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    columns = [c for c in ("lead_id", "p_convert", "observable_logit") if c in pq.read_schema(path).names]
    return pq.read_table(path, columns=columns).to_pandas()


def size_band(employees: pd.Series) -> pd.Series:
    """Company size as the bands Sales talks about."""
    values = pd.to_numeric(employees, errors="coerce")
    out = pd.Series("unknown", index=values.index, dtype="object")
    out[values >= SIZE_BANDS[-1][1]] = f"{SIZE_BANDS[-1][1]}+"
    for low, high, label in SIZE_BANDS:
        out[(values >= low) & (values < high)] = label
    return out


def group_columns(warehouse: Warehouse, ids: pd.Series, wanted: list[str]) -> pd.DataFrame:
    """Group attributes of the given leads (lead and account columns, or keys of a flat export's attributes)."""
    frame = pd.DataFrame({"lead_id": ids.astype(str).to_numpy()})
    if frame.empty or not wanted:
        return frame.drop(columns="lead_id")
    lead_cols = set(warehouse.columns("leads"))
    account_cols = set(warehouse.columns("accounts"))
    stage = frame.drop_duplicates()
    warehouse_df = _lookup(warehouse, stage)
    out = frame.merge(warehouse_df, on="lead_id", how="left")
    result = pd.DataFrame(index=frame.index)
    attrs = out["attributes"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    for column in wanted:
        if column == "company_size" and "employees" in out:
            result[column] = size_band(out["employees"])
        elif column in lead_cols and column not in ("attributes",) and column in out:
            result[column] = out[column].astype("object").fillna("unknown")
        elif column in account_cols and f"account_{column}" in out:
            result[column] = out[f"account_{column}"].astype("object").fillna("unknown")
        else:
            values = attrs.map(lambda a, c=column: a.get(c))
            if values.notna().any():
                result[column] = values.astype("object").fillna("unknown").astype(str)
    return result


def _lookup(warehouse: Warehouse, stage: pd.DataFrame) -> pd.DataFrame:
    lead_sql = "SELECT l.lead_id, l.lead_source, l.region, l.country, l.job_level, l.department, l.attributes, "
    account_sql = "a.industry AS account_industry, a.region AS account_region, a.employees"
    sql = f"{lead_sql}{account_sql} FROM leads l LEFT JOIN accounts a ON a.account_id = l.account_id"
    import pyarrow as pa

    ids = pa.table({"lead_id": pa.array(stage["lead_id"].astype(str).tolist(), pa.string())})
    with warehouse.staged(ids) as view:
        return warehouse.df(f"{sql} JOIN {view} g ON g.lead_id = l.lead_id")


def build_context(settings: Settings, warehouse: Warehouse) -> ModelContext:
    """Cut the training set once, with test-row groups, the oracle and the capacity K."""
    truth = load_truth(settings)
    training = build_training_set(
        settings.features, settings.training, warehouse, truth=truth, sources=settings.sources
    )
    groups = group_columns(warehouse, training.ids["test"], settings.evaluation.group_columns)
    oracle = None
    if training.truth is not None and "p_convert" in training.truth["test"]:
        values = training.truth["test"]["p_convert"].to_numpy(dtype=float)
        oracle = None if np.isnan(values).any() else values
    return ModelContext(settings, training, groups, oracle, capacity_for(settings, training), warehouse)


def capacity_for(settings: Settings, training: TrainingSet) -> int:
    """Sales capacity over the test period: K a day times the test span's business days (or a share of rows)."""
    from leadops.evaluation.thresholds import capacity_k

    times = training.times["test"] if training.point_in_time else None
    return capacity_k(settings.business, len(training.y_test), times)


def describe(result: Any) -> dict[str, Any]:
    """JSON-able summary of a training set (sizes, digest, leakage, warnings)."""
    summary: dict[str, Any] = result.summary()
    return summary
