"""Set-based feature builds: the generated SQL run in the warehouse; `leadops features build` stores the result.

Storage: table `feature_snapshots` (lead_id, as_of, spec_digest, one column per feature), keyed by
(lead_id, as_of); rebuilding at the same as_of replaces those rows. When the feature columns change, the old
table is kept as `feature_snapshots_<old digest>` and a fresh one starts. Table `feature_builds` is the ledger
(one row per build) and view `features_latest` holds the rows of the most recent build for analysts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadops.errors import FeatureError, WarehouseError
from leadops.features.sql import feature_sql, ts_literal
from leadops.hashing import feature_spec_hash
from leadops.settings.features import AttributeFeature, FeaturesSpec
from leadops.warehouse.connection import Warehouse, utcnow

SNAPSHOT_TABLE = "feature_snapshots"
BUILDS_TABLE = "feature_builds"
LATEST_VIEW = "features_latest"


def output_schema(spec: FeaturesSpec, *, per_lead: bool) -> pa.Schema:
    """The stable schema of a feature table: lead_id, [as_of], numerics float64, categoricals string."""
    cats = set(spec.categorical())
    fields = [pa.field("lead_id", pa.string())]
    if per_lead:
        fields.append(pa.field("as_of", pa.timestamp("us")))
    fields += [pa.field(n, pa.string() if n in cats else pa.float64()) for n in spec.names()]
    return pa.schema(fields)


def _population_frame(data: Any, per_lead: bool) -> pa.Table:
    if isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif isinstance(data, pa.Table):
        table = data
    else:
        table = pa.table({"lead_id": pa.array([str(x) for x in data], pa.string())})
    need = ["lead_id", "as_of"] if per_lead else ["lead_id"]
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise FeatureError(f"population is missing columns {missing} (it has {table.column_names})")
    cols = {"lead_id": pc.cast(table["lead_id"], pa.string())}
    if per_lead:
        as_of = table["as_of"]
        if pa.types.is_timestamp(as_of.type) and as_of.type.tz is not None:
            as_of = pc.cast(pc.local_timestamp(as_of), pa.timestamp("us"))
        cols["as_of"] = pc.cast(as_of, pa.timestamp("us"))
    return pa.table(cols)


def build_features(
    spec: FeaturesSpec,
    warehouse: Warehouse,
    *,
    as_of: datetime | None = None,
    lead_ids: Iterable[str] | pa.Table | pd.DataFrame | None = None,
    per_lead_as_of: pa.Table | pd.DataFrame | None = None,
    as_pandas: bool = False,
) -> pa.Table | pd.DataFrame:
    """Every feature of every lead (created by `as_of`), or of `lead_ids`, or of each (lead_id, as_of) row.

    Returns lead_id [+ as_of when per_lead_as_of is given] + one column per feature, sorted by lead_id.
    """
    per_lead = per_lead_as_of is not None
    if per_lead and (as_of is not None or lead_ids is not None):
        raise FeatureError("give per_lead_as_of alone, not together with as_of or lead_ids")
    d = warehouse.sql
    with contextlib.ExitStack() as stack:
        if per_lead:
            population = stack.enter_context(warehouse.staged(_population_frame(per_lead_as_of, True)))
            when = None
        else:
            when = as_of or utcnow()
            cutoff = f"(l.created_at IS NULL OR l.created_at <= {ts_literal(when)})"
            if lead_ids is not None:
                ids = stack.enter_context(warehouse.staged(_population_frame(lead_ids, False)))
                join = d.semi_join(ids, "i", "i.lead_id = l.lead_id")
                population = f"(SELECT l.lead_id FROM leads l {join} WHERE {cutoff})"
            else:
                population = f"(SELECT l.lead_id FROM leads l WHERE {cutoff})"
        sql = feature_sql(
            spec,
            population=population,
            as_of=when,
            per_lead=per_lead,
            restrict_activities=per_lead or lead_ids is not None,
            dialect=d,
        )
        schema = output_schema(spec, per_lead=per_lead)
        try:
            if d.big_query_settings:
                stack.enter_context(warehouse.transaction())
                for setting in d.big_query_settings:
                    warehouse.execute(setting)
            table = warehouse.arrow_typed(sql, schema)
        except WarehouseError as exc:
            raise FeatureError(f"feature query failed: {exc.message}".strip()) from exc
    _check_unseen(spec, table)
    return table.to_pandas() if as_pandas else table


def _check_unseen(spec: FeaturesSpec, table: pa.Table) -> None:
    """Raise for a category outside a known vocabulary when the feature's policy is `error`."""
    for f in spec.of_kind(AttributeFeature):
        if f.type != "categorical" or f.categories is None or spec.policy(f) != "error":
            continue
        column = table[f.name]
        bad = pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, pa.array(f.categories, pa.string()))))
        hits = pc.indices_nonzero(bad)
        if len(hits):
            i = hits[0].as_py()
            raise FeatureError(
                f"feature '{f.name}': lead {table['lead_id'][i].as_py()!r} has category "
                f"{column[i].as_py()!r}, not one of the known {f.categories[:10]} (unseen: error; "
                f"{len(hits)} rows in all)"
            )


def build_and_store(spec: FeaturesSpec, warehouse: Warehouse, as_of: datetime | None = None) -> dict[str, Any]:
    """Build every lead's features as of `as_of` (default now) and store them in `feature_snapshots`."""
    started = time.perf_counter()
    when = as_of or utcnow()
    table = build_features(spec, warehouse, as_of=when)
    assert isinstance(table, pa.Table)
    digest = feature_spec_hash(spec)[:16]
    stored = table.add_column(1, "as_of", pa.array([when] * table.num_rows, pa.timestamp("us")))
    stored = stored.add_column(2, "spec_digest", pa.array([digest] * table.num_rows, pa.string()))
    d = warehouse.sql
    with warehouse.writer("features build"), warehouse.transaction():
        _prepare_table(warehouse, stored.schema, digest)
        warehouse.execute(f"DELETE FROM {SNAPSHOT_TABLE} WHERE as_of = {ts_literal(when)}")
        warehouse.insert(SNAPSHOT_TABLE, stored)
        seconds = time.perf_counter() - started
        warehouse.execute(
            f"CREATE TABLE IF NOT EXISTS {BUILDS_TABLE} (built_at TIMESTAMP, as_of TIMESTAMP, "
            "spec_digest VARCHAR, "
            f"rows BIGINT, features INTEGER, seconds {d.double})"
        )
        warehouse.execute(
            f"INSERT INTO {BUILDS_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [utcnow(), when, digest, table.num_rows, len(spec.names()), seconds],
        )
        warehouse.execute(
            f"CREATE OR REPLACE VIEW {LATEST_VIEW} AS SELECT * FROM {SNAPSHOT_TABLE} "
            f"WHERE as_of = (SELECT max(as_of) FROM {SNAPSHOT_TABLE})"
        )
    return {
        "rows": table.num_rows,
        "features": len(spec.names()),
        "seconds": round(time.perf_counter() - started, 3),
        "table": SNAPSHOT_TABLE,
        "as_of": when.isoformat(),
        "spec_digest": digest,
    }


def _prepare_table(warehouse: Warehouse, schema: pa.Schema, digest: str) -> None:
    """Create feature_snapshots for this column layout, keeping an older layout's table under another name."""
    if warehouse.table_exists(SNAPSHOT_TABLE):
        existing = list(warehouse.columns(SNAPSHOT_TABLE))
        if existing == schema.names:
            return
        old = warehouse.scalar(f"SELECT min(spec_digest) FROM {SNAPSHOT_TABLE}") or "old"
        warehouse.execute(f"DROP VIEW IF EXISTS {LATEST_VIEW}")
        warehouse.execute(f'ALTER TABLE {SNAPSHOT_TABLE} RENAME TO "{SNAPSHOT_TABLE}_{old}"')
    types = {pa.string(): "text", pa.float64(): "double", pa.timestamp("us"): "timestamp"}
    cols = ", ".join(f'"{f.name}" {warehouse.sql.type_word(types[f.type])}' for f in schema)
    warehouse.execute(f"CREATE TABLE {SNAPSHOT_TABLE} ({cols}, PRIMARY KEY (lead_id, as_of))")
