"""Data contracts: row-level checks as SQL over a staged batch, and set-based checks against the warehouse.

Row-level checks (types, required, categories, ranges, future times) run vectorized in DuckDB on each batch;
cross-table checks (a lead must exist; no outcome before its lead; keys unique) run set-based per batch in the
warehouse (leadops.crm.loader.flags_sql), never row by row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from leadops.crm.schema import ColumnType, TableDef
from leadops.settings.crm import TableContract

# Keys and the ids that refer to them are indexed; PostgreSQL's B-tree takes at most ~2,700 bytes per entry
# (4 bytes per character at worst), so a longer key is quarantined on every engine alike.
MAX_KEY_CHARS = 500

REASONS = (
    "bad_encoding",
    "wrong_field_count",
    "unclosed_quote",
    "wrong_type",
    "unparseable_timestamp",
    "missing_required",
    "unknown_category",
    "out_of_range",
    "future_timestamp",
    "duplicate_key",
    "dangling_reference",
    "outcome_before_lead",
    "rejected_by_warehouse",
)


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted identifier for any source column name (spaces, dots and quotes allowed)."""
    return '"' + name.replace('"', '""') + '"'


def shown(expr: str) -> str:
    """SQL rendering a value for a quarantine detail: quoted and cut to 80 characters."""
    return f"'''' || left({expr}, 80) || ''''"


@dataclass(frozen=True)
class Check:
    """One row-level rule: a SQL condition that, when true, quarantines the row with reason/field/detail."""

    condition: str
    reason: str
    field: str
    detail: str  # SQL expression
    field_is_sql: bool = False


def type_checks(column: str, kind: ColumnType, text: str, typed: str, source_column: str) -> list[Check]:
    """wrong_type / unparseable_timestamp for a value that is present but does not parse as its type."""
    where = f"column {source_column}: "
    if kind == "TIMESTAMP":
        return [
            Check(
                f"{text} IS NOT NULL AND {typed} IS NULL",
                "unparseable_timestamp",
                column,
                f"{lit(where + 'expected an ISO 8601 timestamp, got ')} || {shown(text)}",
            )
        ]
    if kind == "DOUBLE":
        bad = f"{typed} IS NULL OR isnan({typed}) OR isinf({typed})"
        return [Check(f"{text} IS NOT NULL AND ({bad})", "wrong_type", column,
                      f"{lit(where + 'expected a number, got ')} || {shown(text)}")]  # fmt: skip
    if kind == "INTEGER":
        bad = f"{typed} IS NULL OR isnan({typed}) OR isinf({typed}) OR {typed} <> floor({typed})"
        return [
            Check(f"{text} IS NOT NULL AND ({bad})", "wrong_type", column,
                  f"{lit(where + 'expected a whole number, got ')} || {shown(text)}"),
            Check(f"abs({typed}) > 2147483647", "out_of_range", column,
                  f"{lit(where + 'expected a 32-bit integer, got ')} || {shown(text)}"),
        ]  # fmt: skip
    if kind == "BOOLEAN":
        return [Check(f"{text} IS NOT NULL AND {typed} IS NULL", "wrong_type", column,
                      f"{lit(where + 'expected true/false, got ')} || {shown(text)}")]  # fmt: skip
    return []


def required_check(column: str, typed: str) -> Check:
    """missing_required: the canonical column is empty after mapping."""
    return Check(f"{typed} IS NULL", "missing_required", column, lit(f"{column} is required but missing"))


def contract_checks(
    table: TableDef,
    contract: TableContract,
    typed: dict[str, str],
    text: dict[str, str],
    now: datetime,
    earliest: date = date(1970, 1, 1),
) -> list[Check]:
    """Key lengths, categories (policy quarantine), ranges and future timestamps for the mapped columns."""
    checks: list[Check] = []
    for column in dict.fromkeys((table.key, "lead_id", "account_id")):
        if column in typed and table.columns.get(column) == "VARCHAR":
            checks.append(
                Check(
                    f"length({typed[column]}) > {MAX_KEY_CHARS}",
                    "out_of_range",
                    column,
                    f"{lit(f'expected a key of at most {MAX_KEY_CHARS} characters, got ')} || "
                    f"CAST(length({typed[column]}) AS VARCHAR) || ' characters starting ' || {shown(text[column])}",
                )
            )
    for column, rule in contract.categories.items():
        if column not in typed or rule.unknown != "quarantine":
            continue
        allowed = ", ".join(lit(v) for v in rule.allowed)
        listed = ", ".join(rule.allowed)
        if len(listed) > 120:
            listed = listed[:117] + "..."
        checks.append(
            Check(
                f"{typed[column]} IS NOT NULL AND {typed[column]} NOT IN ({allowed})",
                "unknown_category",
                column,
                f"{lit(f'expected one of [{listed}], got ')} || {shown(text[column])}",
            )
        )
    for column, bounds in contract.ranges.items():
        if column not in typed:
            continue
        parts = []
        if bounds.min is not None:
            parts.append(f"{typed[column]} < {bounds.min!r}")
        if bounds.max is not None:
            parts.append(f"{typed[column]} > {bounds.max!r}")
        if parts:
            expected = f"expected {bounds.min if bounds.min is not None else '-inf'}"
            expected += f"..{bounds.max if bounds.max is not None else 'inf'}, got "
            checks.append(
                Check(
                    f"({' OR '.join(parts)})",
                    "out_of_range",
                    column,
                    f"{lit(expected)} || {shown(text[column])}",
                )
            )
    limit = now.strftime("%Y-%m-%d %H:%M:%S")
    first = earliest.isoformat()
    for column, kind in table.columns.items():
        if kind == "TIMESTAMP" and column in typed:
            checks.append(
                Check(
                    f"{typed[column]} < TIMESTAMP {lit(first)}",
                    "out_of_range",
                    column,
                    f"{lit(f'expected a time after {first}, got ')} || CAST({typed[column]} AS VARCHAR)",
                )
            )
            checks.append(
                Check(
                    f"{typed[column]} > TIMESTAMP {lit(limit)}",
                    "future_timestamp",
                    column,
                    f"{lit(f'expected a time before {limit} UTC, got ')} || CAST({typed[column]} AS VARCHAR)",
                )
            )
    return checks
