"""How a user's CRM export maps onto the canonical tables, and the contracts its rows must keep: data, not code."""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from leadops.settings.base import Section

CanonicalTable = Literal["accounts", "leads", "activities", "outcomes"]


def finite_number(value: Any, where: str) -> Any:
    """A number in config must be finite and fit a double: `.inf`, NaN or a 400-digit constant is a config error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    try:
        number = float(value)
    except OverflowError:
        digits = len(str(value))
        raise ValueError(f"{where}: {str(value)[:20]}... has {digits} digits, too large for a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{where}: {value} is not a finite number (leave the bound out for 'no limit')")
    return value


class FlatOutcome(Section):
    """A flat export's converted column, turned into one `converted` outcome row per converting lead."""

    column: str = Field(description="source column that says whether the lead converted")
    true_values: list[str] = Field(default=["1", "true", "yes", "y", "t"], description="values meaning converted")
    deal_value_column: str | None = None


class LookupSpec(Section):
    """A second file joined onto a source's rows by key; its columns read as `<name>.<column>` in the mapping."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="prefix of the joined columns")
    path: str = Field(description="file (CSV or Parquet) relative to the workspace")
    key: str = Field(description="column of the lookup file that identifies its rows (must be unique)")
    source_key: str = Field(description="column of the source row matched against `key`")
    columns: list[str] = Field(min_length=1, description="lookup columns brought onto each row")
    format: Literal["auto", "csv", "parquet"] = "auto"
    delimiter: str = ","
    encoding: str = "utf-8"


class FilterSpec(Section):
    """Rows whose column matches are left out on purpose: counted under `reason`, never quarantined."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    column: str = Field(description="source (or lookup) column the rule reads, after missing_values")
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", description="drop rows whose value is one of these")
    not_in: list[str] | None = Field(default=None, description="drop rows whose value is none of these (or missing)")
    missing: bool | None = Field(default=None, description="true: drop rows where it is missing; false: present")
    reason: str = Field(min_length=1, description="why these rows are left out (the ingest report counts by it)")

    @model_validator(mode="after")
    def _one_test(self) -> FilterSpec:
        given = [k for k in ("equals", "in_", "not_in", "missing") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"filter on '{self.column}': give exactly one of equals, in, not_in, missing")
        return self


class ComposeSpec(Section):
    """A canonical value built from several source columns (e.g. Task Type + Subject -> activity type)."""

    columns: list[str] = Field(min_length=1, description="source columns joined in this order (missing skipped)")
    separator: str = Field(default=" / ", description="text between the parts; `values` then maps the result")


class MappingSpec(Section):
    """How rows become canonical rows of one table: shared by a source and each of its routes."""

    table: CanonicalTable
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="source column -> canonical column; several onto one = the first that is not missing",
    )
    values: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="canonical column -> {source value: canonical value or null}"
    )
    compose: dict[str, ComposeSpec] = Field(
        default_factory=dict, description="canonical column -> the source columns its value is built from"
    )
    properties: dict[str, str] = Field(
        default_factory=dict, description="activities: source column -> property name kept in `properties` JSON"
    )
    filters: list[FilterSpec] = Field(default_factory=list, description="rows left out on purpose, with a reason")
    constants: dict[str, Any] = Field(default_factory=dict, description="canonical column -> fixed value")
    mode: Literal["upsert", "enrich"] = Field(
        default="upsert", description="enrich: update the mapped columns of rows that already exist, by key"
    )

    @field_validator("constants")
    @classmethod
    def _finite_constants(cls, constants: dict[str, Any]) -> dict[str, Any]:
        for column, value in constants.items():
            finite_number(value, f"constants.{column}")
        return constants

    @model_validator(mode="after")
    def _mapping_consistent(self) -> MappingSpec:
        if self.properties and self.table != "activities":
            raise ValueError(f"'properties' only applies to table 'activities', not '{self.table}'")
        if self.mode == "enrich" and self.table not in ("accounts", "leads"):
            raise ValueError(f"mode 'enrich' updates accounts or leads; '{self.table}' rows are immutable events")
        both = sorted(set(self.compose) & set(self.columns.values()))
        if both:
            raise ValueError(f"{both} come from both 'columns' and 'compose': keep one")
        return self


class RouteSpec(MappingSpec):
    """Another canonical table fed from the same source rows (an opportunity opened -> activity, closed -> outcome).

    A route reads the file, query and lookups of its source; everything else (columns, values, filters...) is
    its own.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$", description="the route's name; reported as <source>.<name>")
    id_from_row: bool = False
    attributes: list[str] = Field(default_factory=list)


class SourceSpec(MappingSpec):
    """One source: a file (CSV/Parquet, glob allowed) or a SQL query against another database, onto one table."""

    name: str
    path: str | None = Field(default=None, description="file or glob, relative to the workspace")
    format: Literal["auto", "csv", "parquet"] = "auto"
    delimiter: str = ","
    encoding: str = "utf-8"
    query: str | None = Field(default=None, description="SQL whose result is the source")
    connection: str | None = Field(default=None, description="database URL the query runs against")
    missing_values: list[str] = Field(default=["", "NA", "N/A", "null", "NULL"], description="read as missing")
    timezone: str = Field(default="UTC", description="zone of timestamps that carry no offset")
    email_column: str | None = Field(default=None, description="source column with the email address")
    keep_email: bool = Field(default=False, description="store the address itself (personal data)")
    personal_columns: list[str] | None = Field(
        default=None, description="source columns masked in quarantine (default: email, name, phone, free text)"
    )
    keep_personal: bool = Field(default=False, description="keep personal columns unmasked in quarantine")
    attributes: list[str] | Literal["rest"] = Field(
        default_factory=list,
        description="extra source columns kept in `attributes` JSON ('rest' = all unmapped)",
    )
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
    lookups: list[LookupSpec] = Field(default_factory=list, description="second files joined onto each row by key")
    routes: list[RouteSpec] = Field(default_factory=list, description="more tables fed from the same rows")

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if (self.path is None) == (self.query is None):
            raise ValueError(f"source '{self.name}': give exactly one of 'path' or 'query'")
        if self.query is not None and not self.connection:
            raise ValueError(f"source '{self.name}': a 'query' needs a 'connection' URL")
        if self.flat_outcome is not None and self.table != "leads":
            raise ValueError(f"source '{self.name}': flat_outcome only makes sense for table 'leads'")
        if self.mode == "enrich" and (self.id_from_row or self.flat_outcome is not None):
            raise ValueError(f"source '{self.name}': enrich needs the rows' own key: no id_from_row or flat_outcome")
        names = [lookup.name for lookup in self.lookups]
        if len(set(names)) != len(names):
            raise ValueError(f"source '{self.name}': two lookups share a name in {names}")
        routes = [route.name for route in self.routes]
        if len(set(routes)) != len(routes):
            raise ValueError(f"source '{self.name}': two routes share a name in {routes}")
        return self

    def expanded(self) -> list[SourceSpec]:
        """This source and one source per route (same file, query and lookups; the route's own mapping)."""
        specs = [self.model_copy(update={"routes": []})]
        for route in self.routes:
            own = route.model_dump(exclude={"name"}, by_alias=False)
            update = {key: getattr(route, key) for key in own} | {"name": f"{self.name}.{route.name}", "routes": []}
            update |= {"flat_outcome": None, "email_column": None, "keep_email": False}
            specs.append(self.model_copy(update=update))
        return specs


class RangeRule(Section):
    """Inclusive bounds for a numeric column."""

    min: float | None = None
    max: float | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _finite_bound(cls, value: Any, info: ValidationInfo) -> Any:
        return finite_number(value, str(info.field_name))


class CategoryRule(Section):
    """Allowed values of a categorical column and what to do with any other value."""

    allowed: list[str]
    unknown: Literal["quarantine", "keep", "other", "missing"] = "quarantine"
    other_value: str = "other"


class TableContract(Section):
    """Contract for one canonical table beyond its types and key."""

    required: list[str] = Field(default_factory=list)
    ranges: dict[str, RangeRule] = Field(default_factory=dict)
    categories: dict[str, CategoryRule] = Field(default_factory=dict)


class ContractsSpec(Section):
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
