"""A corpus of broken files: each gets a one-line error or a quarantine reason, and every record is accounted for.

Runs on DuckDB and PostgreSQL alike (the `workspace` fixture). For every run that succeeds, each source's
rows_read = loaded + unchanged + quarantined + filtered, and quarantine holds one entry per quarantined row.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import Workspace
from leadops.crm import ingest
from leadops.crm.report import IngestReport
from leadops.errors import ConfigError, IngestError
from leadops.warehouse.connection import Warehouse

HEADER = "LeadId,AccountId,CreatedDate,Department\n"
WHEN = "2025-03-04T09:15:00Z"


def _config(**source: Any) -> dict[str, Any]:
    spec = {"name": "leads", "table": "leads", "path": "source/leads.csv",
            "columns": {"LeadId": "lead_id", "AccountId": "account_id", "CreatedDate": "created_at",
                        "Department": "department"}} | source  # fmt: skip
    return {"sources": [spec], "contracts": {"leads": {"required": ["lead_id", "created_at"]}}}


def _rows(n: int, start: int = 1) -> str:
    return "".join(f"L{i},A1,{WHEN},Sales\n" for i in range(start, start + n))


def _balanced(report: IngestReport, wh: Warehouse, *, first: bool = True) -> None:
    """The accounting identity, per source and overall, and (first run) quarantine holding the quarantined rows."""
    for s in report.per_source:
        assert s.rows_read == s.rows_loaded + s.rows_unchanged + s.rows_quarantined + s.rows_filtered, s
    total = report.rows_loaded + report.rows_unchanged + report.rows_quarantined + report.rows_filtered
    assert report.rows_read == total
    if first:  # a later run finds the same rows again; quarantine keeps one entry each (deduplicated)
        stored = wh.scalar("SELECT count(*) FROM quarantine WHERE ingest_run_id = ?", [report.run_id])
        assert stored == report.rows_quarantined


def _reasons(wh: Warehouse) -> dict[int, str]:
    return {int(n): str(r) for n, r in wh.rows("SELECT row_number, reason FROM quarantine ORDER BY row_number")}


def _run(workspace: Workspace, body: str | bytes, path: str = "source/leads.csv", **source: Any) -> Any:
    settings, wh = workspace(_config(path=path, **source), {path: body})
    report = ingest(settings, wh)
    _balanced(report, wh)
    return report, wh


def test_an_unclosed_quote_costs_one_line_not_the_rest_of_the_file(workspace: Workspace) -> None:
    body = HEADER + _rows(99) + 'L100,A1,2025-03-04T09:15:00Z,"Sales\n' + _rows(4_900, start=101)
    report, wh = _run(workspace, body)
    assert (report.rows_read, report.rows_loaded) == (5_000, 4_999)
    assert _reasons(wh) == {100: "unclosed_quote"}
    assert wh.scalar("SELECT count(*) FROM leads WHERE lead_id = 'L5000'") == 1


def test_a_stray_quote_closed_by_a_later_one_does_not_swallow_the_lines_between(workspace: Workspace) -> None:
    # the quote opened on row 2 "closes" on row 6, where the field count happens to come out right
    body = HEADER + _rows(1) + f'L2,A1,{WHEN},"Sales\n' + _rows(3, start=3) + f'L6,A1,{WHEN},"IT",x\n' + _rows(1, 7)
    report, wh = _run(workspace, body)
    assert report.rows_read == 7
    assert _reasons(wh) == {2: "unclosed_quote", 6: "wrong_field_count"}
    assert [r[0] for r in wh.rows("SELECT lead_id FROM leads ORDER BY lead_id")] == ["L1", "L3", "L4", "L5", "L7"]


def test_a_quoted_value_over_several_lines_is_one_good_record(workspace: Workspace) -> None:
    report, wh = _run(workspace, HEADER + f'L1,A1,{WHEN},"Sales\nand more"\n' + _rows(1, start=2))
    assert (report.rows_read, report.rows_loaded) == (2, 2)
    assert wh.scalar("SELECT department FROM leads WHERE lead_id = 'L1'") == "Sales\nand more"


def test_too_many_and_too_few_fields_in_the_middle_keep_row_numbers_exact(workspace: Workspace) -> None:
    body = HEADER + _rows(2) + "L3,A1\n" + f"L4,A1,{WHEN},Sales,extra\n" + _rows(2, start=5)
    report, wh = _run(workspace, body)
    assert _reasons(wh) == {3: "wrong_field_count", 4: "wrong_field_count"}
    assert report.rows_loaded == 4


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(codecs.BOM_UTF8 + (HEADER + _rows(3)).replace("\n", "\r\n").encode(), id="bom-crlf"),
        pytest.param((HEADER + _rows(1) + _rows(1, 2).replace("\n", "\r\n") + _rows(1, 3)).encode(), id="mixed-ends"),
        pytest.param((HEADER + _rows(3)).replace("\n", "\r").encode(), id="bare-cr-line-ends"),
        pytest.param(codecs.BOM_UTF16_LE + (HEADER + _rows(3)).encode("utf-16-le"), id="utf16-le-bom"),
        pytest.param(codecs.BOM_UTF16_BE + (HEADER + _rows(3)).encode("utf-16-be"), id="utf16-be-bom"),
        pytest.param((HEADER + _rows(3)).encode("utf-16-le"), id="utf16-le-no-bom"),
    ],
)
def test_encodings_and_line_endings_load_every_row(workspace: Workspace, body: bytes) -> None:
    report, wh = _run(workspace, body)
    assert (report.rows_read, report.rows_loaded) == (3, 3)
    assert [r[0] for r in wh.rows("SELECT lead_id FROM leads ORDER BY lead_id")] == ["L1", "L2", "L3"]


@pytest.mark.parametrize("codec, name", [("gzip", "leads.csv.gz"), ("zstd", "leads.csv.zst"), ("zstd", "leads.csv")])
def test_compressed_sources_are_read_by_their_magic_bytes(workspace: Workspace, codec: str, name: str) -> None:
    out = pa.BufferOutputStream()
    with pa.CompressedOutputStream(out, codec) as stream:
        stream.write((HEADER + _rows(2_000)).encode())
    report, _ = _run(workspace, out.getvalue().to_pybytes(), path=f"source/{name}")
    assert report.rows_loaded == 2_000


def test_a_truncated_gzip_fails_the_run_with_the_file_named_and_keeps_nothing(workspace: Workspace) -> None:
    whole = gzip.compress((HEADER + _rows(200_000)).encode())
    settings, wh = workspace(_config(path="source/leads.csv.gz", batch_rows=1_000),
                             {"source/leads.csv.gz": whole[: len(whole) // 2]})  # fmt: skip
    with pytest.raises(IngestError, match=r"leads\.csv\.gz is a truncated or damaged gzip file"):
        ingest(settings, wh)
    assert wh.scalar("SELECT count(*) FROM leads") == 0  # the rows before the cut were never visible
    assert wh.rows("SELECT status FROM ingest_runs") == [("failed",)]


def test_a_file_named_gz_that_is_not_gzip_is_a_clear_error(workspace: Workspace) -> None:
    settings, wh = workspace(_config(path="source/leads.csv.gz"), {"source/leads.csv.gz": HEADER + _rows(1)})
    with pytest.raises(IngestError, match="named like a gzip file but does not start with gzip magic bytes"):
        ingest(settings, wh)


def test_empty_file_is_an_error_and_a_header_alone_is_zero_rows(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": ""})
    with pytest.raises(IngestError, match="is empty"):
        ingest(settings, wh)
    report, _ = _run(workspace, HEADER)
    assert (report.status, report.rows_read) == ("succeeded", 0)


def test_a_duplicated_header_names_the_column_and_both_positions(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": "LeadId,AccountId,CreatedDate,LeadId\n" + _rows(1)})
    with pytest.raises(IngestError, match=r"'LeadId' 2 times in its header \(columns 1, 4\)"):
        ingest(settings, wh)


def test_nul_bytes_and_latin1_bytes_quarantine_their_row_on_every_engine(workspace: Workspace) -> None:
    body = (HEADER + _rows(1)).encode() + f"L2,A1,{WHEN},Sa\x00les\n".encode() + b"L3,A1," + WHEN.encode()
    body += b",Ventes \xe9t\xe9\n" + _rows(1, start=4).encode()
    report, wh = _run(workspace, body)
    assert _reasons(wh) == {2: "bad_encoding", 3: "bad_encoding"}
    assert report.rows_loaded == 2
    raw = json.loads(str(wh.scalar("SELECT CAST(raw AS VARCHAR) FROM quarantine WHERE row_number = 2")))
    assert raw["Department"] == "Sa\u2400les"  # shown, never stored as a NUL (PostgreSQL JSONB cannot hold one)


def test_a_key_longer_than_an_index_entry_is_quarantined_not_fatal(workspace: Workspace) -> None:
    long_key = "L" * 3_000
    report, wh = _run(workspace, HEADER + _rows(1) + f"{long_key},A1,{WHEN},Sales\n" + _rows(1, start=3))
    assert _reasons(wh) == {2: "out_of_range"}
    assert report.rows_loaded == 2


def test_a_10_mb_field_loads_whole(workspace: Workspace) -> None:
    big = "x" * (10 << 20)
    report, wh = _run(workspace, HEADER + f'L1,A1,{WHEN},"{big}"\n' + _rows(1, start=2))
    assert report.rows_loaded == 2
    assert wh.scalar("SELECT length(department) FROM leads WHERE lead_id = 'L1'") == 10 << 20


def test_offsets_no_clock_has_are_unparseable_timestamps(workspace: Workspace) -> None:
    times = ["2025-01-01T00:00:00+25:00", "2025-01-01T00:00:00+14:00", "2025-01-01T00:00:00+05:99",
             "2025-01-01 10:00:00-0330", "2025-01-01T00:00:00Z"]  # fmt: skip
    body = HEADER + "".join(f"L{i},A1,{t},Sales\n" for i, t in enumerate(times, start=1))
    report, wh = _run(workspace, body)
    assert report.rows_loaded == 3
    assert _reasons(wh) == {1: "unparseable_timestamp", 3: "unparseable_timestamp"}
    assert wh.scalar("SELECT CAST(created_at AS VARCHAR) FROM leads WHERE lead_id = 'L4'").startswith(
        "2025-01-01 13:30:00"
    )


def test_non_finite_and_huge_numbers_in_data_are_quarantined(workspace: Workspace) -> None:
    config = {"sources": [{"name": "acc", "table": "accounts", "path": "source/a.csv",
                           "columns": {"Id": "account_id", "Emp": "employees", "Rev": "annual_revenue"}}]}  # fmt: skip
    rows = ["A1,10,100", f"A2,10,{'9' * 400}", "A3,10,1e400", "A4,nan,1", "A5,10,inf", f"A6,{'9' * 30},1"]
    settings, wh = workspace(config, {"source/a.csv": "Id,Emp,Rev\n" + "\n".join(rows) + "\n"})
    report = ingest(settings, wh)
    _balanced(report, wh)
    assert report.rows_loaded == 1
    assert _reasons(wh) == {2: "wrong_type", 3: "wrong_type", 4: "wrong_type", 5: "wrong_type", 6: "out_of_range"}


@pytest.mark.parametrize(
    "contracts, constants, message",
    [
        ({"accounts": {"ranges": {"annual_revenue": {"max": float("inf")}}}}, {}, "is not a finite number"),
        ({"accounts": {"ranges": {"employees": {"min": float("nan")}}}}, {}, "is not a finite number"),
        ({}, {"annual_revenue": int("9" * 400)}, "has 400 digits, too large for a number"),
    ],
)
def test_non_finite_or_huge_numbers_in_config_are_one_line_config_errors(
    workspace: Workspace, contracts: dict[str, Any], constants: dict[str, Any], message: str
) -> None:
    config = {"sources": [{"name": "acc", "table": "accounts", "path": "source/a.csv", "columns": {"Id": "account_id"},
                           "constants": constants}], "contracts": contracts}  # fmt: skip
    with pytest.raises(ConfigError, match=message) as caught:
        workspace(config, {"source/a.csv": "Id\nA1\n"})
    assert "\n" not in str(caught.value)


def test_a_second_ingest_of_an_unchanged_file_loads_nothing_and_says_so(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": HEADER + _rows(50) + "L51,A1\n"})
    first = ingest(settings, wh)
    second = ingest(settings, wh)
    _balanced(second, wh, first=False)
    assert (first.rows_loaded, first.rows_unchanged) == (50, 0)
    assert (second.rows_loaded, second.rows_unchanged, second.rows_quarantined) == (0, 50, 1)


KILLER = """
import os, sys
from leadops.config import load
from leadops.crm import ingest
from leadops.warehouse import open_warehouse
settings = load(sys.argv[1], environ={"LEADOPS_WAREHOUSE__URL": sys.argv[2]})
wh = open_warehouse(settings.warehouse.url, settings.workspace)
def die(source, rows):
    if rows >= 2000:
        os._exit(9)  # as abrupt as kill -9: no rollback, no cleanup, no status update
ingest(settings, wh, progress=die)
"""


def test_a_killed_ingest_leaves_no_rows_and_is_marked_failed_by_the_next_run(workspace: Workspace) -> None:
    settings, wh = workspace(_config(batch_rows=1_000), {"source/leads.csv": HEADER + _rows(5_000)})
    url = settings.warehouse.url
    wh.close()  # DuckDB admits one writing process
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", KILLER, str(settings.workspace), url], env=env, check=False)
    assert done.returncode == 9
    with Warehouse(url, base_dir=Path(settings.workspace)) as after:
        assert after.scalar("SELECT count(*) FROM leads") == 0  # two batches were written, none is visible
        assert after.rows("SELECT status FROM ingest_runs") == [("running",)]
        report = ingest(settings, after)
        _balanced(report, after)
        assert report.rows_loaded == 5_000 and len(report.interrupted_runs) == 1
        statuses = after.rows("SELECT run_id, status FROM ingest_runs ORDER BY started_at")
        assert [s for _, s in statuses] == ["failed", "succeeded"]
        note = after.scalar("SELECT CAST(report AS VARCHAR) FROM ingest_runs WHERE status = 'failed'")
        assert "interrupted" in str(note)


def test_ingest_json_reports_all_five_counts(workspace: Workspace) -> None:
    report, _ = _run(workspace, HEADER + _rows(3))
    data = json.loads(json.dumps(report.to_dict(), default=str))
    for key in ("rows_read", "rows_loaded", "rows_unchanged", "rows_quarantined", "rows_filtered"):
        assert key in data and key in data["per_source"][0]


def test_the_cli_says_what_broke_in_one_line_with_the_ingest_exit_code(tmp_path: Path) -> None:
    import yaml
    from typer.testing import CliRunner

    from leadops.cli import app

    (tmp_path / "source").mkdir()
    whole = gzip.compress((HEADER + _rows(50_000)).encode())
    (tmp_path / "source" / "leads.csv.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "leadops.yaml").write_text(yaml.safe_dump(_config(path="source/leads.csv.gz")), encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", "--workspace", str(tmp_path), "--json"])
    assert result.exit_code == 6, result.output
    assert "Traceback" not in result.output
    assert "leads.csv.gz is a truncated or damaged gzip file" in result.output


def test_a_value_the_engine_still_refuses_is_quarantined_by_itself(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leadops.crm.contracts as contracts

    monkeypatch.setattr(contracts, "MAX_KEY_CHARS", 10**7)  # let a key past PostgreSQL's index limit through
    long_key = "".join(f"{i:x}" for i in range(2_000))  # varied text: the index entry cannot compress small
    report, wh = _run(workspace, HEADER + _rows(2) + f"{long_key},A1,{WHEN},Sales\n" + _rows(2, start=4))
    if wh.dialect == "postgres":
        assert _reasons(wh) == {3: "rejected_by_warehouse"}
        assert "index" in str(wh.scalar("SELECT detail FROM quarantine"))
        assert report.rows_loaded == 4
    else:
        assert report.rows_loaded == 5


@pytest.mark.parametrize("ends", ["\n", "\r\n", "\r"])
def test_a_chunk_without_quotes_parses_as_with_quote_tracking(tmp_path: Path, ends: str) -> None:
    from leadops.crm.readers import CsvReader

    body = HEADER + _rows(3) + "L4,A1\n" + f"L5,A1,{WHEN},Sales,extra\n" + _rows(3, start=6)
    path = tmp_path / "leads.csv"
    path.write_bytes(body.replace("\n", ends).encode())
    reader = CsvReader(path, source="leads", delimiter=",", encoding="utf-8", batch_rows=1_000)
    reader.header()
    chunk = body.replace("\n", ends).encode()[len(HEADER.replace("\n", ends)) :]
    assert b'"' not in chunk
    for threads in (True, False):
        fast, fast_skipped = reader._parse(chunk, threads=threads, quoted=False)
        slow, slow_skipped = reader._parse(chunk, threads=threads, quoted=True)
        assert fast.equals(slow) and fast_skipped == slow_skipped
        assert fast.num_rows == 6 and [s[2:] for s in fast_skipped] == [(4, 2), (4, 5)]


def test_wide_rows_make_smaller_batches_never_a_larger_one_and_every_row_keeps_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadops.crm import readers

    monkeypatch.setattr(readers, "MAX_CHUNK_BYTES", readers.MIN_CHUNK_BYTES)  # 1 MB: a few thousand wide rows
    wide = "x" * 180
    path = tmp_path / "leads.csv"
    path.write_text("LeadId,Note\n" + "".join(f"L{i:06d},{wide}\n" for i in range(1, 20_001)), encoding="utf-8")
    reader = readers.CsvReader(path, source="leads", delimiter=",", encoding="utf-8", batch_rows=1_000_000)
    batches = list(reader.batches())
    sizes = [b.table.num_rows for b in batches]
    assert sum(sizes) == 20_000 and len(batches) >= 4, sizes
    # each batch parses about MAX_CHUNK_BYTES of rows (a record-aligned cut of one read), whatever batch_rows says
    assert max(sizes) * 192 <= 2 * readers.MIN_CHUNK_BYTES, sizes
    numbers = [n for b in batches for n in b.table.column("_row").to_pylist()]
    assert numbers == list(range(1, 20_001))
    assert [b.table.column("LeadId")[0].as_py() for b in batches[:2]] == ["L000001", f"L{sizes[0] + 1:06d}"]
