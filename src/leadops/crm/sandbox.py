"""The sandbox a `query:` source runs in: read-only, and on DuckDB with file access limited to the workspace.

DuckDB enforces it itself, on a connection of its own: `allowed_directories` (the workspace and any
`security.allowed_dirs`), then `enable_external_access = false` (no other file, no network, no extension
install) and `lock_configuration = true` (the query cannot switch it back). Writing is refused before anything
runs: DuckDB's own parser splits the SQL into statements and every one must be a SELECT, so `COPY ... TO`,
`ATTACH`, `CREATE`, `INSTALL` or `SET` never execute. A database file named by the connection URL opens
read-only. On PostgreSQL the query runs in a READ ONLY transaction through a cursor (which only takes a
SELECT or VALUES); what the server itself lets the role read is the role's privileges.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leadops.errors import IngestError


def one_line(exc: BaseException) -> str:
    """An engine's error message on one line (DuckDB adds the SQL and a caret on lines of their own)."""
    return " ".join(str(exc).split())


def _sql_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + (str(p).rstrip("/") + "/").replace("'", "''") + "'" for p in paths) + "]"


def duckdb_target(raw: str, workspace: Path | None) -> str:
    """The database file of a duckdb:// connection URL (relative paths inside the workspace), or :memory:."""
    path = raw[1:] if raw.startswith("/") and not raw.startswith("//") else raw
    if path in ("", ":memory:", "/:memory:"):
        return ":memory:"
    candidate = Path(path)
    if not candidate.is_absolute() and workspace is not None:
        candidate = workspace / candidate
    return str(candidate)


def open_duckdb(target: str, *, readable: Sequence[Path], source: str) -> Any:
    """A DuckDB connection that can read files only under `readable` and can never re-enable more."""
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
    }
    try:
        con = duckdb.connect(target, read_only=target != ":memory:", config=config)
    except duckdb.Error as exc:
        raise IngestError(f"source '{source}': cannot open the query database {target}: {one_line(exc)}") from exc
    try:
        if readable:
            con.execute(f"SET allowed_directories = {_sql_list(readable)}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error:
        con.close()
        raise
    return con


def require_select(con: Any, query: str, source: str) -> None:
    """Refuse a query that is anything but SELECT statements (DuckDB's parser decides, not a pattern)."""
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise IngestError(f"source '{source}': the query does not parse: {one_line(exc)}") from exc
    if not statements:
        raise IngestError(f"source '{source}': the query is empty")
    for statement in statements:
        if statement.type != duckdb.StatementType.SELECT:
            kind = str(statement.type).rsplit(".", 1)[-1]
            raise IngestError(
                f"source '{source}': a query source may only SELECT; statement {kind} is refused "
                "(query sources are read-only: no COPY, ATTACH, CREATE, INSERT, SET or INSTALL)"
            )
