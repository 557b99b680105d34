"""DuckDB's read_csv parses plain CSV files exactly as the pyarrow path does: same values, row numbers and
set-aside records, handing over to pyarrow at the first record it cannot take."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from leadops.crm import readers
from leadops.crm.mapping import _missing
from leadops.crm.readers import ROW, CsvReader, RawBatch

HEADER = b"LeadId,Name,Note\n"


def _read(path: Path, *, fast: bool, batch_rows: int = 1_000) -> tuple[CsvReader, list[RawBatch]]:
    reader = CsvReader(path, source="leads", delimiter=",", encoding="utf-8", batch_rows=batch_rows, fast=fast)
    return reader, list(reader.batches())


def _same_as_pyarrow(path: Path, *, batch_rows: int = 1_000) -> CsvReader:
    """Read the file both ways; assert the rows, their numbers and the set-aside records are identical."""
    fast, got = _read(path, fast=True, batch_rows=batch_rows)
    slow, want = _read(path, fast=False, batch_rows=batch_rows)
    assert slow.parsed_by == "pyarrow"
    schema = want[0].table.schema if want else None
    tables = [b.table.cast(schema) if schema else b.table for b in got if b.table.num_rows]
    got_rows = pa.concat_tables(tables).to_pylist() if tables else []
    want_rows = pa.concat_tables([b.table for b in want]).to_pylist() if want else []
    assert got_rows == want_rows
    assert [m for b in got for m in b.malformed] == [m for b in want for m in b.malformed]
    return fast


VALID = {
    "lf": b"L1,Ann,x\nL2,Bob,y\n",
    "crlf": b"L1,Ann,x\r\nL2,Bob,y\r\n",
    "cr": b"L1,Ann,x\rL2,Bob,y\r",
    "no_final_newline": b"L1,Ann,x\nL2,Bob,y",
    "blank_lines": b"L1,Ann,x\n\nL2,Bob,y\n\n\n",
    "padded": b" L1 , Ann ,  \nL2,Bob,y\n",
    "empty_and_quoted_empty": b'L1,,""\nL2,"",\n',
    "quoted_delimiter_and_doubled_quote": b'L1,"Doe, Ann","say ""hi"""\nL2,Bob,y\n',
    "quote_inside_value": b'L1,O"Brien,x\nL2,Bob,y\n',
    "nul_byte": b"L1,A\x00nn,x\nL2,Bob,y\n",
    "unicode": "L1,Zoë,naïve ✓\nL2,Bob,日本\n".encode(),
    "missing_tokens": b"L1,NA,null\nL2, N/A ,NULL\n",
}


@pytest.mark.parametrize("case", sorted(VALID))
def test_duckdb_reads_a_valid_file_like_pyarrow(tmp_path: Path, case: str) -> None:
    path = tmp_path / "leads.csv"
    ending = {"crlf": b"\r\n", "cr": b"\r"}.get(case, b"\n")  # (mixed line ends take the pyarrow path)
    path.write_bytes(HEADER.replace(b"\n", ending) + VALID[case])
    reader = _same_as_pyarrow(path)
    assert reader.parsed_by == "duckdb"


BROKEN = {
    "wrong_field_count": b"L4,Dee,x,extra\n",
    "too_few_fields": b"L4,Dee\n",
    "invalid_utf8": b"L4,D\xffee,x\n",
    "unclosed_quote": b'L4,"Dee,x\n',
    "line_break_in_value": b'L4,"De\ne",x\n',
    "spaces_only_line": b"   \n",
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_record_duckdb_cannot_take_hands_the_rest_to_pyarrow_with_exact_row_numbers(
    tmp_path: Path, case: str
) -> None:
    rows = [f"L{i},Name{i},note {i}\n".encode() for i in range(1, 30_001)]
    rows.insert(25_000, BROKEN[case])  # past the first batches DuckDB hands on
    path = tmp_path / "leads.csv"
    path.write_bytes(HEADER + b"".join(rows))
    reader = _same_as_pyarrow(path)
    assert reader.parsed_by in ("duckdb+pyarrow", "pyarrow")
    assert not reader.complete


def test_handing_over_midway_keeps_the_rows_duckdb_already_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "DUCKDB_CSV_BUFFER_BYTES", 1 << 16)  # DuckDB hands on rows before it meets the error
    rows = [f"L{i},Name{i},note {i}\n".encode() for i in range(1, 30_001)]
    rows.append(b"L30001,Dee,x,extra\n")
    path = tmp_path / "leads.csv"
    path.write_bytes(HEADER + b"".join(rows) + b"L30002,Eve,y\n")
    reader, batches = _read(path, fast=True)
    assert reader.parsed_by == "duckdb+pyarrow"
    numbers = [n for b in batches for n in b.table.column(ROW).to_pylist()]
    assert numbers == [*range(1, 30_001), 30_002]
    assert [(m.row_number, m.reason) for b in batches for m in b.malformed] == [(30_001, "wrong_field_count")]


def test_rows_keep_the_files_order_and_numbers_across_duckdbs_parallel_scan(tmp_path: Path) -> None:
    keys = list(range(200_000))
    random.Random(7).shuffle(keys)
    path = tmp_path / "leads.csv"
    path.write_bytes(HEADER + "".join(f"K{k},n,{'x' * (k % 50)}\n" for k in keys).encode())
    reader, batches = _read(path, fast=True, batch_rows=50_000)
    assert reader.parsed_by == "duckdb" and len(batches) == 4
    got = [(int(r[ROW]), r["LeadId"]) for b in batches for r in b.table.select([ROW, "LeadId"]).to_pylist()]
    assert got == [(i, f"K{k}") for i, k in enumerate(keys, start=1)]


def test_compressed_or_utf16_files_take_the_pyarrow_path(tmp_path: Path) -> None:
    body = HEADER + VALID["lf"]
    gz = tmp_path / "leads.csv.gz"
    gz.write_bytes(gzip.compress(body))
    utf16 = tmp_path / "leads16.csv"
    utf16.write_bytes(body.decode().encode("utf-16"))
    for path in (gz, utf16):
        reader, batches = _read(path, fast=True)
        assert reader.parsed_by == "pyarrow"
        assert [b.table.num_rows for b in batches] == [2]


def test_a_file_named_like_a_glob_is_read_alone(tmp_path: Path) -> None:
    (tmp_path / "leads[1].csv").write_bytes(HEADER + b"L1,Ann,x\n")
    (tmp_path / "leads1.csv").write_bytes(HEADER + b"L9,Other,file\n")  # what DuckDB's glob would match
    reader, batches = _read(tmp_path / "leads[1].csv", fast=True)
    assert reader.parsed_by == "pyarrow"
    assert [r["LeadId"] for b in batches for r in b.table.to_pylist()] == ["L1"]


def test_the_nul_test_off_the_data_buffer_finds_every_nul() -> None:
    clean = pa.array(["abc", None, "", "de"])
    assert not readers._may_hold_nul(clean)
    assert readers._may_hold_nul(pa.array(["abc", "d\x00e"]))
    assert readers._may_hold_nul(pa.chunked_array([clean, pa.array(["\x00"])]))
    assert not readers._may_hold_nul(pa.array([None, None], pa.string()))
    # a slice shares its parent's buffer: a NUL outside it may say yes, never no to one inside
    assert readers._may_hold_nul(pa.array(["x\x00", "ab"]).slice(0, 1))


@pytest.mark.parametrize("tokens", [["", "NA", "N/A", "null", "NULL"], [" NA", "n a", "?"], [" only-edged "], []])
def test_the_missing_value_test_equals_trimming_every_value(tokens: list[str]) -> None:
    values = ["", " ", "NA", " NA", "NA ", "  NA  ", "\tNA", "N/A", "n a", " n a ", "?", " ? ", "null", "NULLX",
              "x", " only-edged ", "only-edged", "Zoë", None]  # fmt: skip
    con = duckdb.connect()
    con.execute("CREATE TABLE v (i INTEGER, x VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?)", list(enumerate(values)))
    quoted = ", ".join("'" + t.replace("'", "''") + "'" for t in tokens)
    reference = f"CASE WHEN trim(x) IN ({quoted}) THEN NULL ELSE x END" if tokens else "x"
    got = con.sql(f"SELECT i, {_missing('x', tokens)} FROM v ORDER BY i").fetchall()
    want = con.sql(f"SELECT i, {reference} FROM v ORDER BY i").fetchall()
    assert got == want
