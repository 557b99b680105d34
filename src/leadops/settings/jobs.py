"""The `scoring:`, `routing:` and `schedule:` sections of leadops.yaml as strict pydantic models."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from leadops.settings.base import Section
from leadops.settings.business import BusinessSettings

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
URI_KINDS = ("parquet", "delta", "table")


def table_uri(value: str) -> tuple[str, str]:
    """(kind, location) of a canonical-table URI: `table:db.name`, `delta:PATH`, `parquet:PATH` or a bare path."""
    kind, sep, rest = value.partition(":")
    if sep and kind in URI_KINDS:
        location = rest
    else:  # a bare path or URI (s3a://bucket/leads, /data/leads, hdfs:///crm/leads): Parquet
        kind, location = "parquet", value
    if not location.strip():
        raise ValueError(f"expected a location after '{kind}:', got {value!r}")
    if kind == "table" and not _TABLE_NAME.match(location):
        raise ValueError(f"expected a metastore table name such as crm.leads after 'table:', got {location!r}")
    return kind, location


class SparkTables(Section):
    """Where Spark reads each canonical table; unset = the warehouse's own table, exported for the run."""

    leads: str | None = Field(default=None, description="parquet:PATH | delta:PATH | table:db.name | a bare path")
    accounts: str | None = None
    activities: str | None = None
    outcomes: str | None = None

    @field_validator("leads", "accounts", "activities", "outcomes")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None:
            table_uri(value)
        return value

    def given(self) -> dict[str, str]:
        """Table -> URI of the tables set here."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SparkSpec(Section):
    """Where the Spark engine runs: local[2] on one machine, spark://host:7077, yarn, k8s://... in production."""

    master: str = "local[2]"
    app_name: str = "leadops-score"
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")
    tables: SparkTables = Field(default_factory=SparkTables)
    output: str = Field(
        default=".runs/spark",
        description="where Spark writes each run's selected leads, scores and queues (Parquet, one folder per "
        "run id): on a cluster a path every executor reaches (hdfs://, s3a://, a shared mount); relative = the "
        "workspace",
    )


class ExportSpec(Section):
    """Files written for the CRM import after every run."""

    dir: str = Field(default="exports", description="relative to the workspace; one folder per as-of date")
    csv: bool = True
    parquet: bool = True


class ScoringSpec(Section):
    """How the nightly job scores: engine, chunk size, shadow scoring, reason codes, exports."""

    engine: Literal["duckdb", "spark"] = "duckdb"
    chunk_size: int = Field(default=200_000, ge=1, description="leads per chunk: features -> score -> write")
    shadow: bool = Field(default=True, description="score every challenger too (stored, never routed)")
    reasons: Literal["mqls", "all"] = "mqls"
    top_reasons: int = Field(default=3, ge=1, le=10)
    as_of_floor: Literal["day", "hour", "minute"] = Field(
        default="day",
        description="as_of left empty = now floored to this, so reruns the same day are idempotent",
    )
    exports: ExportSpec = Field(default_factory=ExportSpec)
    spark: SparkSpec = Field(default_factory=SparkSpec)


class RecycleSpec(Section):
    """A lead with Sales and no Sales activity for `untouched_days` returns to nurture for `cooldown_days`."""

    untouched_days: int = Field(default=14, ge=1)
    cooldown_days: int = Field(default=30, ge=0)


class ConsentSpec(Section):
    """Contact consent: do_not_call leads are never queued for calling; do_not_email never email-nurtured."""

    sales_requires_call_consent: bool = True
    nurture_requires_email_consent: bool = True


class RoutingSpec(Section):
    """Who gets which lead tonight: MQLs to the Sales queue, the rest to Marketing's nurture queue.

    The MQL threshold, Sales capacity and the values behind expected value are business facts (`business:`).
    """

    policy: Literal["threshold", "capacity", "expected_value"] = Field(
        default="threshold",
        description="threshold: MQLs (score >= the MQL threshold) up to capacity; capacity: the top leads up to "
        "capacity; expected_value: leads whose contact is worth more than it costs, up to capacity",
    )
    fresh_days: int | None = Field(
        default=30,
        ge=1,
        description="Sales gets only leads created or active within this many days (null = no age limit)",
    )
    sales_activity_types: list[str] | None = Field(
        default=None,
        min_length=1,
        description="activity types that mean Sales worked a lead; null = every sales-side type the mapping declares",
    )
    recycle: RecycleSpec = Field(default_factory=RecycleSpec)
    consent: ConsentSpec = Field(default_factory=ConsentSpec)
    assign_to_owner: bool = Field(
        default=False,
        description="a lead new to Sales goes to its CRM owner (leads.owner) when it has one, else as capacity picks",
    )


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduledJob(Section):
    """One job of the schedule: what to run, at what local time, on which days."""

    name: str = "nightly_score"
    job: Literal["score"] = "score"
    at: str = Field(default="05:00", description="HH:MM in the schedule's time zone")
    days: list[str] = Field(default_factory=lambda: list(DAYS))
    engine: Literal["duckdb", "spark"] | None = None

    @field_validator("at")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f"expected a time as HH:MM (24 h), got {value!r}")
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d.lower() not in DAYS]
        if bad or not value:
            raise ValueError(f"expected weekday names among {list(DAYS)}, got {value!r}")
        return [d.lower() for d in value]


class ScheduleSpec(Section):
    """The foreground scheduler of a small install (`leadops schedule`); cron/Airflow run the same commands."""

    timezone: str = "UTC"
    jobs: list[ScheduledJob] = Field(default_factory=lambda: [ScheduledJob()])
    poll_seconds: float = Field(default=30.0, gt=0, description="longest sleep between clock checks")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"expected an IANA time zone such as Europe/Berlin, got {value!r}") from exc
        return value


class Operations(BaseModel):
    """The job's sections together, as the job reads them (the business facts included)."""

    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    business: BusinessSettings = Field(default_factory=BusinessSettings)


def operations(
    scoring: ScoringSpec, routing: RoutingSpec, schedule: ScheduleSpec, business: BusinessSettings
) -> Operations:
    """The job's sections together, copied so a run never sees a later edit of the settings object."""
    return Operations(
        scoring=scoring.model_copy(deep=True),
        routing=routing.model_copy(deep=True),
        schedule=schedule.model_copy(deep=True),
        business=business.model_copy(deep=True),
    )
