"""What differs between DuckDB and PostgreSQL SQL, kept in one place so the rest of leadops writes one SQL."""

from __future__ import annotations

from typing import Literal

Dialect = Literal["duckdb", "postgres"]

TYPE_WORDS: dict[Dialect, dict[str, str]] = {
    "duckdb": {"json": "JSON", "double": "DOUBLE"},
    "postgres": {"json": "JSONB", "double": "DOUBLE PRECISION"},
}


def render(sql: str, dialect: Dialect) -> str:
    """Fill the `{json}` / `{double}` placeholders of a migration for one engine."""
    out = sql
    for word, value in TYPE_WORDS[dialect].items():
        out = out.replace("{" + word + "}", value)
    return out


def placeholders(sql: str, dialect: Dialect) -> str:
    """Turn leadops' `?` parameters into the engine's own style (psycopg wants `%s`)."""
    if dialect == "duckdb":
        return sql
    return sql.replace("%", "%%").replace("?", "%s")
