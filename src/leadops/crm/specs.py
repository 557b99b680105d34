"""How a user's CRM export maps onto the canonical tables, and the contracts its rows must keep: data, not code."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CanonicalTable = Literal["accounts", "leads", "activities", "outcomes"]


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class FlatOutcome(Strict):
    """A flat export's converted column, turned into one `converted` outcome row per converting lead."""

    column: str = Field(description="source column that says whether the lead converted")
    true_values: list[str] = Field(default=["1", "true", "yes", "y", "t"], description="values meaning converted")
    deal_value_column: str | None = None


class SourceSpec(Strict):
    """One source: a file (CSV/Parquet, glob allowed) or a SQL query against another database, onto one table."""

    name: str
    table: CanonicalTable
    path: str | None = Field(default=None, description="file or glob, relative to the workspace")
    format: Literal["auto", "csv", "parquet"] = "auto"
    delimiter: str = ","
    encoding: str = "utf-8"
    query: str | None = Field(default=None, description="SQL whose result is the source")
    connection: str | None = Field(default=None, description="database URL the query runs against")
    columns: dict[str, str] = Field(default_factory=dict, description="source column -> canonical column")
    values: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="canonical column -> {source value: canonical value or null}"
    )
    missing_values: list[str] = Field(default=["", "NA", "N/A", "null", "NULL"], description="read as missing")
    timezone: str = Field(default="UTC", description="zone of timestamps that carry no offset")
    email_column: str | None = Field(default=None, description="source column with the email address")
    keep_email: bool = Field(default=False, description="store the address itself (personal data)")
    attributes: list[str] | Literal["rest"] = Field(
        default_factory=list,
        description="extra source columns kept in `attributes` JSON ('rest' = all unmapped)",
    )
    constants: dict[str, Any] = Field(default_factory=dict, description="canonical column -> fixed value")
    id_from_row: bool = Field(default=False, description="make the key from the row number when the export has none")
    flat_outcome: FlatOutcome | None = None
    post_outcome: list[str] = Field(
        default_factory=list,
        description="source columns known only after the outcome (a rep's tag, a rating): loaded, never trained on",
    )
    batch_rows: int | None = Field(
        default=None,
        ge=1_000,
        description="rows per streamed batch (default: 500,000 into DuckDB, 250,000 into PostgreSQL)",
    )

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if (self.path is None) == (self.query is None):
            raise ValueError(f"source '{self.name}': give exactly one of 'path' or 'query'")
        if self.query is not None and not self.connection:
            raise ValueError(f"source '{self.name}': a 'query' needs a 'connection' URL")
        if self.flat_outcome is not None and self.table != "leads":
            raise ValueError(f"source '{self.name}': flat_outcome only makes sense for table 'leads'")
        return self


class RangeRule(Strict):
    """Inclusive bounds for a numeric column."""

    min: float | None = None
    max: float | None = None


class CategoryRule(Strict):
    """Allowed values of a categorical column and what to do with any other value."""

    allowed: list[str]
    unknown: Literal["quarantine", "keep", "other", "missing"] = "quarantine"
    other_value: str = "other"


class TableContract(Strict):
    """Contract for one canonical table beyond its types and key."""

    required: list[str] = Field(default_factory=list)
    ranges: dict[str, RangeRule] = Field(default_factory=dict)
    categories: dict[str, CategoryRule] = Field(default_factory=dict)


class ContractsSpec(Strict):
    """Every table's contract plus the cross-table rules."""

    accounts: TableContract = Field(default_factory=TableContract)
    leads: TableContract = Field(default_factory=TableContract)
    activities: TableContract = Field(default_factory=TableContract)
    outcomes: TableContract = Field(default_factory=TableContract)
    future_tolerance_minutes: int = Field(default=5, ge=0, description="clock skew allowed for 'future' times")
    require_references: bool = Field(default=True, description="activities/outcomes must name an existing lead")
    earliest_timestamp: date = Field(
        default=date(1970, 1, 1), description="times before this are out_of_range (a year-1800 date is a typo)"
    )
