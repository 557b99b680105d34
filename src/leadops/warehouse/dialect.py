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

    @property
    def text(self) -> str:
        """The variable-length text type word (Spark's VARCHAR wants a length; STRING is its unbounded text)."""
        return "STRING" if self.name == "spark" else "VARCHAR"

    def type_word(self, kind: str) -> str:
        """A column type for CREATE TABLE from a neutral name: text, double, timestamp, bigint, integer, boolean."""
        words = {"text": self.text, "double": self.double, "timestamp": "TIMESTAMP", "bigint": "BIGINT"}
        words |= {"integer": "INTEGER", "boolean": "BOOLEAN", "json": self.json}
        return words[kind]

    def flag_number(self, value: str) -> str:
        """A boolean column as DOUBLE 1/0 (PostgreSQL has no boolean -> double cast, only via integer)."""
        if self.name != "postgres":
            return f"CAST({value} AS DOUBLE)"
        return f"CAST(CAST({value} AS INTEGER) AS DOUBLE PRECISION)"

    def epoch_us(self, ts: str) -> str:
        """Microseconds since the epoch as a 64-bit integer (exact on both: PostgreSQL's epoch is numeric)."""
        if self.name == "duckdb":
            return f"epoch_us({ts})"
        if self.name == "spark":
            return f"unix_micros({ts})"
        return f"CAST(round(extract(epoch FROM {ts}) * 1000000) AS BIGINT)"

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


def _spark_path(key: str) -> str:
    """A JSON path naming one top-level key in Spark's bracket form (a key may hold dots or spaces)."""
    return "$['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"


DUCKDB_SQL = SqlDialect("duckdb")
POSTGRES_SQL = SqlDialect("postgres")
SPARK_SQL = SqlDialect("spark")
SQL_DIALECTS: dict[Dialect, SqlDialect] = {"duckdb": DUCKDB_SQL, "postgres": POSTGRES_SQL, "spark": SPARK_SQL}
