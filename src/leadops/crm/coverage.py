"""Ingest's coverage warnings: a value mapping or a category contract that sends much of a column to missing/`other`.

A mapping written for another export ("Select" -> missing on a column that is mostly "Select", a contract's
allowed list that misses the data's spelling) loads every row yet empties the column; `ingest` says so in a
warning line and in `warnings` of --json.
"""

from __future__ import annotations

from leadops.crm.contracts import ident
from leadops.settings.crm import ContractsSpec, SourceSpec
from leadops.warehouse import Warehouse


def coverage_warnings(
    sources: list[SourceSpec], contracts: ContractsSpec, warehouse: Warehouse, max_share: float
) -> list[str]:
    """One line per mapped or contracted column whose share of missing / `other` rows exceeds max_share."""
    checks: dict[tuple[str, str], set[str]] = {}  # (table, column) -> what sends values away
    for spec in sources:
        for column, mapping in spec.values.items():
            if any(v is None for v in mapping.values()):
                checks.setdefault((spec.table, column), set()).add(f"source '{spec.name}' values")
    others: dict[tuple[str, str], str] = {}
    for table in ("accounts", "leads", "activities", "outcomes"):
        for column, rule in getattr(contracts, table).categories.items():
            if rule.unknown in ("other", "missing"):
                checks.setdefault((table, column), set()).add(f"contracts.{table}.categories.{column}")
                if rule.unknown == "other":
                    others[(table, column)] = rule.other_value
    out: list[str] = []
    for (table, column), why in sorted(checks.items()):
        other = others.get((table, column))
        col = ident(column)
        sent = f"{col} IS NULL" + (" OR " + col + " = ?" if other is not None else "")
        try:
            row = warehouse.rows(
                f"SELECT count(*), count(CASE WHEN {sent} THEN 1 END) FROM {table}", [other] if other else []
            )[0]
        except Exception:  # a column the table does not have is the mapping's own error, reported by ingest
            continue
        total, empty = int(row[0] or 0), int(row[1] or 0)
        if total and empty / total > max_share:
            what = "missing" + (f" or '{other}'" if other is not None else "")
            out.append(
                f"{table}.{column}: {empty / total:.0%} of the {total} rows are {what} after {', '.join(sorted(why))}; "
                "check that the mapping fits this export"
            )
    return out
