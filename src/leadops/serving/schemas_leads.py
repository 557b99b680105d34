"""Bodies of the warehouse-facing lead routes: POST /v1/leads (a new lead in) and GET /v1/leads/{lead_id}."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadops.serving.schemas import LeadIn, Reason, Route, ScoreResult, UtcTime

NEW_LEAD_EXAMPLE: dict[str, Any] = {
    "request_id": "form-2026-12-01-7d1c",
    "lead_id": "web-7d1c",
    "email": "dana@northwind.example",
    "job_level": "vp",
    "department": "marketing",
    "country": "US",
    "lead_source": "demo_form",
    "account": {"account_id": "acct-northwind", "industry": "software", "employees": 420, "region": "North America"},
    "activities": [
        {"activity_type": "pricing_view", "occurred_at": "2026-12-01T14:05:00Z"},
        {"activity_type": "demo_request", "occurred_at": "2026-12-01T14:07:00Z"},
    ],
}


class LeadSubmission(LeadIn):
    """POST /v1/leads: one new (or updated) lead with its activities, in the canonical fields of `leads`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [NEW_LEAD_EXAMPLE]})

    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the client's id of this submission (or the Idempotency-Key header): sent again, it gets the "
        "first answer and stores nothing new",
    )


Stored = Literal["stored", "queued"]


class LeadAccepted(BaseModel):
    """POST /v1/leads: the lead was accepted, scored by the champion and routed (or queued for the warehouse)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "request_id": "form-2026-12-01-7d1c",
                    "lead_id": "web-7d1c",
                    "stored": "stored",
                    "model_version": 3,
                    "score": 81.4,
                    "probability": 0.31,
                    "grade": "A",
                    "reasons": ["Requested a demo today (+14 points)", "Viewed the pricing page today (+6 points)"],
                    "mql": True,
                    "route": "sales",
                    "route_reason": "new MQL online: an MQL (score 81.4 >= the MQL threshold 62.5): for Sales, "
                    "capacity permitting; within today's Sales capacity (7 of 18 in North America)",
                    "routed_to_sales_at": "2026-12-01T14:07:02",
                    "rep": None,
                    "received_at": "2026-12-01T14:07:02",
                }
            ]
        }
    )

    ok: bool = True
    request_id: str
    lead_id: str
    stored: Stored = Field(description="stored: in the warehouse now; queued: kept in the intake spool until the "
                           "warehouse is free (the nightly job holds it), routed then")  # fmt: skip
    model_version: int
    score: float
    probability: float | None
    grade: str
    reasons: list[str]
    reason_details: list[Reason] = Field(default_factory=list)
    mql: bool = Field(description="the champion calls it a marketing-qualified lead (the nightly MQL bar)")
    route: Route = Field(description="sales (joined today's Sales queue), nurture, suppressed; when queued, the "
                         "champion's recommendation, decided against capacity when stored")  # fmt: skip
    route_reason: str
    routed_to_sales_at: UtcTime | None = Field(description="when it joined today's Sales queue (None: it did not)")
    rep: str | None = None
    received_at: UtcTime


class PublishedScore(BaseModel):
    """The lead's row of tonight's published run (the `current_scores` view)."""

    run_id: str
    as_of: UtcTime
    model_version: int
    score: float | None
    probability: float | None
    grade: str | None
    score_rank: int | None
    percentile: float | None
    mql: bool | None
    route: str | None
    route_reason: str | None
    rep: str | None
    with_sales_since: UtcTime | None
    reason_text: str | None


class TrendPoint(BaseModel):
    """One published run's score of the lead."""

    run_id: str
    as_of: UtcTime
    score: float | None
    grade: str | None
    model_version: int


class Trend(BaseModel):
    """Where the lead's published score is heading over the last runs, and the rule that says so."""

    direction: Literal["improving", "steady", "declining", "unknown"]
    change: float | None = Field(description="latest minus earliest score of `points` (0-100 points)")
    points: list[TrendPoint] = Field(description="the published scores it is based on, oldest first")
    rule: str


class LeadView(BaseModel):
    """GET /v1/leads/{lead_id}: the lead as of now, from the warehouse."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "lead_id": "L000123",
                    "as_of": "2026-12-01T14:10:00",
                    "published": {"run_id": "score-20261201T0000-v3-1a2b3c4d5e", "as_of": "2026-12-01T00:00:00",
                                  "model_version": 3, "score": 64.0, "probability": 0.18, "grade": "B",
                                  "score_rank": 41, "percentile": 98.7, "mql": True, "route": "sales",
                                  "route_reason": "new MQL: score >= 62.5, within today's Sales capacity",
                                  "rep": None, "with_sales_since": "2026-12-01T00:00:00",
                                  "reason_text": "Requested a demo 3 days ago (+12 points)"},
                    "trend": {"direction": "improving", "change": 9.0, "rule": "latest minus earliest of the last "
                              "5 published scores: >= +5 improving, <= -5 declining, else steady",
                              "points": [{"run_id": "score-20261130T0000-v3-9f8e7d6c5b", "as_of": "2026-11-30T00:00:00",
                                          "score": 55.0, "grade": "C", "model_version": 3}]},
                    "fresh": {"lead_id": "L000123", "probability": 0.2, "score": 66.1, "grade": "B",
                              "reasons": ["Requested a demo 3 days ago (+12 points)"], "reason_details": [],
                              "components": None, "route": "sales", "route_reason": "an MQL", "model_version": 3},
                }
            ]
        }
    )  # fmt: skip

    lead_id: str
    as_of: UtcTime = Field(description="now (UTC): when the fresh score was computed")
    published: PublishedScore | None = Field(description="tonight's published score (None: no run scored it yet)")
    trend: Trend
    fresh: ScoreResult = Field(description="the champion's score from the warehouse's current data for the lead")
