"""The Salesforce-shaped export, mapped by `init --export-format salesforce` alone, gives the flat export's rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import pg_url, with_schema
from leadops.config import load
from leadops.crm import ingest
from leadops.crm.schema import TABLE_ORDER
from leadops.errors import ConfigError
from leadops.simulate import simulate
from leadops.simulate.salesforce import SALESFORCE_FILES
from leadops.warehouse.connection import Warehouse, open_warehouse
from leadops.workspace import init_workspace

LEADS, DAYS, SEED = 1_500, 90, 7


def _workspace(root: Path, export_format: str, url: str) -> tuple[Any, Warehouse, dict[str, Any]]:
    init_workspace(root, export_format=export_format)
    summary = simulate(root, leads=LEADS, days=DAYS, seed=SEED, export_format=export_format)
    settings = load(root, environ={"LEADOPS_WAREHOUSE__URL": url})
    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    return settings, warehouse, summary.to_dict()


def _rows(wh: Warehouse, table: str) -> list[tuple[Any, ...]]:
    columns = [c for c in wh.columns(table) if c != "ingest_run_id"]
    key = columns[0]
    return wh.rows(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {key}")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """One empty warehouse per export shape, on each engine."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'flat.duckdb'}", f"duckdb:///{tmp_path / 'salesforce.duckdb'}"
        return
    schemas = [f"test_sf_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    yield with_schema(pg_url(), schemas[0]), with_schema(pg_url(), schemas[1])
    for schema in schemas:
        with Warehouse(with_schema(pg_url(), schema)) as wh:
            wh.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_salesforce_export_ingests_into_the_flat_exports_canonical_rows_bit_for_bit(
    tmp_path: Path, urls: tuple[str, str]
) -> None:
    flat_settings, flat_wh, _ = _workspace(tmp_path / "flat", "flat", urls[0])
    sf_settings, sf_wh, summary = _workspace(tmp_path / "salesforce", "salesforce", urls[1])
    try:
        assert sorted(p.name for p in (tmp_path / "salesforce" / "source").iterdir()) == sorted(SALESFORCE_FILES)
        flat = ingest(flat_settings, flat_wh)
        shaped = ingest(sf_settings, sf_wh)
        assert flat.rows_quarantined == 0 and shaped.rows_quarantined == 0
        # the relational export holds more records than canonical rows: the rest is filtered, by reason
        assert shaped.rows_read == shaped.rows_loaded + shaped.rows_unchanged + shaped.rows_filtered
        assert set(shaped.filtered_reasons) == {
            "a campaign send is not engagement", "a change of another field", "a status that is no outcome",
            "the opening stage (the conversion is the SQL outcome)"}  # fmt: skip
        for table in TABLE_ORDER:
            expected = _rows(flat_wh, table)
            assert len(expected) > 0, table
            assert _rows(sf_wh, table) == expected, table
        # the relational parts are really exercised: owners, properties, enriched consent, joined departments
        assert sf_wh.scalar("SELECT count(*) FROM leads WHERE owner IS NULL") == 0
        assert sf_wh.scalar("SELECT count(*) FROM activities WHERE properties IS NOT NULL") > 0
        enriched = sf_wh.scalar(
            "SELECT count(*) FROM leads WHERE lead_id IN (SELECT lead_id FROM outcomes WHERE outcome = 'sql') "
            "AND department IS NOT NULL"
        )
        assert enriched > 0
        assert summary["export_format"] == "salesforce"
    finally:
        flat_wh.close()
        sf_wh.close()


def test_salesforce_export_refuses_the_flat_only_scenarios(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scenario 'faults' writes only the flat one"):
        simulate(tmp_path, scenario="faults", leads=100, days=30, export_format="salesforce")
    with pytest.raises(ConfigError, match="export format 'sap' is unknown"):
        simulate(tmp_path, leads=100, days=30, export_format="sap")


def test_a_flat_run_after_a_salesforce_run_leaves_no_stale_object_files(tmp_path: Path) -> None:
    simulate(tmp_path, leads=200, days=30, export_format="salesforce")
    simulate(tmp_path, leads=200, days=30)
    names = sorted(p.name for p in (tmp_path / "source").iterdir())
    assert names == ["accounts.csv", "activities.csv", "leads.csv", "outcomes.csv"]


def test_the_same_seed_writes_the_same_salesforce_bytes(tmp_path: Path) -> None:
    for run in ("a", "b"):
        simulate(tmp_path / run, leads=300, days=40, seed=3, export_format="salesforce")
    for name in SALESFORCE_FILES:
        assert (tmp_path / "a" / "source" / name).read_bytes() == (tmp_path / "b" / "source" / name).read_bytes()
    assert not [p for p in (tmp_path / "a" / "source").iterdir() if p.is_dir()]  # the spill folder is gone
