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

from leadops.crm.bytestream import BOMS, MAGIC, SNIFF_BYTES, SUFFIXES, Utf8Stream, utf16_without_bom
from leadops.crm.csvrepair import careful_parse
from leadops.errors import IngestError

ROW = "_row"
BAD_FIELD = "_bad_field"
MIN_CHUNK_BYTES = 1 << 20
# The most CSV bytes one batch parses, whatever batch_rows says: a batch's memory (binary, text and mapped Arrow,
# the mapping's intermediates) follows its bytes, so wide rows (a leads export's 500k rows are ~72 MB) take fewer
# rows instead of a larger peak. 600k leads alone peaked at 930 MB with 256 MB here, 756 MB with 48 MB; an
# activities batch (500k rows, ~40 MB) is not cut.
MAX_CHUNK_BYTES = 48 << 20
MAX_RECORD_BYTES = 64 << 20  # a quoted record may span this much before the quoting is taken as broken
ARROW_CHUNK_ROWS = 1 << 16  # rows per Arrow chunk handed to DuckDB: its scan runs one thread per chunk
DUCKDB_CSV_THREADS = 2  # the scratch database that parses a plain CSV file (duckdb_csv)
DUCKDB_CSV_BUFFER_BYTES = 32 << 20  # its read_csv buffer (DuckDB's default); a record may span at most 2 MB of it
NUL_SHOWN = "\u2400"  # what a NUL byte becomes in quarantine (the row itself is quarantined as bad_encoding)


@dataclass
class Malformed:
    """A CSV record set aside before mapping: wrong field count, or the line of an unclosed quote."""

    row_number: int
    text: str
    reason: str
    detail: str


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


def _may_hold_nul(column: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a text column's bytes hold a NUL anywhere, read off its data buffers at memory speed (a match per
    value cost 0.9 CPU-s per 2.6M rows x 9 columns); a buffer shared beyond the column can only say yes."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if chunk.null_count == len(chunk):
            continue
        if not (pa.types.is_string(chunk.type) or pa.types.is_binary(chunk.type)):
            return True
        data = chunk.buffers()[2]
        if data is not None and data.size and int(np.frombuffer(data, dtype=np.uint8).min()) == 0:
            return True
    return False


def _text_table(columns: dict[str, pa.Array], names: Sequence[str], rows: np.ndarray, bad: dict[int, str]) -> pa.Table:
    """The batch as DuckDB scans it best: text columns, `_row`, `_bad_field`, in chunks of ARROW_CHUNK_ROWS."""
    for name in names:
        column = columns[name]
        if _may_hold_nul(column) and pc.any(pc.match_substring(column, "\x00")).as_py():
            has = pc.fill_null(pc.match_substring(column, "\x00"), False).to_numpy(zero_copy_only=False)
            for index in np.flatnonzero(has).tolist():
                bad.setdefault(index, name)
            columns[name] = pc.replace_substring(column, "\x00", NUL_SHOWN)
    bad_field: pa.Array
    if bad:
        flags: list[str | None] = [None] * len(rows)
        for index, name in bad.items():
            flags[index] = name
        bad_field = pa.array(flags, type=pa.string())
    else:
        bad_field = pa.nulls(len(rows), type=pa.string())
    arrays = [columns[n] for n in names] + [pa.array(rows, type=pa.int64()), bad_field]
    table = pa.Table.from_arrays(arrays, names=[*names, ROW, BAD_FIELD])
    if table.num_rows <= ARROW_CHUNK_ROWS:
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=ARROW_CHUNK_ROWS), schema=table.schema)


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
    """Index just past the last line end that closes a record (even number of quotes before it), or -1."""
    newline = b"\n" if b"\n" in buffer else b"\r"
    if quote not in buffer:
        return buffer.rfind(newline) + 1 or -1
    pos = buffer.rfind(newline)
    while pos >= 0:
        if buffer.count(quote, 0, pos) % 2 == 0:
            return pos + 1
        pos = buffer.rfind(newline, 0, pos)
    return -1


def _line_end(buffer: bytes) -> int:
    """Index just past the last line end of any kind, or -1."""
    return max(buffer.rfind(b"\n"), buffer.rfind(b"\r")) + 1 or -1


def _row_numbers(good: int, skipped: list[int], base: int) -> np.ndarray:
    """Record numbers of the good rows of a chunk, given the chunk-local numbers of the skipped ones."""
    k = np.arange(1, good + 1, dtype=np.int64)
    if not skipped:
        return k + base
    s = np.sort(np.asarray(skipped, dtype=np.int64))
    shifted = s - np.arange(1, len(s) + 1, dtype=np.int64)
    return k + np.searchsorted(shifted, k, side="left") + base


def _has_line_break(table: pa.Table) -> bool:
    """Whether any value holds a line break (a quoted multi-line value, or lines a stray quote swallowed)."""
    for column in table.columns:
        if column.null_count == len(column):
            continue
        if pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py():
            return True
    return False


def duplicate_names(names: Sequence[str]) -> dict[str, list[int]]:
    """Header names that occur more than once, with their 1-based column positions."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(i)
    return {n: at for n, at in seen.items() if len(at) > 1}


class CsvReader:
    """Read a CSV file in record-aligned chunks of UTF-8 bytes, each parsed by pyarrow with every column as binary.

    The file may be gzip/zstd/bz2-compressed and UTF-8/16/32 (see Utf8Stream). A chunk whose quoting is
    damaged is parsed again carefully (csvrepair), so a stray quote costs one line, never the rest of the file.
    """

    def __init__(
        self, path: Path, *, source: str, delimiter: str, encoding: str, batch_rows: int, fast: bool = True
    ) -> None:
        self.path = path
        self.source = source
        if len(delimiter) != 1:
            raise IngestError(f"source '{source}': delimiter {delimiter!r} must be a single character")
        self.delimiter = delimiter
        self.encoding = encoding
        self.batch_rows = batch_rows
        self.names: list[str] = []
        self._rest = b""
        self._header_line = b""
        self.complete = False  # duckdb_csv read the whole file
        self.fast = fast
        self.parsed_by = ""  # "duckdb", "pyarrow" or "duckdb+pyarrow" once batches() ran (what parsed the file)

    def _open(self) -> Utf8Stream:
        return Utf8Stream(self.path, source=self.source, encoding=self.encoding)

    def header(self) -> list[str]:
        """The column names of the file's header row; a duplicated name is an IngestError naming both columns."""
        if self.names:
            return self.names
        stream = self._open()
        try:
            head = b""
            while True:
                more = stream.read(MIN_CHUNK_BYTES)
                head += more
                end = _first_record_end(head)
                if end >= 0 or not more:
                    break
                if len(head) > MAX_RECORD_BYTES:
                    limit = MAX_RECORD_BYTES >> 20
                    raise IngestError(f"source '{self.source}': the header of {self.path} does not end within "
                                      f"{limit} MB (an opening quote never closed?)")  # fmt: skip
        finally:
            stream.close()
        line = head[:end] if end >= 0 else head
        if not line.strip():
            raise IngestError(f"source '{self.source}': file {self.path} is empty (expected a header row)")
        try:
            table = pacsv.read_csv(
                io.BytesIO(line),
                read_options=pacsv.ReadOptions(autogenerate_column_names=True),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(auto_dict_encode=False, strings_can_be_null=False),
            )
            names = [str(v).strip() for v in table.slice(0, 1).to_pylist()[0].values()]
        except (pa.ArrowInvalid, UnicodeDecodeError, IndexError) as exc:
            raise IngestError(f"source '{self.source}': cannot read the header of {self.path}: {exc}") from exc
        twice = duplicate_names(names)
        if twice:
            name, at = next(iter(twice.items()))
            raise IngestError(
                f"source '{self.source}': {self.path} has the column '{name}' {len(at)} times in its header "
                f"(columns {', '.join(map(str, at))}); rename all but one"
            )
        self.names = names
        self._header_bytes = len(line)
        self._header_line = line
        return self.names

    def _parse(
        self, chunk: bytes, threads: bool, block: int = 4 << 20, *, quoted: bool = True
    ) -> tuple[pa.Table, list[tuple[int | None, str, int, int]]]:
        """pyarrow's parse of one chunk; `quoted=False` (no quote character in it, so no value can hold a line
        break) lets it split lines without tracking quotes: ~25 % less CPU."""
        skipped: list[tuple[int | None, str, int, int]] = []

        def handler(row: Any) -> str:
            skipped.append((row.number, row.text, row.expected_columns, row.actual_columns))
            return "skip"

        table = pacsv.read_csv(
            io.BytesIO(chunk),
            read_options=pacsv.ReadOptions(column_names=self.names, use_threads=threads, block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter, newlines_in_values=quoted, invalid_row_handler=handler
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self.names, pa.binary()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        return table, skipped

    def _chunk(self, chunk: bytes, base: int, *, final: bool) -> tuple[pa.Table, np.ndarray, list[Malformed], int]:
        """One chunk's good rows (binary columns), their record numbers, the set-aside records, bytes consumed."""
        careful = False
        quoted = b'"' in chunk
        try:
            try:
                table, skipped = self._parse(chunk, threads=True, quoted=quoted)
            except pa.ArrowInvalid as exc:
                if "straddl" not in str(exc):  # a record larger than a parse block: one block for the chunk
                    raise
                table, skipped = self._parse(chunk, threads=False, block=len(chunk) + 1, quoted=quoted)
            if skipped:
                table, skipped = self._parse(chunk, threads=False, block=max(4 << 20, len(chunk) + 1), quoted=quoted)
            if quoted:
                careful = any("\n" in s[1] or "\r" in s[1] for s in skipped) or _has_line_break(table)
        except pa.ArrowInvalid:
            careful = True
        if not careful:
            local = [int(s[0]) for s in skipped if s[0] is not None]
            rows = _row_numbers(table.num_rows, local, base)
            malformed = [Malformed(base + int(num), _clean(text), "wrong_field_count",
                                   f"expected {expected} fields, got {actual}")
                         for num, text, expected, actual in skipped if num is not None]  # fmt: skip
            return table, rows, malformed, len(chunk)
        result = careful_parse(chunk, len(self.names), self.delimiter, final=final)
        arrays = [pa.array(values, type=pa.binary()) for values in result.columns]
        table = pa.Table.from_arrays(arrays, names=self.names)
        rows = np.asarray(result.numbers, dtype=np.int64) + base
        malformed = [Malformed(base + d.number, _clean(d.text), d.reason, d.detail) for d in result.damaged]
        return table, rows, malformed, result.consumed

    def batches(self) -> Iterator[RawBatch]:
        """Stream the file; memory holds one chunk (about batch_rows rows) at a time.

        A plain UTF-8 file is parsed by DuckDB's parallel CSV reader (duckdb_csv); at the first record it
        cannot take as it is (a quoting or field-count error, invalid UTF-8, a value holding a line break) the
        rest of the file is read by the careful pyarrow path below, from the first row DuckDB did not hand on,
        so every row keeps the number and the treatment that path gives it."""
        names = self.header()
        done = 0
        self.complete = False
        if self.fast and duckdb_csv_eligible(self.path, self.encoding, self.delimiter, self._header_line):
            self.parsed_by = "duckdb"
            for raw in duckdb_csv(self, names):
                done = int(raw.table.column(ROW)[-1].as_py())
                yield raw
            if self.complete:
                return
            self.parsed_by = "duckdb+pyarrow" if done else "pyarrow"
        else:
            self.parsed_by = "pyarrow"
        for raw in self._pyarrow_batches(names):
            rest = _after(raw, done) if done else raw
            if rest is not None:
                yield rest

    def _pyarrow_batches(self, names: list[str]) -> Iterator[RawBatch]:
        """The pyarrow path: record-aligned chunks, each parsed by pyarrow (carefully when its quoting is off)."""
        chunk_bytes = min(8 << 20, MAX_CHUNK_BYTES)
        base = 0
        stream = self._open()
        try:
            carry = _skip(stream, self._header_bytes)
            eof = False
            while not eof or carry:
                data = b"" if eof else stream.read(chunk_bytes)
                eof = not data
                buffer = carry + data
                if not eof:
                    end = _record_end(buffer)
                    if end < 0 and len(buffer) > max(MAX_RECORD_BYTES, 4 * chunk_bytes):
                        end = _line_end(buffer)  # quotes never balance: cut anyway, the careful parse resyncs
                    if end <= 0:
                        carry = buffer
                        continue
                    chunk, carry = buffer[:end], buffer[end:]
                else:
                    chunk, carry = buffer, b""
                if not chunk or chunk.isspace():  # (strip() would copy the chunk)
                    continue
                table, rows, malformed, used = self._chunk(chunk, base, final=eof)
                if used < len(chunk):
                    carry = chunk[used:] + carry
                base += table.num_rows + len(malformed)
                if table.num_rows:
                    per_row = max(1, used // max(1, table.num_rows + len(malformed)))
                    chunk_bytes = int(min(MAX_CHUNK_BYTES, max(MIN_CHUNK_BYTES, per_row * self.batch_rows)))
                columns, bad = _decode_all(table, names)
                yield RawBatch(_text_table(columns, names, rows, bad), str(self.path), malformed)
        finally:
            stream.close()


def _after(raw: RawBatch, done: int) -> RawBatch | None:
    """The part of a pyarrow batch past row `done` (the rows DuckDB already handed on are left out)."""
    malformed = [m for m in raw.malformed if m.row_number > done]
    table = raw.table
    if table.num_rows and int(table.column(ROW)[0].as_py()) <= done:
        table = table.filter(pc.greater(table.column(ROW), done))
    if not table.num_rows and not malformed:
        return None
    return RawBatch(table, raw.file, malformed)


def duckdb_csv_eligible(path: Path, encoding: str, delimiter: str, header_line: bytes) -> bool:
    """Whether DuckDB can read the file's bytes as they are: plain (not compressed) UTF-8 without a BOM, a
    header on its first line without quotes, a delimiter other than the quote. Anything else takes the
    pyarrow path, which decompresses and transcodes (bytestream.Utf8Stream)."""
    try:
        if codecs.lookup(encoding).name != "utf-8":
            return False
    except LookupError:
        return False
    if delimiter == '"' or b'"' in header_line or not header_line.rstrip(b"\r\n"):
        return False
    if any(ch in str(path) for ch in "*?[{"):  # DuckDB would take the name as a glob and might read other files
        return False
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if any(head.startswith(magic) for magic, _ in MAGIC) or any(head.startswith(bom) for bom, _ in BOMS):
        return False
    if path.suffix.lower() in SUFFIXES or utf16_without_bom(head) is not None:
        return False
    return head.startswith(header_line[: len(head)])


def _has_quote(path: Path) -> bool:
    """Whether the file holds a quote character anywhere (a value can hold a line break only inside quotes)."""
    with open(path, "rb") as handle:
        while block := handle.read(8 << 20):
            if b'"' in block:
                return True
    return False


def _rows_per_batch(path: Path, header_bytes: int, batch_rows: int) -> int:
    """batch_rows, or fewer when the file's rows are wide: a batch holds about MAX_CHUNK_BYTES of CSV."""
    with open(path, "rb") as handle:
        handle.seek(header_bytes)
        sample = handle.read(MIN_CHUNK_BYTES)
    lines = max(1, sample.count(b"\n") or sample.count(b"\r"))
    per_row = max(1, len(sample) // lines)
    return max(1, min(batch_rows, MAX_CHUNK_BYTES // per_row))


def duckdb_csv(reader: CsvReader, names: list[str]) -> Iterator[RawBatch]:
    """The file parsed by DuckDB's read_csv (every column text, strict quoting and field counts) in a scratch
    in-memory database, batch by batch in file order (its CSV reader preserves it), numbered as they come.

    Stops quietly, leaving `reader.complete` False, at the first error or value with a line break: the caller
    reads on from the first row not yet handed on. 2.6M activity rows: ~1 CPU-s where pyarrow's parse, UTF-8
    check and text conversion took ~3."""
    import duckdb

    quoted = _has_quote(reader.path)
    rows_wanted = _rows_per_batch(reader.path, reader._header_bytes, reader.batch_rows)
    columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    keep = "[" + ", ".join(_lit(n) for n in names) + "]"
    sql = (
        f"SELECT * FROM read_csv({_lit(str(reader.path.resolve()))}, header = true, auto_detect = false, "
        f"columns = {columns}, "
        f"delim = {_lit(reader.delimiter)}, quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        f"force_not_null = {keep}, allow_quoted_nulls = false, buffer_size = {DUCKDB_CSV_BUFFER_BYTES}, "
        f"max_line_size = {min(2 << 20, DUCKDB_CSV_BUFFER_BYTES)})"
    )
    con = duckdb.connect(":memory:", config={"threads": DUCKDB_CSV_THREADS, "memory_limit": "512MB"})
    base = 0
    try:
        con.execute("SET enable_progress_bar = false")
        stream = con.sql(sql).to_arrow_reader(min(ARROW_CHUNK_ROWS, rows_wanted))
        pending: list[pa.RecordBatch] = []
        count = 0
        finished = False
        while not finished:
            try:
                batch = stream.read_next_batch()
                pending.append(batch)
                count += batch.num_rows
            except StopIteration:
                finished = True
            while pending and (count >= rows_wanted or finished):
                whole = pa.Table.from_batches(pending)
                table = whole.slice(0, rows_wanted)
                rest = whole.slice(table.num_rows)
                pending, count = rest.to_batches(), rest.num_rows
                if quoted and _has_line_break(table):
                    return
                columns_of = {n: _as_string(table.column(i)) for i, n in enumerate(names)}
                rows = np.arange(base + 1, base + table.num_rows + 1, dtype=np.int64)
                yield RawBatch(_text_table(columns_of, names, rows, {}), str(reader.path), [])
                base += table.num_rows
        reader.complete = True
    except (duckdb.Error, pa.ArrowException, OSError):  # DuckDB's error arrives through Arrow's stream as OSError
        return  # the careful path reads on from row base + 1 and reports what is wrong there
    finally:
        con.close()


def _as_string(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column if column.type == pa.string() else column.cast(pa.string())


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_record_end(buffer: bytes) -> int:
    """Index just past the first line end outside quotes (the end of the header record), or -1."""
    pos = 0
    while True:
        ends = [p for p in (buffer.find(b"\n", pos), buffer.find(b"\r", pos)) if p >= 0]
        if not ends:
            return -1
        at = min(ends)
        if buffer.count(b'"', 0, at) % 2 == 0:
            if buffer[at : at + 2] == b"\r\n":
                at += 1
            return at + 1
        pos = at + 1


def _skip(stream: Utf8Stream, count: int) -> bytes:
    """Read past the first `count` bytes of the stream; return what was read beyond them."""
    got = b""
    while len(got) < count:
        more = stream.read(max(MIN_CHUNK_BYTES, count - len(got)))
        if not more:
            break
        got += more
    return got[count:]


def _clean(text: str) -> str:
    """A raw line fit for quarantine JSON on every engine (PostgreSQL JSONB cannot hold NUL)."""
    return text.replace("\x00", NUL_SHOWN)


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
        if workspace is not None:
            from leadops.crm.query_paths import anchor_paths

            query = anchor_paths(query, workspace)
        con = sandbox.open_duckdb(target, readable=readable, source=source)
        try:
            sandbox.require_select(con, query, source)
            reader = con.sql(query).to_arrow_reader(batch_rows)
        except (duckdb.Error, IngestError) as exc:
            con.close()
            if isinstance(exc, IngestError):
                raise
            raise IngestError(f"source '{source}': query failed on {shown}: {sandbox.one_line(exc)}") from exc
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
