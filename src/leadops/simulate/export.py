"""Turning simulated columns into the CRM export's text (CONTRACTS.md) and writing it chunk by chunk.

Every exported column is text so that the faults scenario can put anything into any field; timestamps are
local ISO 8601 with the region's fixed UTC offset, built from lookup tables (far faster than strftime).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from leadops.simulate.world import REGION_OFFSET_MIN, REGION_OFFSET_TEXT

BAD_BYTES_MARKER = "\u0001BADBYTES\u0001"
"""Placeholder a fault puts into a field; replaced by invalid UTF-8 bytes when the chunk is written."""
BAD_BYTES = b"\xe9\xff"

ACCOUNT_COLUMNS = (
    "AccountId",
    "AccountName",
    "Industry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "BillingCountry",
    "Region",
    "ProfitableLastQuarter",
    "IsCompetitor",
)
LEAD_COLUMNS = (
    "LeadId",
    "AccountId",
    "CreatedDate",
    "Email",
    "JobLevel",
    "Department",
    "Country",
    "LeadSource",
    "HasOptedOutOfEmail",
    "DoNotCall",
    "OwnerId",
)
ACTIVITY_COLUMNS = ("ActivityId", "LeadId", "ActivityDate", "ActivityType", "Channel", "Value", "Direction", "Outcome",
                    "Page")  # fmt: skip
REPS_PER_REGION = 4
WEB_PAGES = ("/", "/product", "/customers", "/integrations", "/blog")
CONNECTED_MINUTES = 5  # a sales call this long (minutes, its Value) reached the lead; shorter ones left a voicemail
OUTCOME_COLUMNS = ("OutcomeId", "LeadId", "OutcomeDate", "Stage", "Amount")


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """IDs like LEAD-00000042 from integers."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def account_ids(index: np.ndarray) -> pa.Array:
    """AccountId text for 0-based account indices."""
    return prefixed_ids("ACC-", index + 1, 7)


def lead_ids(index: np.ndarray) -> pa.Array:
    """LeadId text for 0-based lead indices."""
    return prefixed_ids("LEAD-", index + 1, 8)


def activity_ids(row_number: np.ndarray) -> pa.Array:
    """ActivityId text: the activity's 1-based row in activities.csv."""
    return prefixed_ids("ACT-", row_number, 9)


def outcome_ids(row_number: np.ndarray) -> pa.Array:
    """OutcomeId text: the outcome's 1-based row in outcomes.csv."""
    return prefixed_ids("OUT-", row_number, 8)


def owner_ids(region: np.ndarray, index: np.ndarray) -> pa.Array:
    """The CRM owner of each lead: one of the region's sales reps, REP-01 .. REP-16, by lead number."""
    rep = region.astype(np.int64) * REPS_PER_REGION + index.astype(np.int64) % REPS_PER_REGION + 1
    return prefixed_ids("REP-", rep, 2)


def activity_properties(kind: np.ndarray, types: tuple[str, ...], value: np.ndarray, t: np.ndarray) -> list[pa.Array]:
    """Direction and Outcome of calls and the Page of web visits (empty elsewhere), derived without new draws.

    Sales calls are outbound and connected when they lasted CONNECTED_MINUTES or more; support calls are inbound
    and connected; a page view lands on one of WEB_PAGES (by its second of the day), pricing and careers views on
    their page. The same seed gives the same export, whatever the format.
    """
    n = len(kind)
    names = pa.array(types).take(pa.array(kind.astype(np.int64)))
    sales = pc.equal(names, "sales_touch")
    call = pc.and_(sales, pa.array(np.isfinite(value)))
    support = pc.equal(names, "support_call")
    empty = pa.nulls(n, pa.string())
    direction = pc.if_else(call, "Outbound", pc.if_else(support, "Inbound", empty))
    long_call = pa.array(np.nan_to_num(value, nan=0.0) >= CONNECTED_MINUTES)
    reached = pc.if_else(long_call, "Connected", "Left Voicemail")
    outcome = pc.if_else(call, reached, pc.if_else(support, "Connected", empty))
    pages = pick(WEB_PAGES, t % len(WEB_PAGES))
    page = pc.if_else(pc.equal(names, "page_view"), pages, empty)
    page = pc.if_else(pc.equal(names, "pricing_view"), "/pricing", page)
    page = pc.if_else(pc.equal(names, "careers_view"), "/careers", page)
    return [direction, outcome, page]


def pick(labels: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Category labels for an index array."""
    return pa.array(labels, type=pa.string()).take(pa.array(index.astype(np.int64)))


def bool_text(values: np.ndarray) -> pa.Array:
    """true/false text."""
    return pick(("false", "true"), values.astype(np.int64))


def number_text(values: np.ndarray) -> pa.Array:
    """Numbers as text; NaN becomes missing (empty)."""
    arr = pa.array(values, from_pandas=True)
    if pa.types.is_floating(arr.type):
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 1e15)
        if bool(np.all(whole | ~np.isfinite(values))):
            arr = pa.array(np.where(np.isfinite(values), values, 0).astype(np.int64), mask=~np.isfinite(values))
    return pc.cast(arr, pa.string())


class TimeFormatter:
    """Formats UTC seconds as local ISO 8601 with the region's fixed offset, via date and time lookup tables."""

    def __init__(self, first_epoch: int, last_epoch: int) -> None:
        self.first_day = first_epoch // 86_400 - 2
        n_days = last_epoch // 86_400 - self.first_day + 3
        days = (np.arange(n_days) + self.first_day).astype("datetime64[D]")
        self.dates = pa.array([f"{d}T" for d in np.datetime_as_string(days)])
        sod = np.arange(86_400)
        self.clock = pa.array(
            [f"{h:02d}:{m:02d}:{s:02d}" for h, m, s in zip(sod // 3600, (sod // 60) % 60, sod % 60, strict=True)]
        )
        self.offsets = pa.array(REGION_OFFSET_TEXT)

    def format(self, t_utc: np.ndarray, region: np.ndarray) -> pa.Array:
        """Local time text for UTC seconds within the history (regions index REGIONS)."""
        local = t_utc + REGION_OFFSET_MIN[region] * 60
        day = local // 86_400 - self.first_day
        if day.size and (day.min() < 0 or day.max() >= len(self.dates)):
            raise ValueError("TimeFormatter: a timestamp lies outside the simulated history")
        return pc.binary_join_element_wise(
            self.dates.take(pa.array(day)),
            self.clock.take(pa.array(local % 86_400)),
            self.offsets.take(pa.array(region.astype(np.int64))),
            "",
        )


def format_one(t_utc: float, offset_text: str) -> str:
    """One local timestamp, for values outside the lookup tables (fault rows)."""
    sign = -1 if offset_text.startswith("-") else 1
    minutes = sign * (int(offset_text[1:3]) * 60 + int(offset_text[4:6]))
    local = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(t_utc) + minutes * 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + offset_text


class CsvAppender:
    """Writes one export file: a plain header line, then chunks of all-text tables, counting rows."""

    def __init__(self, path: Path, columns: tuple[str, ...], *, patch_bad_bytes: bool) -> None:
        self.path = path
        self.columns = columns
        self.rows = 0
        self.patch_bad_bytes = patch_bad_bytes
        self._fh = path.open("wb")
        self._fh.write((",".join(columns) + "\n").encode())

    def write(self, table: pa.Table) -> None:
        """Append a chunk (columns in file order, all strings)."""
        if table.column_names != list(self.columns):
            raise ValueError(f"{self.path.name}: columns {table.column_names} != {list(self.columns)}")
        if table.num_rows == 0:
            return
        buf = io.BytesIO()
        pcsv.write_csv(table, buf, pcsv.WriteOptions(include_header=False, quoting_style="none"))
        data = buf.getvalue()
        if self.patch_bad_bytes:
            data = data.replace(BAD_BYTES_MARKER.encode(), BAD_BYTES)
        self._fh.write(data)
        self.rows += table.num_rows

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()

    def __enter__(self) -> CsvAppender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def text_table(columns: tuple[str, ...], arrays: list[pa.Array]) -> pa.Table:
    """An all-string table in the given column order."""
    return pa.table({c: pc.cast(a, pa.string()) for c, a in zip(columns, arrays, strict=True)})


class TruthWriter:
    """Appends ground-truth chunks to a parquet file with a fixed schema."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, columns: dict[str, Any]) -> None:
        """Append one chunk given as name -> array."""
        self._writer.write_table(pa.table(columns, schema=self.schema))

    def close(self) -> None:
        """Finish the parquet file."""
        self._writer.close()


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Deterministic JSON (sorted keys, fixed indentation)."""
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
