"""An activity's `properties` JSON built once per distinct combination of its source values, not once per row.

Properties (direction, call outcome, page...) take few distinct values: building the JSON text in SQL for every
row was ~60 % of the activities mapping query. Here each property column is dictionary-encoded (Arrow), the
rows are grouped by their combination of codes (numpy), one JSON text is written per combination and spread
back with one `take`. The text is the one the SQL path writes (DuckDB `to_json` escaping, present values only,
NULL when none is present), and it is the same on DuckDB and PostgreSQL since both map the same Arrow batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PROPERTIES = "_ingest_properties"  # the raw batch's column holding the built JSON text
_RADIX_LIMIT = 1 << 62  # above this the combined code could overflow int64: recode column by column instead


def _codes(column: pa.ChunkedArray | pa.Array, missing: frozenset[str]) -> tuple[np.ndarray, list[str | None]]:
    """Per row, an index into the column's distinct values (missing values and NULL are the last entry, None)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    values: list[str | None] = [
        None if v is None or v.strip(" ") in missing else v for v in encoded.dictionary.to_pylist()
    ]  # DuckDB's trim strips spaces only
    codes = encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, [*values, None]


def properties_column(table: pa.Table, pairs: Sequence[tuple[str, str]], missing: Sequence[str]) -> pa.ChunkedArray:
    """The JSON text of (source column, property name) `pairs` for every row of `table`, chunked like the table."""
    rows = table.num_rows
    absent = frozenset(missing)
    columns = [_codes(table.column(source), absent) for source, _ in pairs]
    combined = np.zeros(rows, dtype=np.int64)
    radix = 1
    for codes, values in columns:
        if radix * len(values) >= _RADIX_LIMIT:  # keep the code below rows x distinct values
            combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)
            radix = int(combined.max(initial=0)) + 1
        combined = combined * len(values) + codes
        radix *= len(values)
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    texts: list[str | None] = []
    for row in first:
        parts = [
            f"{json.dumps(name)}:{json.dumps(values[codes[row]], ensure_ascii=False)}"
            for (codes, values), (_, name) in zip(columns, pairs, strict=True)
            if values[codes[row]] is not None
        ]
        texts.append("{" + ",".join(parts) + "}" if parts else None)
    built = pa.array(texts, pa.string()).take(pa.array(inverse.reshape(-1), pa.int64()))
    lengths = [len(chunk) for chunk in table.column(0).chunks] if table.num_columns else [rows]
    offsets = np.cumsum([0, *lengths])
    return pa.chunked_array([built.slice(int(o), n) for o, n in zip(offsets, lengths, strict=False)], pa.string())
