"""The `scoring:`, `routing:` and `schedule:` sections of leadops.yaml as strict pydantic models."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Section(BaseModel):
    """Unknown keys are errors, so a typo in leadops.yaml never goes unnoticed."""

    model_config = ConfigDict(extra="forbid")


class SparkSpec(_Section):
    """Where the Spark engine runs: local[2] on one machine, spark://host:7077, yarn, k8s://... in production."""

    master: str = "local[2]"
    app_name: str = "leadops-score"
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")


class ExportSpec(_Section):
    """Files written for the CRM import after every run."""

    dir: str = Field(default="exports", description="relative to the workspace; one folder per as-of date")
    csv: bool = True
    parquet: bool = True


class ScoringSpec(_Section):
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


class CapacitySpec(_Section):
    """How many NEW leads Sales can take per day: in total, per territory (region) or per rep."""

    per_day: int = Field(ge=0, description="total, or per region / per rep depending on `by`")
    by: Literal["total", "region", "rep"] = "total"
    regions: dict[str, int] = Field(default_factory=dict, description="by: region: per-region overrides")
    reps: dict[str, list[str]] = Field(default_factory=dict, description="by: rep: region -> its reps")

    @model_validator(mode="after")
    def _reps_given(self) -> CapacitySpec:
        if self.by == "rep" and not any(self.reps.values()):
            raise ValueError("capacity.by is 'rep': expected capacity.reps mapping each region to its reps, got none")
        return self


class ExpectedValueSpec(_Section):
    """Route when probability x value_per_conversion - cost_per_contact > 0."""

    value_per_conversion: float = Field(gt=0)
    cost_per_contact: float = Field(ge=0)


class RecycleSpec(_Section):
    """A lead with Sales and no sales_touch for `untouched_days` returns to nurture for `cooldown_days`."""

    untouched_days: int = Field(default=14, ge=1)
    cooldown_days: int = Field(default=30, ge=0)


class ConsentSpec(_Section):
    """Contact consent: do_not_call leads are never queued for calling; do_not_email never email-nurtured."""

    sales_requires_call_consent: bool = True
    nurture_requires_email_consent: bool = True


class RoutingSpec(_Section):
    """Who gets which lead tonight: MQLs to the Sales queue, the rest to Marketing's nurture queue."""

    policy: Literal["threshold", "capacity", "expected_value"] = "threshold"
    threshold: float = Field(default=70.0, ge=0, le=100, description="policy threshold: score >= this is an MQL")
    capacity: CapacitySpec | None = None
    expected_value: ExpectedValueSpec | None = None
    recycle: RecycleSpec = Field(default_factory=RecycleSpec)
    consent: ConsentSpec = Field(default_factory=ConsentSpec)

    @model_validator(mode="after")
    def _policy_inputs(self) -> RoutingSpec:
        if self.policy == "capacity" and self.capacity is None:
            raise ValueError("routing.policy is 'capacity': expected a routing.capacity section, got none")
        if self.policy == "expected_value" and self.expected_value is None:
            raise ValueError("routing.policy is 'expected_value': expected a routing.expected_value section, got none")
        return self


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduledJob(_Section):
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


class ScheduleSpec(_Section):
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
    """The three sections together, as the job reads them."""

    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)


def operations(settings: Any) -> Operations:
    """The job's sections from Settings (attributes `scoring`, `routing`, `schedule` once config.py has them)."""
    found: dict[str, Any] = {}
    for name in ("scoring", "routing", "schedule"):
        value = getattr(settings, name, None)
        if value is not None:
            found[name] = value.model_dump() if isinstance(value, BaseModel) else value
    return Operations.model_validate(found)
