"""A SQL query against another database (PostgreSQL) is a source like a file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from conftest import Workspace, pg_url
from leadops.crm import ingest, ingest_from
from leadops.errors import IngestError


@pytest.fixture
def crm_table() -> Iterator[tuple[str, str]]:
    """A leads table in its own PostgreSQL schema: (connection url, schema)."""
    import psycopg

    url = pg_url()
    schema = f"test_crm_src_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".crm_leads (id TEXT, created TIMESTAMPTZ, naive TIMESTAMP, level TEXT, '
            "optout BOOLEAN, score NUMERIC)"
        )
        conn.execute(
            f'INSERT INTO "{schema}".crm_leads VALUES '
            "('Q1', '2025-03-04 09:15:00-05', '2025-03-04 09:15:00', 'VP', true, 12.5), "
            "('Q2', '2025-03-05 10:00:00+00', NULL, 'Wizard', false, NULL), "
            "('Q3', NULL, NULL, 'Manager', NULL, 3)"
        )
    yield url, schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_ingest_from_streams_a_query_in_batches_with_row_numbers(crm_table: tuple[str, str]) -> None:
    url, schema = crm_table
    batches = list(ingest_from(url, f'SELECT * FROM "{schema}".crm_leads ORDER BY id', batch_rows=2))
    assert [b.table.num_rows for b in batches] == [2, 1]
    assert batches[1].table.column("_row").to_pylist() == [3]
    assert batches[0].table.column("created").to_pylist()[0] == "2025-03-04T14:15:00Z"


@pytest.mark.postgres
def test_a_postgres_table_ingests_through_the_mapping(workspace: Workspace, crm_table: tuple[str, str]) -> None:
    url, schema = crm_table
    config = {
        "sources": [{
            "name": "pg_leads", "table": "leads", "connection": url, "timezone": "Europe/Berlin",
            "query": f'SELECT id, created, naive, level, optout, score FROM "{schema}".crm_leads ORDER BY id',
            "columns": {"id": "lead_id", "created": "created_at", "level": "job_level", "optout": "do_not_email"},
            "values": {"job_level": {"VP": "vp", "Manager": "manager"}},
            "attributes": ["naive", "score"],
        }],
        "contracts": {"leads": {"required": ["lead_id"], "categories": {
            "job_level": {"allowed": ["vp", "manager"], "unknown": "quarantine"}}}},
    }  # fmt: skip
    settings, wh = workspace(config)
    report = ingest(settings, wh)
    assert report.rows_read == 3 and report.rows_loaded == 2
    assert wh.rows("SELECT source, row_number, field, reason FROM quarantine") == [
        ("pg_leads", 2, "job_level", "unknown_category")
    ]
    rows = dict((r[0], r[1:]) for r in wh.rows("SELECT lead_id, created_at, do_not_email FROM leads"))
    assert rows == {"Q1": (datetime(2025, 3, 4, 14, 15), True), "Q3": (None, None)}
    ingest(settings, wh)
    assert wh.counts()["leads"] == 2 and wh.scalar("SELECT count(*) FROM quarantine") == 1


def test_an_unreachable_database_is_one_line_naming_the_source() -> None:
    with pytest.raises(IngestError, match=r"source 'crm'.*cannot connect"):
        list(ingest_from("postgresql://nobody:secret@127.0.0.1:1/none", "SELECT 1", source="crm"))
