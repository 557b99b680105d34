"""`leadops erase` reaches monitoring's kept samples: an erased lead's rows leave every sample file, the rest stay."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import cli
from leadops.cli import app
from leadops.crm.erase_samples import KEY, erase_in_samples, key_of

runner = CliRunner()


def test_key_of_is_the_sha256_the_suppression_list_keeps() -> None:
    assert key_of("LEAD-00000042") == hashlib.sha256(b"LEAD-00000042").hexdigest()


def test_their_rows_leave_a_keyed_file_an_unkeyed_one_goes_and_a_dry_run_changes_nothing(tmp_path: Path) -> None:
    keyed = tmp_path / "run-1.v1.open-100.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], KEY: [key_of("A"), key_of("B"), key_of("A")]}), keyed)
    unkeyed = tmp_path / "run-0.v1.open-100.parquet"
    pq.write_table(pa.table({"x": [9.0, 8.0]}), unkeyed)

    planned = erase_in_samples([tmp_path, tmp_path / "absent"], ["A"], dry_run=True)
    assert planned == {str(unkeyed): 2, str(keyed): 2}
    assert pq.read_table(keyed).num_rows == 3 and unkeyed.exists()

    done = erase_in_samples([tmp_path], ["A"], dry_run=False)
    assert done == planned
    left = pq.read_table(keyed)
    assert left.column("x").to_pylist() == [2.0] and left.column(KEY).to_pylist() == [key_of("B")]
    assert not unkeyed.exists()
    assert erase_in_samples([tmp_path], ["A"], dry_run=False) == {}  # idempotent


def test_an_unreadable_sample_fails_naming_the_file(tmp_path: Path) -> None:
    from leadops.crm.erase_samples import SampleEraseError

    bad = tmp_path / "broken.v1.open-100.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(SampleEraseError, match=r"broken\.v1\.open-100\.parquet") as caught:
        erase_in_samples([tmp_path], ["A"], dry_run=False)
    assert caught.value.exit_code == 43


@pytest.mark.slow
def test_erase_removes_a_monitored_lead_from_the_kept_samples_and_monitor_still_runs(monitored: Path) -> None:
    ws = str(monitored)
    cli("monitor", "--workspace", ws)
    samples = sorted((monitored / "monitoring" / "samples").glob("*.parquet"))
    assert samples
    kept = pd.concat([pd.read_parquet(p) for p in samples])
    assert "lead_id" not in kept.columns and kept[KEY].notna().all()
    import duckdb

    with duckdb.connect(str(monitored / "warehouse.duckdb"), read_only=True) as con:
        ids = [str(r[0]) for r in con.execute("SELECT lead_id FROM leads").fetchall()]
    by_key = {key_of(i): i for i in ids}
    victim = by_key[str(kept[KEY].iloc[0])]
    before = {str(p): int((pd.read_parquet(p)[KEY] == key_of(victim)).sum()) for p in samples}
    rows = {str(p): len(pd.read_parquet(p)) for p in samples}

    result = runner.invoke(app, ["erase", victim, "--workspace", ws, "--json"])
    assert result.exit_code == 0, result.output
    erased = json.loads(result.stdout)
    assert erased["samples"] == {p: n for p, n in before.items() if n}
    for p in samples:
        after = pd.read_parquet(p)
        assert key_of(victim) not in set(after[KEY]) and len(after) == rows[str(p)] - before[str(p)]
    again = cli("monitor", "--workspace", ws)  # reads the rewritten samples
    assert again["reference_rows"] + again["sample_rows"] > 0
