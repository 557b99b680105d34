"""Quarantine: rows that break a contract, kept with source, row number, field, reason and the raw values."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from leadops.crm.readers import BAD_FIELD, ROW, Malformed
from leadops.crm.stage import Stage
from leadops.warehouse.connection import Warehouse, quote_ident

COLUMNS = ("ingest_run_id", "source", "target_table", "row_number", "field", "reason", "detail", "row_hash",
           "raw", "quarantined_at")  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """One quarantined row before the raw values are attached."""

    row_number: int
    reason: str
    field: str | None
    detail: str | None


def row_hash(raw: dict[str, Any]) -> str:
    """A stable hash of a row's source values: with source, row number and reason, the dedupe key."""
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def raw_rows(batch: pa.Table, numbers: Sequence[int], file: str | None) -> dict[int, dict[str, Any]]:
    """The source values of the named rows (text, as read), keyed by row number."""
    if not numbers:
        return {}
    wanted = pa.array(sorted(set(numbers)), type=pa.int64())
    picked = batch.filter(pc.is_in(batch.column(ROW), value_set=wanted))
    out: dict[int, dict[str, Any]] = {}
    for record in picked.to_pylist():
        number = int(record.pop(ROW))
        record.pop(BAD_FIELD, None)
        if file is not None:
            record["_file"] = file
        out[number] = record
    return out


def build(
    entries: list[Entry],
    malformed: list[Malformed],
    batch: pa.Table,
    *,
    run_id: str,
    source: str,
    table: str,
    file: str | None,
    at: datetime,
    mask: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> tuple[pa.Table, Counter[str]]:
    """The quarantine rows of one batch as an Arrow table, and the count per reason (personal fields masked)."""
    raws = raw_rows(batch, [e.row_number for e in entries], file)
    records: list[dict[str, Any]] = []
    for entry in entries:
        raw = raws.get(entry.row_number, {})
        records.append(
            {"row_number": entry.row_number, "field": entry.field, "reason": entry.reason, "detail": entry.detail,
             "raw": raw}
        )  # fmt: skip
    for bad in malformed:
        raw = {"_line": bad.text} if file is None else {"_line": bad.text, "_file": file}
        records.append(
            {
                "row_number": bad.row_number,
                "field": None,
                "reason": bad.reason,
                "detail": bad.detail,
                "raw": raw,
            }
        )
    if mask is not None:
        for record in records:
            record["raw"] = mask(record["raw"])
    n = len(records)
    data = pa.table(
        {
            "ingest_run_id": pa.array([run_id] * n, pa.string()),
            "source": pa.array([source] * n, pa.string()),
            "target_table": pa.array([table] * n, pa.string()),
            "row_number": pa.array([r["row_number"] for r in records], pa.int64()),
            "field": pa.array([r["field"] for r in records], pa.string()),
            "reason": pa.array([r["reason"] for r in records], pa.string()),
            "detail": pa.array([r["detail"] for r in records], pa.string()),
            "row_hash": pa.array([row_hash(r["raw"]) for r in records], pa.string()),
            "raw": pa.array([json.dumps(r["raw"], ensure_ascii=False) for r in records], pa.string()),
            "quarantined_at": pa.array([at] * n, pa.timestamp("us")),
        }
    )
    return data, Counter(r["reason"] for r in records)


def write(warehouse: Warehouse, stage: Stage, data: pa.Table) -> None:
    """Add entries, skipping any already there (same source, row number, reason and row hash)."""
    if data.num_rows == 0:
        return
    cols = ", ".join(quote_ident(c) for c in COLUMNS)
    json_type = warehouse.sql.json
    values = ", ".join(f"CAST(raw AS {json_type})" if c == "raw" else quote_ident(c) for c in COLUMNS)
    stage.put(data)
    warehouse.execute(
        f"INSERT INTO quarantine ({cols}) SELECT {values} FROM {stage.sql} "
        "ON CONFLICT (source, row_number, reason, row_hash) DO NOTHING"
    )
    stage.clear()
