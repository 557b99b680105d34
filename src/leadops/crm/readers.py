"""Stream a source (CSV, Parquet, SQL query) as Arrow tables of text columns with 1-based row numbers.

Every value arrives as text (or NULL from typed sources) so one coercion path handles every format; invalid
UTF-8 is caught per value (the row is flagged, the file keeps loading) and rows with the wrong number of
fields are reported with their exact row number instead of stopping the file.
"""

from __future__ import annotations

import codecs
import datetime as dt
import decimal
import glob
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from leadops.errors import IngestError

ROW = "_row"
BAD_FIELD = "_bad_field"
MIN_CHUNK_BYTES = 1 << 20
MAX_CHUNK_BYTES = 256 << 20


@dataclass
class Malformed:
    """A CSV record that could not be split into the header's fields."""

    row_number: int
    text: str
    expected: int
    actual: int


@dataclass
class RawBatch:
    """Text columns named as in the source, plus `_row` (1-based data row) and `_bad_field` (bad encoding)."""

    table: pa.Table
    file: str
    malformed: list[Malformed] = field(default_factory=list)


def resolve_files(pattern: Path, source: str) -> list[Path]:
    """The files a source's path names (a glob may name several); none at all is an IngestError."""
    text = str(pattern)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text))
        if not files:
            raise IngestError(f"source '{source}': no file matches {text}")
        return files
    if not pattern.is_file():
        raise IngestError(f"source '{source}': file {pattern} does not exist")
    return [pattern]


def file_format(path: Path, declared: str) -> str:
    """csv or parquet, from the config or the file's suffix."""
    if declared != "auto":
        return declared
    return "parquet" if path.suffix.lower() in (".parquet", ".pq", ".parq") else "csv"


# ------------------------------------------------------------------ decoding
def decode_column(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, list[int]]:
    """Binary -> UTF-8 text; invalid values decoded with U+FFFD and their positions returned."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    try:
        return array.cast(pa.string()), []
    except pa.ArrowInvalid:
        pass
    values: list[str | None] = []
    bad: list[int] = []
    for i, raw in enumerate(array.to_pylist()):
        if raw is None:
            values.append(None)
            continue
        try:
            values.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(raw.decode("utf-8", errors="replace"))
            bad.append(i)
    return pa.array(values, type=pa.string()), bad


def _text_table(columns: dict[str, pa.Array], names: Sequence[str], rows: np.ndarray, bad: dict[int, str]) -> pa.Table:
    bad_field: pa.Array
    if bad:
        flags: list[str | None] = [None] * len(rows)
        for index, name in bad.items():
            flags[index] = name
        bad_field = pa.array(flags, type=pa.string())
    else:
        bad_field = pa.nulls(len(rows), type=pa.string())
    arrays = [columns[n] for n in names] + [pa.array(rows, type=pa.int64()), bad_field]
    return pa.Table.from_arrays(arrays, names=[*names, ROW, BAD_FIELD])


def _decode_all(table: pa.Table, names: Sequence[str]) -> tuple[dict[str, pa.Array], dict[int, str]]:
    columns: dict[str, pa.Array] = {}
    bad: dict[int, str] = {}
    for name in names:
        text, bad_rows = decode_column(table.column(name))
        columns[name] = text
        for index in bad_rows:
            bad.setdefault(index, name)
    return columns, bad


# ----------------------------------------------------------------------- CSV
def _record_end(buffer: bytes, quote: bytes = b'"') -> int:
    """Index just past the last newline that ends a record (even number of quotes before it), or -1."""
    pos = buffer.rfind(b"\n")
    while pos >= 0:
        if buffer.count(quote, 0, pos) % 2 == 0:
            return pos + 1
        pos = buffer.rfind(b"\n", 0, pos)
    return -1


def _row_numbers(good: int, skipped: list[int], base: int) -> np.ndarray:
    """Record numbers of the good rows of a chunk, given the chunk-local numbers of the skipped ones."""
    k = np.arange(1, good + 1, dtype=np.int64)
    if not skipped:
        return k + base
    s = np.sort(np.asarray(skipped, dtype=np.int64))
    shifted = s - np.arange(1, len(s) + 1, dtype=np.int64)
    return k + np.searchsorted(shifted, k, side="left") + base


class CsvReader:
    """Read a CSV file in record-aligned byte chunks, each parsed by pyarrow with every column as binary."""

    def __init__(self, path: Path, *, source: str, delimiter: str, encoding: str, batch_rows: int) -> None:
        self.path = path
        self.source = source
        self.delimiter = delimiter
        self.encoding = codecs.lookup(encoding).name
        self.batch_rows = batch_rows
        self.names: list[str] = []
        self._header_bytes = 0

    def _recode(self, data: bytes) -> bytes:
        if self.encoding == "utf-8":
            return data
        return data.decode(self.encoding, errors="replace").encode("utf-8")

    def header(self) -> list[str]:
        """The column names of the file's header row."""
        if self.names:
            return self.names
        head = b""
        with open(self.path, "rb") as handle:
            while True:
                more = handle.read(MIN_CHUNK_BYTES)
                head += more
                offset = 3 if head.startswith(codecs.BOM_UTF8) else 0
                pos = head.find(b"\n", offset)
                while pos >= 0 and head.count(b'"', offset, pos) % 2:
                    pos = head.find(b"\n", pos + 1)
                if pos >= 0 or not more:
                    line = head[offset : pos + 1] if pos >= 0 else head[offset:]
                    break
        if not line.strip():
            raise IngestError(f"source '{self.source}': file {self.path} is empty (expected a header row)")
        try:
            table = pacsv.read_csv(
                io.BytesIO(self._recode(line)),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(auto_dict_encode=False),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise IngestError(f"source '{self.source}': cannot read the header of {self.path}: {exc}") from exc
        self.names = [n.strip() for n in table.column_names]
        self._header_bytes = offset + len(line)
        return self.names

    def _parse(self, chunk: bytes, threads: bool) -> tuple[pa.Table, list[tuple[int | None, str, int, int]]]:
        skipped: list[tuple[int | None, str, int, int]] = []

        def handler(row: Any) -> str:
            skipped.append((row.number, row.text, row.expected_columns, row.actual_columns))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(chunk),
            read_options=pacsv.ReadOptions(column_names=self.names, use_threads=threads, block_size=4 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=handler
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self.names, pa.binary()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        return table, skipped

    def batches(self) -> Iterator[RawBatch]:
        """Stream the file; memory holds one chunk (about batch_rows rows) at a time."""
        names = self.header()
        chunk_bytes = 8 << 20
        base = 0
        carry = b""
        with open(self.path, "rb") as handle:
            handle.seek(self._header_bytes)
            eof = False
            while not eof:
                data = handle.read(chunk_bytes)
                eof = not data
                buffer = carry + data
                if not eof:
                    end = _record_end(buffer)
                    if end < 0 and len(buffer) > 4 * chunk_bytes:
                        # a stray quote inside an unquoted field breaks quote parity: cut at a newline
                        end = buffer.rfind(b"\n") + 1
                    if end <= 0:
                        carry = buffer
                        continue
                    chunk, carry = buffer[:end], buffer[end:]
                else:
                    chunk, carry = buffer, b""
                if not chunk.strip():
                    continue
                chunk = self._recode(chunk)
                try:
                    table, skipped = self._parse(chunk, threads=True)
                    if skipped:
                        table, skipped = self._parse(chunk, threads=False)
                except pa.ArrowInvalid as exc:
                    raise IngestError(
                        f"source '{self.source}': {self.path} cannot be parsed as CSV after data row {base}: {exc}"
                    ) from exc
                local = [int(s[0]) for s in skipped if s[0] is not None]
                rows = _row_numbers(table.num_rows, local, base)
                malformed = [
                    Malformed(base + int(num), text, expected, actual)
                    for num, text, expected, actual in skipped
                    if num is not None
                ]
                base += table.num_rows + len(skipped)
                if table.num_rows:
                    per_row = max(1, len(chunk) // max(1, table.num_rows + len(skipped)))
                    chunk_bytes = int(min(MAX_CHUNK_BYTES, max(MIN_CHUNK_BYTES, per_row * self.batch_rows)))
                columns, bad = _decode_all(table, names)
                yield RawBatch(_text_table(columns, names, rows, bad), str(self.path), malformed)


# ------------------------------------------------------------------- Parquet
def to_text(array: pa.Array) -> tuple[pa.Array, list[int]]:
    """Any Arrow column as text the coercion step parses back exactly (tz-aware times end in Z)."""
    kind = array.type
    if pa.types.is_string(kind):
        return array, []
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return array.cast(pa.string()), []
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return decode_column(array.cast(pa.binary()))
    if pa.types.is_dictionary(kind):
        return to_text(array.dictionary_decode())
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            naive = array.cast(pa.timestamp(kind.unit, tz="UTC")).cast(pa.timestamp(kind.unit))
            text = pc.strftime(naive, format="%Y-%m-%dT%H:%M:%S")
            return pc.binary_join_element_wise(text, pa.scalar("Z"), ""), []
        return pc.strftime(array, format="%Y-%m-%dT%H:%M:%S"), []
    if pa.types.is_boolean(kind):
        return pc.if_else(array, pa.scalar("true"), pa.scalar("false")), []
    try:
        return array.cast(pa.string()), []
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in array.to_pylist()]), []


def parquet_batches(path: Path, *, source: str, columns: list[str] | None, batch_rows: int) -> Iterator[RawBatch]:
    """Stream a Parquet file by record batches, every column turned into text."""
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(f"source '{source}': {path} is not a readable Parquet file: {exc}") from exc
    names = columns if columns is not None else handle.schema_arrow.names
    base = 0
    for batch in handle.iter_batches(batch_size=batch_rows, columns=names):
        yield _as_text_batch(batch, names, base, str(path))
        base += batch.num_rows


def _as_text_batch(batch: pa.RecordBatch, names: list[str], base: int, origin: str) -> RawBatch:
    """A typed batch (Parquet, query) as the all-text batch ingest maps, rows numbered from base + 1."""
    texts: dict[str, pa.Array] = {}
    bad: dict[int, str] = {}
    for name in names:
        text, bad_rows = to_text(batch.column(name))
        texts[name] = text
        for index in bad_rows:
            bad.setdefault(index, name)
    rows = np.arange(base + 1, base + batch.num_rows + 1, dtype=np.int64)
    return RawBatch(_text_table(texts, names, rows, bad), origin)


def parquet_header(path: Path, source: str) -> list[str]:
    """Column names of a Parquet file."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, pa.ArrowInvalid) as exc:
        raise IngestError(f"source '{source}': {path} is not a readable Parquet file: {exc}") from exc


# --------------------------------------------------------------------- query
def _py_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, dt.date | dt.time | decimal.Decimal | int | float):
        return str(value) if not isinstance(value, dt.date | dt.time) else value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, memoryview | bytes | bytearray):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "\x00" + raw.decode("utf-8", errors="replace")
    return str(value)


def _rows_to_batch(names: list[str], rows: Sequence[Sequence[Any]], base: int, file: str) -> RawBatch:
    texts: dict[str, pa.Array] = {}
    bad: dict[int, str] = {}
    for j, name in enumerate(names):
        values = [_py_text(row[j]) for row in rows]
        for i, v in enumerate(values):
            if v is not None and v.startswith("\x00"):
                values[i] = v[1:]
                bad.setdefault(i, name)
        texts[name] = pa.array(values, type=pa.string())
    numbers = np.arange(base + 1, base + len(rows) + 1, dtype=np.int64)
    return RawBatch(_text_table(texts, names, numbers, bad), file)


def ingest_from(
    connection: str,
    query: str,
    *,
    batch_rows: int = 100_000,
    source: str = "query",
    workspace: Path | None = None,
    readable: Sequence[Path] = (),
) -> Iterator[RawBatch]:
    """Stream the result of `query` run against another database (PostgreSQL or DuckDB) as text batches.

    PostgreSQL uses a server-side (named) cursor in a READ ONLY transaction so the result never sits whole in
    memory and nothing is written; DuckDB runs in leadops.crm.sandbox (SELECT only, files only under `readable`).
    """
    from leadops.warehouse.connection import redact

    shown = redact(connection)
    if connection.startswith(("postgresql://", "postgres://")):
        import psycopg

        try:
            conn = psycopg.connect(connection)
            conn.read_only = True
        except psycopg.Error as exc:
            raise IngestError(f"source '{source}': cannot connect to {shown}: {exc}".strip()) from exc
        try:
            with conn.transaction(), conn.cursor(name="leadops_ingest") as cur:
                try:
                    cur.execute(query)
                    names = [d.name for d in cur.description or []]
                except psycopg.Error as exc:
                    raise IngestError(f"source '{source}': query failed on {shown}: {exc}".strip()) from exc
                base = 0
                while True:
                    try:
                        rows = cur.fetchmany(batch_rows)
                    except psycopg.Error as exc:
                        detail = " ".join(str(exc).split())
                        raise IngestError(f"source '{source}': query failed on {shown}: {detail}") from exc
                    if not rows:
                        break
                    yield _rows_to_batch(names, rows, base, shown)
                    base += len(rows)
        finally:
            conn.close()
        return
    if connection.startswith("duckdb://"):
        import duckdb

        from leadops.crm import sandbox

        target = sandbox.duckdb_target(connection[len("duckdb://") :], workspace)
        con = sandbox.open_duckdb(target, readable=readable, source=source)
        try:
            sandbox.require_select(con, query, source)
            reader = con.sql(query).to_arrow_reader(batch_rows)
        except (duckdb.Error, IngestError) as exc:
            con.close()
            if isinstance(exc, IngestError):
                raise
            raise IngestError(f"source '{source}': query failed on {shown}: {exc}".strip()) from exc
        try:
            base = 0
            for batch in reader:
                yield _as_text_batch(batch, batch.schema.names, base, shown)
                base += batch.num_rows
        finally:
            con.close()
        return
    raise IngestError(
        f"source '{source}': connection '{shown}' is not understood (expected postgresql://... or duckdb:///path)"
    )
