"""The canonical tables as data (column types, keys, references) so mapping and contracts generate their SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["VARCHAR", "TIMESTAMP", "INTEGER", "DOUBLE", "BOOLEAN", "JSON"]


@dataclass(frozen=True)
class TableDef:
    """One canonical table: its typed columns, key, implicitly required columns and the lead it refers to."""

    name: str
    key: str
    columns: dict[str, ColumnType]
    not_null: tuple[str, ...] = ()
    refers_to_lead: bool = False
    time_column: str | None = None
    extra: dict[str, ColumnType] = field(default_factory=dict)


TABLES: dict[str, TableDef] = {
    "accounts": TableDef(
        name="accounts",
        key="account_id",
        columns={
            "account_id": "VARCHAR",
            "name": "VARCHAR",
            "industry": "VARCHAR",
            "employees": "INTEGER",
            "annual_revenue": "DOUBLE",
            "country": "VARCHAR",
            "region": "VARCHAR",
            "profitable_last_quarter": "BOOLEAN",
            "is_competitor": "BOOLEAN",
            "attributes": "JSON",
        },
    ),
    "leads": TableDef(
        name="leads",
        key="lead_id",
        columns={
            "lead_id": "VARCHAR",
            "account_id": "VARCHAR",
            "created_at": "TIMESTAMP",
            "email": "VARCHAR",
            "email_domain_type": "VARCHAR",
            "job_level": "VARCHAR",
            "department": "VARCHAR",
            "country": "VARCHAR",
            "region": "VARCHAR",
            "lead_source": "VARCHAR",
            "owner": "VARCHAR",
            "do_not_email": "BOOLEAN",
            "do_not_call": "BOOLEAN",
            "attributes": "JSON",
        },
        time_column="created_at",
    ),
    "activities": TableDef(
        name="activities",
        key="activity_id",
        columns={
            "activity_id": "VARCHAR",
            "lead_id": "VARCHAR",
            "occurred_at": "TIMESTAMP",
            "activity_type": "VARCHAR",
            "channel": "VARCHAR",
            "value": "DOUBLE",
            "properties": "JSON",
        },
        not_null=("lead_id", "occurred_at", "activity_type"),
        refers_to_lead=True,
        time_column="occurred_at",
    ),
    "outcomes": TableDef(
        name="outcomes",
        key="outcome_id",
        columns={
            "outcome_id": "VARCHAR",
            "lead_id": "VARCHAR",
            "occurred_at": "TIMESTAMP",
            "outcome": "VARCHAR",
            "deal_value": "DOUBLE",
        },
        not_null=("lead_id", "outcome"),
        refers_to_lead=True,
        time_column="occurred_at",
    ),
}

# Load order when a config lists sources out of order: referenced tables first.
TABLE_ORDER = ("accounts", "leads", "activities", "outcomes")
