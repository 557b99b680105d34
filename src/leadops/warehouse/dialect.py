"""What differs between DuckDB, PostgreSQL and Spark SQL, kept in one place so the rest of leadops writes one SQL.

`SqlDialect` holds every phrase that differs (hooks the feature, label and job SQL call); each `Warehouse`
carries the one for its engine as `warehouse.sql`, so no caller ever tests which engine it is talking to.
Spark SQL is rendered for a session with ANSI mode and `spark.sql.ansi.doubleQuotedIdentifiers` on (the
Spark engine's session sets both), so `"name"` is an identifier there as it is on the other two engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["duckdb", "postgres", "spark"]

TYPE_WORDS: dict[Dialect, dict[str, str]] = {
    "duckdb": {"json": "JSON", "double": "DOUBLE"},
    "postgres": {"json": "JSONB", "double": "DOUBLE PRECISION"},
    "spark": {"json": "STRING", "double": "DOUBLE"},
}

NUMBER_PATTERN = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


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


def _ql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class SqlDialect:
    """The phrases that differ between engines; every other part of a query is written once for all of them."""

    name: Dialect = "duckdb"

    @property
    def double(self) -> str:
        """The double-precision type word."""
        return TYPE_WORDS[self.name]["double"]

    @property
    def json(self) -> str:
        """The JSON column type word."""
        return TYPE_WORDS[self.name]["json"]

    def type_word(self, kind: str) -> str:
        """A column type for CREATE TABLE from a neutral name: text, double, timestamp, bigint, integer, boolean."""
        text = "STRING" if self.name == "spark" else "VARCHAR"
        words = {"text": text, "double": self.double, "timestamp": "TIMESTAMP", "bigint": "BIGINT"}
        words |= {"integer": "INTEGER", "boolean": "BOOLEAN", "json": self.json}
        return words[kind]

    def flag_number(self, value: str) -> str:
        """A boolean column as DOUBLE 1/0 (PostgreSQL has no boolean -> double cast, only via integer)."""
        if self.name != "postgres":
            return f"CAST({value} AS DOUBLE)"
        return f"CAST(CAST({value} AS INTEGER) AS DOUBLE PRECISION)"

    def epoch_us(self, ts: str) -> str:
        """Microseconds since the epoch as a 64-bit integer, exact on both. PostgreSQL: whole days since 1970 as an
        integer plus the time of day (under 86,400 s, so its microseconds are exact in a double), not
        `extract(epoch)`, whose numeric result made the feature query ~1.3x slower per activity row."""
        if self.name == "duckdb":
            return f"epoch_us({ts})"
        if self.name == "spark":
            return f"unix_micros({ts})"
        return (
            f"(CAST(CAST({ts} AS DATE) - DATE '1970-01-01' AS BIGINT) * 86400000000 + "
            f"CAST(round(date_part('epoch', CAST({ts} AS TIME)) * 1000000) AS BIGINT))"
        )

    def add_us(self, ts: str, us: int) -> str:
        """A timestamp moved by a whole number of microseconds (exact, no floating point)."""
        if self.name == "duckdb":
            return f"({ts} + to_microseconds(CAST({int(us)} AS BIGINT)))"
        if self.name == "spark":
            return f"timestamp_micros(unix_micros({ts}) + {int(us)})"
        return f"({ts} + INTERVAL '{int(us)} microseconds')"

    def arg_min(self, value: str, key: str) -> str:
        """The aggregate giving `value` of the row with the smallest `key`."""
        if self.name == "duckdb":
            return f"arg_min({value}, {key})"
        if self.name == "spark":
            return f"min_by({value}, {key})"
        return f"(array_agg({value} ORDER BY {key}))[1]"

    def text_order(self, column: str) -> str:
        """A text column as a sort key in byte order (PostgreSQL otherwise sorts by the database's locale)."""
        if self.name != "postgres":  # DuckDB and Spark compare strings byte by byte
            return column
        return f'{column} COLLATE "C"'

    def semi_join(self, relation: str, alias: str, on: str) -> str:
        """A join that keeps each left row once when `relation` has a match (DuckDB's SEMI JOIN)."""
        if self.name == "duckdb":
            return f"SEMI JOIN {relation} {alias} ON {on}"
        if self.name == "spark":
            return f"LEFT SEMI JOIN {relation} {alias} ON {on}"
        return f"JOIN (SELECT DISTINCT * FROM {relation}) {alias} ON {on}"

    @property
    def ln(self) -> str:
        """The natural log's function name: on Spark the C library's log registered as a UDF (leadops_ln), since
        Java's log differs from it in the last bit for some values and DuckDB/PostgreSQL call the C library."""
        return "leadops_ln" if self.name == "spark" else "ln"

    def contains(self, text: str, needle: str) -> str:
        """TRUE when `needle` occurs in `text` (Spark has no strpos)."""
        if self.name == "spark":
            return f"(instr({text}, {needle}) > 0)"
        return f"(strpos({text}, {needle}) > 0)"

    def json_number(self, col: str, key: str) -> str:
        """A JSON key as DOUBLE: numbers as they are, booleans 1/0, numeric-looking text parsed, else NULL."""
        if self.name == "duckdb":
            path = _ql(f'$."{key}"')
            text = f"json_extract_string({col}, {path})"
            kind = f"json_type({col}, {path})"
            return (
                f"(CASE {kind} WHEN 'BOOLEAN' THEN (CASE WHEN {text} = 'true' THEN 1.0 ELSE 0.0 END) "
                f"WHEN 'BIGINT' THEN CAST({text} AS DOUBLE) WHEN 'UBIGINT' THEN CAST({text} AS DOUBLE) "
                f"WHEN 'DOUBLE' THEN CAST({text} AS DOUBLE) WHEN 'HUGEINT' THEN CAST({text} AS DOUBLE) "
                f"WHEN 'VARCHAR' THEN (CASE WHEN regexp_full_match({text}, {_ql(NUMBER_PATTERN)}) "
                f"THEN CAST({text} AS DOUBLE) END) END)"
            )
        if self.name == "spark":  # the JSON value's own type from its VARIANT form, as DuckDB's json_type gives it
            text = self.json_text(col, key)
            kind = f"schema_of_variant(variant_get(parse_json({col}), {_ql(_spark_path(key))}))"
            return (
                f"(CASE WHEN {kind} = 'BOOLEAN' THEN (CASE WHEN {text} = 'true' THEN 1.0 ELSE 0.0 END) "
                f"WHEN {kind} IN ('BIGINT', 'INT', 'SMALLINT', 'TINYINT', 'DOUBLE', 'FLOAT') "
                f"OR {kind} LIKE 'DECIMAL%' THEN CAST({text} AS DOUBLE) "
                f"WHEN {kind} = 'STRING' THEN (CASE WHEN {text} RLIKE {_ql(NUMBER_PATTERN)} "
                f"THEN CAST({text} AS DOUBLE) END) END)"
            )
        text = f"({col} ->> {_ql(key)})"
        kind = f"jsonb_typeof({col} -> {_ql(key)})"
        return (
            f"(CASE {kind} WHEN 'boolean' THEN (CASE WHEN {text} = 'true' THEN 1.0 ELSE 0.0 END) "
            f"WHEN 'number' THEN CAST({text} AS DOUBLE PRECISION) "
            f"WHEN 'string' THEN (CASE WHEN {text} ~ {_ql(NUMBER_PATTERN)} "
            f"THEN CAST({text} AS DOUBLE PRECISION) END) "
            "END)"
        )

    def json_text(self, col: str, key: str) -> str:
        """A JSON key as text (NULL when absent or JSON null)."""
        if self.name == "duckdb":
            return f"json_extract_string({col}, {_ql(f'$.{chr(34)}{key}{chr(34)}')})"
        if self.name == "spark":
            return f"get_json_object({col}, {_ql(_spark_path(key))})"
        return f"({col} ->> {_ql(key)})"

    # ------------------------------------------------- what the crm, jobs and serving parts ask of the engine
    @property
    def in_process(self) -> bool:
        """The engine runs inside this process and reads Arrow batches where they lie (DuckDB); otherwise rows
        travel to a server and batches are staged there as tables first (PostgreSQL)."""
        return self.name == "duckdb"

    @property
    def single_writer(self) -> bool:
        """One process may write at a time (DuckDB's file lock), so writers take leadops' writer lock; a server
        engine takes concurrent writers and serializes what must be serialized itself."""
        return self.name == "duckdb"

    @property
    def ingest_batch_rows(self) -> int:
        """Rows per ingest batch by default: DuckDB scans batches in place, PostgreSQL receives them by COPY."""
        return 500_000 if self.name == "duckdb" else 250_000

    @property
    def text(self) -> str:
        """The unbounded text type word (Spark's VARCHAR wants a length; STRING is its unbounded text)."""
        return {"duckdb": "VARCHAR", "postgres": "TEXT", "spark": "STRING"}[self.name]

    def native(self, kind: str) -> str:
        """A DuckDB type name (JSON, DOUBLE, VARCHAR, TIMESTAMP, ...) as this engine spells it."""
        upper = kind.upper()
        if upper in ("JSON", "DOUBLE"):
            return TYPE_WORDS[self.name][upper.lower()]
        return kind

    def sha256_hex(self, column: str) -> str:
        """The lower-case hex SHA-256 of a text column's UTF-8 bytes."""
        if self.name == "duckdb":
            return f"sha256({column})"
        return f"encode(sha256(convert_to({column}, 'UTF8')), 'hex')"

    def json_merge(self, base: str, patch: str) -> str:
        """Two JSON objects merged, the keys of `patch` winning."""
        if self.name == "duckdb":
            return f"json_merge_patch({base}, {patch})"
        return f"({base} || {patch})"

    @property
    def fence(self) -> str:
        """Appended to a subquery whose computed columns many aggregates read, on an engine that would otherwise
        inline it and compute each column once per reference (`OFFSET 0` keeps it a subquery); DuckDB computes
        once, and PostgreSQL's aggregates read the raw columns instead (reads_raw_columns)."""
        return " OFFSET 0" if self.name == "spark" else ""

    @property
    def reads_raw_columns(self) -> bool:
        """The feature aggregates read the activity table's own columns (type as text, windows as occurred_at
        against constants) rather than per-row columns computed in a subquery. PostgreSQL: an inlined subquery
        recomputes its columns in every aggregate, and a fenced one keeps the aggregate out of parallel workers;
        the raw form is both cheaper per row (2.6x at 100k) and parallel. DuckDB and Spark compute a subquery's
        columns once, and integers compare faster than text."""
        return self.name == "postgres"

    @property
    def big_query_settings(self) -> tuple[str, ...]:
        """Transaction-local settings for one large analytic query (the feature build): PostgreSQL's default 4 MB
        of work_mem sends the per-lead aggregate to disk (1M leads x 21 aggregates hold ~0.7 GB per worker).
        JIT stays as the server has it: with the raw-column aggregate it cut the 1M aggregate 62 -> 50 s."""
        if self.name == "duckdb":
            return ()
        return ("SET LOCAL work_mem = '1GB'",)

    def transaction_lock(self, key: int) -> str | None:
        """A statement serializing transactions that take the same key until they end (None: the engine admits one
        writer anyway)."""
        if self.single_writer:
            return None
        return f"SELECT pg_advisory_xact_lock({int(key)})"


def _spark_path(key: str) -> str:
    """A JSON path naming one top-level key in Spark's bracket form (a key may hold dots or spaces)."""
    return "$['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


DUCKDB_SQL = SqlDialect("duckdb")
POSTGRES_SQL = SqlDialect("postgres")
SPARK_SQL = SqlDialect("spark")
SQL_DIALECTS: dict[Dialect, SqlDialect] = {"duckdb": DUCKDB_SQL, "postgres": POSTGRES_SQL, "spark": SPARK_SQL}
