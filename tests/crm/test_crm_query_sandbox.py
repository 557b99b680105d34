"""`query:` sources are read-only and see only the workspace's files (DuckDB's own settings enforce it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Workspace, pg_url
from leadops.crm import ingest, ingest_from
from leadops.errors import IngestError


def _run(query: str, workspace: Path, connection: str = "duckdb:///:memory:") -> list[dict]:  # type: ignore[type-arg]
    batches = ingest_from(connection, query, source="crm", workspace=workspace, readable=[workspace])
    return [row for b in batches for row in b.table.drop_columns(["_row", "_bad_field"]).to_pylist()]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "source").mkdir(parents=True)
    (root / "source" / "accounts.csv").write_text("id,name\nA1,Acme\n", encoding="utf-8")
    (tmp_path / "secret.csv").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    return root


def test_a_query_reads_files_inside_the_workspace(ws: Path) -> None:
    rows = _run(f"SELECT * FROM read_csv('{ws}/source/accounts.csv')", ws)
    assert rows == [{"id": "A1", "name": "Acme"}]


@pytest.mark.parametrize("target", ["/etc/passwd", "{tmp}/secret.csv", "{ws}/../secret.csv"])
def test_a_query_cannot_read_outside_the_workspace_and_shows_no_line_of_the_file(ws: Path, target: str) -> None:
    path = target.format(tmp=ws.parent, ws=ws)
    with pytest.raises(IngestError, match="source 'crm'") as caught:
        _run(f"SELECT * FROM read_csv('{path}', header = false)", ws)
    assert "root:" not in str(caught.value) and "\n" not in str(caught.value).strip()


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT 42 AS x) TO '{out}'",
        "COPY (SELECT 42 AS x) TO '{inside}'",
        "SET enable_external_access = true; SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH '{inside_db}' AS other",
        "CREATE TABLE t AS SELECT 1",
    ],
)
def test_a_query_can_write_no_file_and_change_no_setting(ws: Path, query: str) -> None:
    out, inside, inside_db = ws.parent / "out.csv", ws / "out.csv", ws / "other.duckdb"
    with pytest.raises(IngestError, match="may only SELECT"):
        _run(query.format(out=out, inside=inside, inside_db=inside_db), ws)
    assert not out.exists() and not inside.exists() and not inside_db.exists()


def test_a_query_that_does_not_parse_is_one_line(ws: Path) -> None:
    with pytest.raises(IngestError, match="does not parse") as caught:
        _run("SELEC 1", ws)
    assert "\n" not in str(caught.value)


def test_a_select_cannot_reenable_file_access(ws: Path) -> None:
    with pytest.raises(IngestError):
        _run("SELECT * FROM read_text('/etc/hostname')", ws)


def test_a_duckdb_database_named_by_the_connection_opens_read_only_relative_to_the_workspace(ws: Path) -> None:
    import duckdb

    con = duckdb.connect(str(ws / "crm.duckdb"))
    con.execute("CREATE TABLE contacts AS SELECT 'C1' AS id")
    con.close()
    assert _run("SELECT id FROM contacts", ws, "duckdb:///crm.duckdb") == [{"id": "C1"}]


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    import psycopg

    url = pg_url()
    schema = f"test_sandbox_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".hits (n INTEGER)')
        conn.execute(
            f'CREATE FUNCTION "{schema}".bump() RETURNS INTEGER AS '
            f'$$ INSERT INTO "{schema}".hits VALUES (1) RETURNING n $$ LANGUAGE sql'
        )
    yield url, schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_a_postgres_query_runs_in_a_read_only_transaction(pg_schema: tuple[str, str], ws: Path) -> None:
    import psycopg

    url, schema = pg_schema
    with pytest.raises(IngestError, match="read-only transaction"):
        _run(f'SELECT "{schema}".bump() AS n', ws, url)
    with psycopg.connect(url) as conn:
        assert conn.execute(f'SELECT count(*) FROM "{schema}".hits').fetchone() == (0,)


def test_ingest_runs_query_sources_in_the_workspace_sandbox(workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "passwd.csv").write_text("account_id,name\nroot,x:0:0\n", encoding="utf-8")
    inside = "SELECT * FROM read_csv('{ws}/source/accounts.csv')"
    config = {"sources": [{"name": "accts", "table": "accounts", "connection": "duckdb:///:memory:",
                           "query": inside.format(ws=tmp_path / "ws"), "columns": {"id": "account_id"}}]}  # fmt: skip
    settings, wh = workspace(config, {"source/accounts.csv": "id,name\nA1,Acme\n"})
    assert ingest(settings, wh).rows_loaded == 1
    outside = config["sources"][0] | {"query": f"SELECT * FROM read_csv('{tmp_path / 'passwd.csv'}')"}
    settings = settings.model_copy(update={"sources": [settings.sources[0].model_copy(update=outside)]})
    with pytest.raises(IngestError, match="file system operations are disabled") as caught:
        ingest(settings, wh)
    assert "x:0:0" not in str(caught.value)
    assert wh.scalar("SELECT count(*) FROM accounts WHERE account_id = 'root'") == 0


def test_relative_paths_in_a_query_resolve_against_the_workspace_not_the_current_directory(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "source").mkdir(parents=True)
    (elsewhere / "source" / "accounts.csv").write_text("id,name\nX9,Wrong\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    query = "SELECT * FROM read_csv('source/accounts.csv') WHERE name <> 'source/accounts.csv'"
    assert _run(query, ws) == [{"id": "A1", "name": "Acme"}]
    assert _run("SELECT * FROM 'source/*.csv'", ws) == [{"id": "A1", "name": "Acme"}]
    with pytest.raises(IngestError, match="source 'crm'"):
        _run("SELECT * FROM read_csv('../secret.csv', header = false)", ws)
