"""Deliberately broken rows for the faults scenario, and their manifest.

Every fault is an extra row inserted among the good ones (a copy of a good row with one field broken), so the
good rows stay exactly the clean world: an ingest that quarantines exactly the rows listed in faults.csv
loads a consistent data set. Inserted accounts and leads get fresh IDs that nothing refers to; a duplicate
copies an EARLIER row's ID (the later row is the faulty one). Kinds per file are chosen uniformly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from leadops.simulate.export import BAD_BYTES_MARKER, format_one
from leadops.simulate.world import REGION_OFFSET_TEXT

FAULT_KINDS: dict[str, tuple[tuple[str, str], ...]] = {
    "accounts.csv": (
        ("duplicate_id", "AccountId"),
        ("missing_required", "AccountId"),
        ("wrong_type", "NumberOfEmployees"),
        ("wrong_type", "AnnualRevenue"),
        ("wrong_type", "ProfitableLastQuarter"),
        ("unknown_category", "Industry"),
        ("absurd_value", "NumberOfEmployees"),
        ("absurd_value", "AnnualRevenue"),
        ("bad_encoding", "AccountName"),
    ),
    "leads.csv": (
        ("duplicate_id", "LeadId"),
        ("missing_required", "LeadId"),
        ("missing_required", "CreatedDate"),
        ("wrong_type", "CreatedDate"),
        ("wrong_type", "HasOptedOutOfEmail"),
        ("unknown_category", "JobLevel"),
        ("future_timestamp", "CreatedDate"),
        ("absurd_value", "CreatedDate"),
        ("bad_encoding", "Country"),
    ),
    "activities.csv": (
        ("duplicate_id", "ActivityId"),
        ("missing_required", "LeadId"),
        ("missing_required", "ActivityDate"),
        ("missing_required", "ActivityType"),
        ("wrong_type", "ActivityDate"),
        ("wrong_type", "Value"),
        ("unknown_category", "ActivityType"),
        ("dangling_reference", "LeadId"),
        ("future_timestamp", "ActivityDate"),
        ("absurd_value", "ActivityDate"),
        ("absurd_value", "Value"),
        ("bad_encoding", "Channel"),
    ),
    "outcomes.csv": (
        ("duplicate_id", "OutcomeId"),
        ("missing_required", "LeadId"),
        ("missing_required", "Stage"),
        ("wrong_type", "Amount"),
        ("unknown_category", "Stage"),
        ("dangling_reference", "LeadId"),
        ("future_timestamp", "OutcomeDate"),
        ("absurd_value", "OutcomeDate"),
        ("absurd_value", "Amount"),
        ("bad_encoding", "Stage"),
        ("outcome_before_lead", "OutcomeDate"),
    ),
}
ID_FIELDS = {"accounts.csv": "AccountId", "leads.csv": "LeadId", "activities.csv": "ActivityId",
             "outcomes.csv": "OutcomeId"}  # fmt: skip
WRONG_NUMBERS = ("twelve", "lots", "12 people", "$5M", "N.A.", "1.2.3")
WRONG_DATES = ("not a date", "yesterday", "2025-13-45T99:99:99", "31/02/2025 25:61")
WRONG_BOOLS = ("perhaps", "sometimes", "2")
UNKNOWN = {
    "Industry": ("Underwater Basket Weaving", "Alchemy", "Time Travel"),
    "JobLevel": ("Wizard", "Galactic Overlord", "Chief Vibes Officer"),
    "ActivityType": ("fax_received", "carrier_pigeon", "telepathy"),
    "Stage": ("Maybe Later", "Ghosted", "Closed Maybe"),
}
FUTURE_YEARS = (15, 45)
"""Future timestamps land 15-45 years after the history's end: in the future whenever the data is read."""


@dataclass
class FaultContext:
    """What the fault makers need besides the good rows."""

    end_epoch: int
    next_fresh: int = 0  # counter for fresh ids and dangling references
    records: list[tuple[str, int, str, str]] = field(default_factory=list)


@dataclass
class FaultInput:
    """One chunk of good rows of one file plus per-row facts the fault makers need."""

    file: str
    table: pa.Table  # all-string columns in file order
    first_row: int  # 1-based row number the chunk's first output row will get
    lead_created: np.ndarray | None = None  # per good row: the lead's creation (UTC seconds), outcomes only
    lead_region: np.ndarray | None = None  # per good row: the lead's region index, outcomes only


def _future(rng: np.random.Generator, ctx: FaultContext, original: str | None) -> str:
    years = rng.uniform(*FUTURE_YEARS)
    offset = original[-6:] if original and len(original) >= 25 else "+00:00"
    return format_one(ctx.end_epoch + years * 365.25 * 86_400, offset)


def _year_1800(original: str | None) -> str:
    text = original or "2025-06-01T12:00:00+00:00"
    month_day = text[5:10] if text[5:10] != "02-29" else "02-28"
    return "1800-" + month_day + text[10:]


def _make_value(
    kind: str,
    col: str,
    original: str | None,
    rng: np.random.Generator,
    ctx: FaultContext,
    dangling: str,
    row: int,
    inp: FaultInput,
) -> str | None:
    """The broken value of one field."""
    choice = int(rng.integers(0, 1_000_000))
    if kind == "missing_required":
        return None
    if kind == "wrong_type":
        if col in ("CreatedDate", "ActivityDate", "OutcomeDate"):
            return WRONG_DATES[choice % len(WRONG_DATES)]
        if col in ("HasOptedOutOfEmail", "ProfitableLastQuarter", "DoNotCall"):
            return WRONG_BOOLS[choice % len(WRONG_BOOLS)]
        return WRONG_NUMBERS[choice % len(WRONG_NUMBERS)]
    if kind == "unknown_category":
        options = UNKNOWN[col]
        return options[choice % len(options)]
    if kind == "dangling_reference":
        return dangling
    if kind == "future_timestamp":
        return _future(rng, ctx, original)
    if kind == "absurd_value":
        if col in ("CreatedDate", "ActivityDate", "OutcomeDate"):
            return _year_1800(original)
        if col == "AnnualRevenue":
            return str(int(rng.integers(2, 50)) * 10**12)
        magnitude = int(rng.integers(1, 100_000))
        return f"-{magnitude}"
    if kind == "bad_encoding":
        return BAD_BYTES_MARKER + (original or "")
    if kind == "outcome_before_lead":
        assert inp.lead_created is not None and inp.lead_region is not None
        before = float(inp.lead_created[row]) - rng.uniform(1.0, 60.0) * 86_400
        return format_one(before, REGION_OFFSET_TEXT[int(inp.lead_region[row])])
    raise ValueError(f"unknown fault kind {kind!r}")


def inject(
    inp: FaultInput,
    rate: float,
    rng: np.random.Generator,
    ctx: FaultContext,
    *,
    renumber: Callable[[np.ndarray], pa.Array] | None,
    fresh_id: Callable[[int], str] | None,
    dangling_lead: Callable[[int], str],
) -> pa.Table:
    """Insert about rate/(1-rate) x good rows of broken rows; record them in ctx.records; return the chunk.

    `renumber` gives IDs from 1-based row numbers (activities, outcomes); otherwise `fresh_id(k)` gives an
    unused ID for inserted rows. `dangling_lead(k)` gives a LeadId that no lead has.
    """
    table = inp.table
    n_good = table.num_rows
    n_fault = int(rng.binomial(n_good, rate / (1.0 - rate))) if n_good and rate > 0 else 0
    columns = table.column_names
    id_col = ID_FIELDS[inp.file]
    kinds = FAULT_KINDS[inp.file]
    pick_kind = rng.integers(0, len(kinds), n_fault)
    position = rng.integers(1, n_good + 1, n_fault)  # inserted just before good row `position` (or at the end)
    source = (rng.random(n_fault) * position).astype(np.int64)  # an earlier good row to copy
    # output order: a fault at position p comes after good rows 0..p-1
    keys_pos = np.concatenate([np.arange(n_good), position])
    keys_kind = np.concatenate([np.ones(n_good, dtype=np.int64), np.zeros(n_fault, dtype=np.int64)])
    keys_seq = np.concatenate([np.zeros(n_good, dtype=np.int64), np.arange(n_fault)])
    order = np.lexsort((keys_seq, keys_kind, keys_pos))
    out_index = np.empty(n_good + n_fault, dtype=np.int64)
    out_index[order] = np.arange(n_good + n_fault)
    row_numbers = inp.first_row + np.arange(n_good + n_fault)

    src = table.take(pa.array(source)) if n_fault else table.slice(0, 0)
    data = {c: src.column(c).to_pylist() for c in columns}
    fault_rows: dict[str, list[str | None]] = {c: [] for c in columns}
    for j in range(n_fault):
        kind, col = kinds[int(pick_kind[j])]
        s = int(source[j])
        row = {c: data[c][j] for c in columns}
        if renumber is not None:
            row[id_col] = None  # filled from the row number below
        elif fresh_id is not None:
            row[id_col] = fresh_id(ctx.next_fresh)
            ctx.next_fresh += 1
        if kind == "duplicate_id":
            row[id_col] = data[id_col][j] if renumber is None else f"@{s}"
        else:
            ref_k = ctx.next_fresh
            ctx.next_fresh += 1
            dangling = dangling_lead(ref_k) if kind == "dangling_reference" else ""
            row[col] = _make_value(kind, col, row[col], rng, ctx, dangling, s, inp)
            if kind == "missing_required" and col == id_col:
                row[id_col] = ""
        for c in columns:
            fault_rows[c].append(row[c])
        ctx.records.append((inp.file, int(row_numbers[out_index[n_good + j]]), kind, col))

    if n_fault:
        faults = pa.table({c: pa.array(fault_rows[c], type=pa.string()) for c in columns})
        table = pa.concat_tables([table, faults]).take(pa.array(order))
    if renumber is not None:
        total = n_good + n_fault
        ids = renumber(row_numbers)
        if n_fault:
            fault_ids: list[str | None] = []
            for j, value in enumerate(fault_rows[id_col]):
                if value is None:
                    fault_ids.append(ids[int(out_index[n_good + j])].as_py())
                elif value.startswith("@"):
                    fault_ids.append(ids[int(out_index[int(value[1:])])].as_py())
                else:
                    fault_ids.append(None)  # a missing id
            pick_from = np.arange(total)
            pick_from[out_index[n_good:]] = total + np.arange(n_fault)
            ids = pa.concat_arrays([ids, pa.array(fault_ids, type=pa.string())]).take(pa.array(pick_from))
        table = table.set_column(columns.index(id_col), id_col, ids)
    return table
