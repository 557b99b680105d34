"""Request and response bodies of the online API: inputs strict (an unknown field is a 422 naming it), outputs plain."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue
from pydantic import Strict as StrictType

Route = Literal["sales", "nurture", "suppressed", "review"]
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: Any) -> Any:
    """A time is ISO 8601 text with a date and a time (or a datetime from Python); never a Unix number."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.match(value.strip()):
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-30T14:05:00Z")
    return value


def _whole(value: Any) -> Any:
    """A request integer is an integral JSON number however written: 420.0 is 420 (as in JSON Schema), 420.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _utc(value: datetime) -> datetime:
    """Naive times are UTC (the warehouse convention): say so, so the JSON is an RFC 3339 date-time."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


IsoTime = Annotated[datetime, StrictType(False), BeforeValidator(_iso_text)]
"""A request time: ISO 8601 text only (a number is refused, not read as a Unix timestamp); naive means UTC."""
UtcTime = Annotated[datetime, AfterValidator(_utc)]
"""A response time: always with its offset (naive values are UTC)."""


class Strict(BaseModel):
    """Base of every request body: unknown fields refused and no coercion, so what passes is what the schema says."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ActivityIn(Strict):
    """One activity of the lead, as the CRM records it."""

    activity_type: str = Field(min_length=1, max_length=200, examples=["pricing_page_view"])
    occurred_at: IsoTime = Field(examples=["2026-11-30T14:05:00Z"])
    channel: str | None = Field(default=None, max_length=200)
    value: float | None = None
    properties: dict[str, JsonValue] | None = None


class AccountIn(Strict):
    """The lead's company, as the canonical `accounts` table holds it."""

    account_id: str | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=500)
    industry: str | None = Field(default=None, max_length=200)
    employees: Annotated[int, Field(ge=0, le=10_000_000), BeforeValidator(_whole)] | None = None
    annual_revenue: float | None = None
    country: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    profitable_last_quarter: bool | None = None
    is_competitor: bool | None = None
    attributes: dict[str, JsonValue] = Field(default_factory=dict)


class LeadIn(Strict):
    """One lead given as raw attributes plus its recent activities (the canonical `leads` fields)."""

    lead_id: str | None = Field(default=None, min_length=1, max_length=500, examples=["web-7d1c"])
    account_id: str | None = Field(default=None, max_length=500)
    created_at: IsoTime | None = Field(default=None, examples=["2026-11-28T09:12:00Z"])
    email: str | None = Field(default=None, max_length=500, description="used for nothing but the domain type")
    email_domain_type: str | None = Field(default=None, max_length=100, examples=["business"])
    job_level: str | None = Field(default=None, max_length=200, examples=["vp_director"])
    department: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    lead_source: str | None = Field(default=None, max_length=200, examples=["demo_form"])
    do_not_email: bool | None = None
    do_not_call: bool | None = None
    attributes: dict[str, JsonValue] = Field(default_factory=dict, description="extra columns of a flat export")
    account: AccountIn | None = None
    activities: list[ActivityIn] = Field(default_factory=list)


SCORE_EXAMPLE: dict[str, Any] = {
    "leads": [
        {
            "lead_id": "web-7d1c",
            "created_at": "2026-11-28T09:12:00Z",
            "job_level": "vp_director",
            "lead_source": "demo_form",
            "email_domain_type": "business",
            "account": {"industry": "software", "employees": 420, "country": "US"},
            "activities": [
                {"activity_type": "pricing_page_view", "occurred_at": "2026-11-30T14:05:00Z"},
                {"activity_type": "demo_request", "occurred_at": "2026-11-30T14:07:00Z"},
            ],
        }
    ]
}


class ScoreRequest(Strict):
    """POST /v1/score: 1..N leads and, optionally, the time to score them as of (default: now)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SCORE_EXAMPLE]})

    leads: list[LeadIn] = Field(min_length=1)
    as_of: IsoTime | None = None


class ExplainRequest(Strict):
    """POST /v1/explain: one lead, every feature's contribution."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lead": SCORE_EXAMPLE["leads"][0]}]})

    lead: LeadIn
    as_of: IsoTime | None = None


class Reason(BaseModel):
    """One reason a salesperson reads, with its worth on the 0..100 score when the scorer has points."""

    feature: str
    contribution: float | None
    points: float | None = None
    text: str


class Components(BaseModel):
    """The fit and engagement parts of a combined score (0..100 each)."""

    fit_score: float | None
    engagement_score: float | None


class ScoreResult(BaseModel):
    """One lead's score: what Sales reads and what the CRM stores."""

    lead_id: str | None
    probability: float | None = Field(description="calibrated conversion probability (None for point rules)")
    score: float = Field(description="0..100")
    grade: str
    reasons: list[str] = Field(description="the salesperson's reasons, in words")
    reason_details: list[Reason]
    components: Components | None
    route: Route
    route_reason: str
    model_version: int


class ScoreResponse(BaseModel):
    """POST /v1/score: one result per lead, in the request's order, all scored by one model version."""

    results: list[ScoreResult]
    model_version: int
    as_of: UtcTime


class Contribution(BaseModel):
    """One feature of the lead: its value and what it adds to the score."""

    feature: str
    label: str
    value: float | str | None
    contribution: float | None
    points: float | None = None


class ExplainResponse(BaseModel):
    """POST /v1/explain: the score and every feature's contribution, largest effect first."""

    result: ScoreResult
    contributions: list[Contribution]
    unit: str = Field(description="what a contribution is measured in (log-odds, points, ...)")


class Health(BaseModel):
    """GET /health: the process is up."""

    ok: bool = True
    status: str = "up"


class Ready(BaseModel):
    """GET /ready: a model is loaded and the warehouse answers."""

    ok: bool
    model_version: int | None
    model_loaded: bool
    warehouse: str


class ErrorItem(BaseModel):
    """One thing wrong with a request: where (a field path) and what."""

    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str | None = None


class ErrorBody(BaseModel):
    """The one JSON shape of every error the API answers."""

    ok: Literal[False] = False
    error: str
    status: int
    detail: list[ErrorItem] = Field(default_factory=list)
