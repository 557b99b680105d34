"""The pure middle of the job: one chunk of features in, score rows out (same code on DuckDB and on Spark executors)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from leadops.jobs.errors import JobError
from leadops.jobs.model import ModelRef, ScorerLike

STAGE_SCHEMA = pa.schema(
    [
        ("lead_id", pa.string()),
        ("score", pa.float64()),
        ("probability", pa.float64()),
        ("grade", pa.string()),
        ("raw", pa.float64()),
        ("fit_score", pa.float64()),
        ("engagement_score", pa.float64()),
        ("reasons", pa.string()),
        ("reason_text", pa.string()),
    ]
)

SHADOW_SCHEMA = pa.schema(
    [
        ("lead_id", pa.string()),
        ("model_version", pa.int32()),
        ("score", pa.float64()),
        ("probability", pa.float64()),
        ("grade", pa.string()),
    ]
)


def _values(values: Any) -> np.ndarray:
    """A column's numpy values; a Series through to_numpy(), since numpy's attribute probe of a Series makes
    pandas hash a str index (every lead id of the chunk) to look for a column of that name."""
    return values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)


def _nullable(values: Any) -> pa.Array:
    """float64 with NaN as NULL (SQL compares NaN above every number; NULL is what 'unknown' means there)."""
    arr = _values(values)
    if arr.dtype.kind not in "fiub":
        arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    return pa.array(np.asarray(arr, dtype=np.float64), pa.float64(), from_pandas=True)


def _strings(values: Any) -> pa.Array:
    """Arrow string array from an array/Series of str (None/NaN -> NULL), converted in C, not per row."""
    # the values without their index: pyarrow's attribute probe of a Series makes pandas hash a str index
    column = pd.Series(values, copy=False).array
    arr = pa.array(column if hasattr(column, "__arrow_array__") else np.asarray(column), from_pandas=True)
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _ids(index: pd.Index) -> pa.Array:
    """Lead ids as Arrow strings: str() of every index value (a str index converts without a Python loop)."""
    if pd.api.types.infer_dtype(index, skipna=False) == "string":
        return _strings(index)
    return pa.array([str(i) for i in index], pa.string())


def model_matrix(ref: ModelRef, X: pd.DataFrame) -> pd.DataFrame:
    """The model's own columns, in its order (each model picks from the shared feature frame)."""
    return X if list(X.columns) == list(ref.feature_names) else X.loc[:, list(ref.feature_names)]


def components(model: ScorerLike, X: pd.DataFrame) -> tuple[pa.Array, pa.Array]:
    """fit_score and engagement_score columns from the scorer's own `component_scores` (NULL when it has none)."""
    n = len(X)
    parts = model.component_scores(X) if n else None
    if parts is None:
        return pa.nulls(n, pa.float64()), pa.nulls(n, pa.float64())
    return _nullable(parts["fit_score"]), _nullable(parts["engagement_score"])


def _number(value: Any, places: int) -> float | None:
    """A finite number rounded for the reasons JSON; None for missing or not finite."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), places)


def _json_reasons(reasons: Any) -> str:
    """Reasons of a model outside leadops as the job's JSON: feature, contribution, points (when given), text."""
    cleaned = []
    for r in reasons or []:
        item: dict[str, Any] = {"feature": str(r.get("feature")), "contribution": _number(r.get("contribution"), 6)}
        if "points" in r:
            item["points"] = _number(r.get("points"), 2)
        item["text"] = str(r.get("text", ""))
        cleaned.append(item)
    return json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)


def explain_rows(model: ScorerLike, ref: ModelRef, X: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """reasons (JSON text) and reason_text per lead, indexed like X (pass only the leads that need reasons).

    A leadops Scorer builds both columns column-wise (`explain_json`); any other model goes through its
    explain() frame of per-row dicts.
    """
    if len(X) == 0:
        return pd.DataFrame({"reasons": pd.Series([], dtype=object), "reason_text": pd.Series([], dtype=object)})
    fast = getattr(model, "explain_json", None)
    if callable(fast):
        out = fast(model_matrix(ref, X), top_n=top_n)
        return pd.DataFrame({"reasons": out["reasons"].array, "reason_text": out["reason_text"].array}, index=X.index)
    explained = model.explain(model_matrix(ref, X), top_n=top_n)
    return pd.DataFrame(
        {
            "reasons": [_json_reasons(r) for r in explained["reasons"]],
            "reason_text": [str(t) for t in explained["reason_text"]],
        },
        index=X.index,
    )


def score_chunk(
    model: ScorerLike, ref: ModelRef, X: pd.DataFrame, *, with_reasons: bool = False, top_n: int = 3
) -> pa.Table:
    """Champion score rows for one chunk of features (index = lead_id), packed column-wise into Arrow."""
    Xm = model_matrix(ref, X)
    scored = model.score(Xm) if len(Xm) else pd.DataFrame(columns=["score", "probability", "grade", "raw"])
    if len(scored) != len(Xm):
        raise JobError(f"model version {ref.version} returned {len(scored)} scores for {len(Xm)} leads")
    n = len(Xm)
    fit, eng = components(model, Xm)
    reasons: pa.Array = pa.nulls(n, pa.string())
    reason_text: pa.Array = pa.nulls(n, pa.string())
    if with_reasons and n:
        ex = explain_rows(model, ref, X, top_n)
        reasons, reason_text = _strings(ex["reasons"]), _strings(ex["reason_text"])
    columns = [
        _ids(Xm.index),
        pa.array(np.asarray(_values(scored["score"]), dtype=np.float64), pa.float64()),
        _nullable(scored["probability"]),
        _strings(scored["grade"]),
        _nullable(scored["raw"]),
        fit,
        eng,
        reasons,
        reason_text,
    ]
    return pa.Table.from_arrays(columns, schema=STAGE_SCHEMA)


def shadow_chunk(model: ScorerLike, ref: ModelRef, X: pd.DataFrame) -> pa.Table:
    """A challenger's scores for one chunk (stored for comparison, never routed)."""
    Xm = model_matrix(ref, X)
    scored = model.score(Xm) if len(Xm) else pd.DataFrame(columns=["score", "probability", "grade"])
    columns = [
        _ids(Xm.index),
        pa.repeat(pa.scalar(ref.version, pa.int32()), len(Xm)),
        pa.array(np.asarray(_values(scored["score"]), dtype=np.float64), pa.float64()),
        _nullable(scored["probability"]),
        _strings(scored["grade"]),
    ]
    return pa.Table.from_arrays(columns, schema=SHADOW_SCHEMA)


def with_run_id(table: pa.Table, run_id: str) -> pa.Table:
    """Prefix a run_id column (the warehouse tables' key)."""
    return table.add_column(0, "run_id", pa.repeat(pa.scalar(run_id, pa.string()), table.num_rows))
