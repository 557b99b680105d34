"""Keys across batches and runs: first occurrence wins, re-ingest changes nothing, events stay immutable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from conftest import LEADS_HEADER, Workspace, crm_config
from leadops.crm import ingest

ROWS = 2_500  # three batches of 1,000


def _activities(repeat: dict[int, int], value: int = 1) -> bytes:
    """ROWS activities of lead L1 as Parquet (read in exact batches); row r reuses row repeat[r]'s key."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = [f"X{repeat.get(row, row)}" for row in range(1, ROWS + 1)]
    table = pa.table({
        "ActivityId": keys, "LeadId": ["L1"] * ROWS, "ActivityDate": ["2025-03-04T09:15:00+01:00"] * ROWS,
        "ActivityType": ["page_view"] * ROWS, "Channel": ["web"] * ROWS, "Value": [value] * ROWS,
    })  # fmt: skip
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _config(batch_rows: int = 1_000) -> dict[str, Any]:
    config = crm_config()
    config["sources"] = [s for s in config["sources"] if s["name"] in ("crm_leads", "crm_activities")]
    for source in config["sources"]:
        source["batch_rows"] = batch_rows
        if source["name"] == "crm_activities":
            source["path"] = "source/activities.parquet"
    return config


def _leads(level: str = "VP") -> str:
    return LEADS_HEADER + f"L1,A1,2025-03-01T00:00:00Z,a@acme.com,{level},Sales,US,Webinar,false,false\n"


def _quarantine(wh: Any) -> list[tuple[str, int, str, str]]:
    return sorted(wh.rows("SELECT source, row_number, field, reason FROM quarantine"))


def test_a_key_repeated_in_a_later_batch_is_quarantined_and_the_first_row_kept(workspace: Workspace) -> None:
    # row 1500 repeats row 10 (previous batch), row 2400 repeats row 2300 (same batch)
    settings, wh = workspace(_config(), {"source/leads.csv": _leads(),
                                         "source/activities.parquet": _activities({1500: 10, 2400: 2300})})  # fmt: skip
    report = ingest(settings, wh)
    source = next(s for s in report.per_source if s.name == "crm_activities")
    assert source.batches == 3 and source.rows_loaded == ROWS - 2
    assert _quarantine(wh) == [
        ("crm_activities", 1500, "activity_id", "duplicate_key"),
        ("crm_activities", 2400, "activity_id", "duplicate_key"),
    ]
    assert wh.scalar("SELECT count(*) FROM activities") == ROWS - 2
    assert wh.scalar("SELECT count(DISTINCT activity_id) FROM activities") == ROWS - 2
    # 09:15 at +01:00 is 08:15 UTC
    assert wh.rows("SELECT DISTINCT occurred_at FROM activities") == [(datetime(2025, 3, 4, 8, 15),)]


def test_reingest_across_batches_finds_the_same_duplicates_and_adds_nothing(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": _leads(),
                                         "source/activities.parquet": _activities({1500: 10, 2400: 2300})})  # fmt: skip
    first = ingest(settings, wh)
    counts = wh.counts()
    quarantined = _quarantine(wh)
    # second run: every key is already there from the first; the repeats must still be caught
    second = ingest(settings, wh)
    assert wh.counts() == counts
    assert _quarantine(wh) == quarantined
    assert second.quarantine_reasons == first.quarantine_reasons == {"duplicate_key": 2}
    assert (second.rows_loaded, second.rows_unchanged) == (0, first.rows_loaded)
    assert wh.scalar("SELECT count(DISTINCT activity_id) FROM activities") == ROWS - 2
    assert wh.scalar("SELECT count(DISTINCT ingest_run_id) FROM activities") == 1
    assert wh.scalar("SELECT ingest_run_id FROM activities LIMIT 1") == second.run_id


def test_reingest_updates_leads_but_keeps_activities_as_first_delivered(workspace: Workspace) -> None:
    files = {"source/leads.csv": _leads("VP"), "source/activities.parquet": _activities({})}
    settings, wh = workspace(_config(), files)
    ingest(settings, wh)
    (settings.workspace / "source" / "leads.csv").write_text(_leads("Director"), encoding="utf-8")
    (settings.workspace / "source" / "activities.parquet").write_bytes(_activities({}, value=7))
    report = ingest(settings, wh)
    # the lead changed (loaded); the re-delivered events are kept as they were (unchanged)
    assert (report.rows_loaded, report.rows_unchanged, report.rows_quarantined) == (1, ROWS, 0)
    assert wh.rows("SELECT job_level FROM leads") == [("director",)]
    # activities are immutable events: a re-delivered key keeps its first values
    assert wh.rows("SELECT DISTINCT value FROM activities") == [(1.0,)]
    assert wh.scalar("SELECT count(*) FROM activities") == ROWS


def test_activities_keep_their_columns_without_a_key_index_after_migration_5(workspace: Workspace) -> None:
    _, wh = workspace(_config(), {})
    assert wh.schema_version() >= 5
    assert list(wh.columns("activities")) == [
        "activity_id", "lead_id", "occurred_at", "activity_type", "channel", "value", "ingest_run_id", "properties"
    ]  # fmt: skip
    row = "('A', 'L', TIMESTAMP '2025-01-01 00:00:00', 'page_view')"
    wh.execute(f"INSERT INTO activities (activity_id, lead_id, occurred_at, activity_type) VALUES {row}, {row}")
    assert wh.scalar("SELECT count(*) FROM activities") == 2


def _padded(keys: list[str]) -> bytes:
    """Activities of lead L1 as Parquet with exactly these keys, in this order."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(keys)
    table = pa.table({
        "ActivityId": keys, "LeadId": ["L1"] * n, "ActivityDate": ["2025-03-04T09:15:00+01:00"] * n,
        "ActivityType": ["page_view"] * n, "Channel": ["web"] * n, "Value": [1] * n,
    })  # fmt: skip
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _spy_fresh(monkeypatch: Any) -> list[tuple[str, bool]]:
    """Record, per batch, whether the classification skipped probing the target (KeyMarks.fresh)."""
    from leadops.crm import loader

    seen: list[tuple[str, bool]] = []
    real = loader.flags_sql

    def spy(table: Any, *args: Any, **kwargs: Any) -> str:
        seen.append((table.name, bool(kwargs.get("fresh"))))
        return real(table, *args, **kwargs)

    monkeypatch.setattr(loader, "flags_sql", spy)
    return seen


def test_keys_in_order_skip_the_target_probe_on_a_first_load_and_keys_at_or_below_the_mark_do_not(
    workspace: Workspace, monkeypatch: Any
) -> None:
    keys = [f"A{i:05d}" for i in range(1, ROWS + 1)]
    keys[1000] = keys[999]  # batch 2 starts with batch 1's last key: at the mark, so probed and caught
    keys[2200] = keys[5]  # batch 3 repeats an early key: below the mark, probed and caught
    settings, wh = workspace(_config(), {"source/leads.csv": _leads(), "source/activities.parquet": _padded(keys)})
    seen = _spy_fresh(monkeypatch)
    source = next(s for s in ingest(settings, wh).per_source if s.name == "crm_activities")
    assert source.rows_loaded == ROWS - 2 and source.rows_quarantined == 2
    assert _quarantine(wh) == [
        ("crm_activities", 1001, "activity_id", "duplicate_key"),
        ("crm_activities", 2201, "activity_id", "duplicate_key"),
    ]
    if wh.dialect == "duckdb":
        assert [f for t, f in seen if t == "activities"] == [True, False, False]
    seen.clear()
    again = next(s for s in ingest(settings, wh).per_source if s.name == "crm_activities")
    assert again.rows_loaded == 0 and again.rows_unchanged == ROWS - 2 and again.rows_quarantined == 2
    assert not any(f for t, f in seen if t == "activities"), "a table that held rows is always probed"
    assert wh.scalar("SELECT count(*) FROM activities") == ROWS - 2


def test_a_second_source_of_the_same_table_is_checked_against_the_first_in_one_run(
    workspace: Workspace, monkeypatch: Any
) -> None:
    config = _config()
    second = dict(next(s for s in config["sources"] if s["name"] == "crm_activities"))
    second.update(name="crm_activities_2", path="source/more.parquet")
    config["sources"].append(second)
    first = [f"A{i:05d}" for i in range(1, 1_501)]
    more = [f"B{i:05d}" for i in range(1, 1_001)] + ["A00700"]  # above the mark, then one key the first loaded
    settings, wh = workspace(
        config,
        {
            "source/leads.csv": _leads(),
            "source/activities.parquet": _padded(first),
            "source/more.parquet": _padded(more),
        },
    )
    seen = _spy_fresh(monkeypatch)
    report = ingest(settings, wh)
    two = next(s for s in report.per_source if s.name == "crm_activities_2")
    assert two.rows_loaded == 1_000 and two.rows_quarantined == 1
    assert _quarantine(wh) == [("crm_activities_2", 1001, "activity_id", "duplicate_key")]
    if wh.dialect == "duckdb":
        assert [f for t, f in seen if t == "activities"] == [True, True, True, False]
    assert wh.scalar("SELECT count(*) FROM activities") == 2_500


def _mib(setting: str) -> float:
    number, unit = setting.split()
    return float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "TiB": 1 << 20}[unit]


def _spy_on_the_cap(monkeypatch: Any) -> list[int]:
    """Every buffer-pool cap ingest sets (`_Run.fit_memory_limit`), in order."""
    from leadops.crm import loader

    limits: list[int] = []
    real = loader._Run.fit_memory_limit

    def spy(self: Any) -> int:
        limits.append(real(self))
        return limits[-1]

    monkeypatch.setattr(loader._Run, "fit_memory_limit", spy)
    return limits


@pytest.mark.slow
@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)  # DuckDB's own buffer pool: no PostgreSQL run
def test_the_buffer_pool_cap_grows_with_what_duckdb_cannot_evict_so_a_low_cap_never_runs_out(
    workspace: Workspace, monkeypatch: Any
) -> None:
    from leadops.crm import loader

    monkeypatch.setattr(loader, "INGEST_MEMORY_LIMIT_MB", 1)
    monkeypatch.setattr(loader, "INGEST_MEMORY_HEADROOM_MB", 24)
    limits = _spy_on_the_cap(monkeypatch)
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 60_000
    names = LEADS_HEADER.strip().split(",")
    values = {"LeadId": [f"LEAD-{i:09d}" for i in range(n)], "AccountId": ["A1"] * n,
              "CreatedDate": ["2025-03-01T00:00:00Z"] * n, "Email": [None] * n, "JobLevel": ["VP"] * n,
              "Department": ["Sales"] * n, "Country": ["US"] * n, "LeadSource": ["Webinar"] * n,
              "HasOptedOutOfEmail": ["false"] * n, "DoNotCall": ["false"] * n}  # fmt: skip
    out = io.BytesIO()
    pq.write_table(pa.table({c: pa.array(values[c], pa.string()) for c in names}), out)  # read in exact batches
    config = _config(batch_rows=10_000)
    config["sources"] = [s for s in config["sources"] if s["name"] == "crm_leads"]
    config["sources"][0]["path"] = "source/leads.parquet"
    settings, wh = workspace(config, {"source/leads.parquet": out.getvalue()})
    before = wh.scalar("SELECT current_setting('memory_limit')")
    report = ingest(settings, wh)
    assert report.status == "succeeded" and report.rows_loaded == n
    after = wh.scalar("SELECT current_setting('memory_limit')")
    assert abs(_mib(after) - _mib(before)) <= 0.01 * _mib(before), (after, before)  # restored (as DuckDB prints it)
    assert len(limits) == 1 + 6, limits  # the run's start, then before each of the six batches
    assert limits[0] >= 24 and limits[-1] > limits[0], limits  # the leads' key index grew past what 24 MB leaves
    assert limits == sorted(limits)


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)  # DuckDB's own buffer pool: no PostgreSQL run
def test_ingest_inside_few_checkpoints_leaves_the_buffer_pool_uncapped(workspace: Workspace, monkeypatch: Any) -> None:
    """The closed loop defers DuckDB's checkpoints, so its committed days wait in memory: a cap there ran out."""
    capped = _spy_on_the_cap(monkeypatch)
    rows = "".join(f"LEAD-{i:06d},A1,2025-03-01T00:00:00Z,,VP,Sales,US,Webinar,false,false\n" for i in range(300))
    config = _config()
    config["sources"] = [s for s in config["sources"] if s["name"] == "crm_leads"]
    settings, wh = workspace(config, {"source/leads.csv": LEADS_HEADER + rows})
    with wh.few_checkpoints():
        report = ingest(settings, wh)
    assert report.status == "succeeded" and report.rows_loaded == 300 and capped == []
    wh.execute("DELETE FROM leads")
    assert ingest(settings, wh).rows_loaded == 300 and capped  # outside it, the cap applies as before
