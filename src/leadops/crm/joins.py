"""Lookups: a second file joined onto a source's rows by key, so one row can carry another object's fields.

A lookup file is read once per source (text columns, the same reader as any source), reduced to its key and
the columns the mapping asks for, checked for unique keys (a repeated key would multiply the source's rows and
break the accounting), and registered with the DuckDB connection that runs the mapping query. The mapping
then reads `<lookup>.<column>` like any source column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from leadops.crm.contracts import ident
from leadops.crm.readers import CsvReader, RawBatch, file_format, parquet_batches, parquet_header, resolve_files
from leadops.errors import IngestError
from leadops.settings.crm import LookupSpec, SourceSpec

LOOKUP_ROWS = 250_000


def table_name(source: str, lookup: str) -> str:
    """The name a source's lookup is registered under while the source loads."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in source)
    return f"_lookup_{safe}_{lookup}"


def joined_columns(spec: SourceSpec) -> dict[str, LookupSpec]:
    """`<lookup>.<column>` -> its lookup, for every column the source's lookups bring in."""
    return {f"{lk.name}.{column}": lk for lk in spec.lookups for column in lk.columns}


def relation(spec: SourceSpec, raw: str) -> str:
    """SQL for the raw batch with every lookup's columns joined on (LEFT JOIN: an unmatched row keeps NULLs)."""
    if not spec.lookups:
        return raw
    picks = ["r.*"]
    joins = []
    for i, lk in enumerate(spec.lookups):
        alias = f"l{i}"
        picks += [f"{alias}.{ident(column)} AS {ident(lk.name + '.' + column)}" for column in lk.columns]
        target = ident(table_name(spec.name, lk.name))
        joins.append(f"LEFT JOIN {target} {alias} ON {alias}._key = trim(r.{ident(lk.source_key)})")
    return f"(SELECT {', '.join(picks)} FROM {raw} r {' '.join(joins)})"


def _batches(lk: LookupSpec, path: Path, source: str) -> Iterator[RawBatch]:
    if file_format(path, lk.format) == "parquet":
        header = parquet_header(path, source)
        missing = [c for c in [lk.key, *lk.columns] if c not in header]
        if missing:
            raise IngestError(f"source '{source}': lookup '{lk.name}' columns {missing} are not in {path}")
        yield from parquet_batches(path, source=source, columns=[lk.key, *lk.columns], batch_rows=LOOKUP_ROWS)
        return
    reader = CsvReader(path, source=source, delimiter=lk.delimiter, encoding=lk.encoding, batch_rows=LOOKUP_ROWS)
    header = reader.header()
    missing = [c for c in dict.fromkeys([lk.key, *lk.columns]) if c not in header]
    if missing:
        shown = ", ".join(header[:30])
        raise IngestError(
            f"source '{source}': lookup '{lk.name}' needs columns {missing} that {path} lacks (it has: {shown})"
        )
    yield from reader.batches()


def read_lookup(lk: LookupSpec, resolve: Callable[[str], Path], source: str, missing: list[str]) -> pa.Table:
    """The lookup's `_key` (trimmed; rows without one dropped) and columns (missing_values as NULL), keys unique."""
    files = resolve_files(resolve(lk.path), f"{source}' lookup '{lk.name}")
    parts: list[pa.Table] = []
    for path in files:
        for raw in _batches(lk, path, source):
            columns: dict[str, Any] = {"_key": pc.utf8_trim_whitespace(raw.table.column(lk.key))}
            for column in lk.columns:
                value = raw.table.column(column)
                if missing:
                    gone = pc.is_in(pc.utf8_trim_whitespace(value), value_set=pa.array(missing, pa.string()))
                    value = pc.if_else(gone, pa.scalar(None, pa.string()), value)
                columns[column] = value
            part = pa.table(columns)
            parts.append(part.filter(pc.and_(pc.is_valid(part["_key"]), pc.not_equal(part["_key"], ""))))
    table = pa.concat_tables(parts) if parts else pa.table({"_key": pa.array([], pa.string())})
    counts = table.group_by("_key").aggregate([("_key", "count")])
    repeated = counts.filter(pc.greater(counts["_key_count"], 1))
    if repeated.num_rows:
        example = repeated["_key"][0].as_py()
        raise IngestError(
            f"source '{source}': lookup '{lk.name}' has {repeated.num_rows} repeated value(s) of key "
            f"'{lk.key}' in {lk.path} (e.g. '{example}'); a lookup key must name one row"
        )
    return table


class Lookups:
    """The lookups of one source, registered on a DuckDB connection for as long as the source loads."""

    def __init__(self, spec: SourceSpec, con: Any, resolve: Callable[[str], Path]) -> None:
        self.con = con
        self.names: list[str] = []
        for lk in spec.lookups:
            name = table_name(spec.name, lk.name)
            con.register(name, read_lookup(lk, resolve, spec.name, spec.missing_values))
            self.names.append(name)

    def close(self) -> None:
        """Unregister every lookup."""
        for name in self.names:
            self.con.unregister(name)
        self.names = []
