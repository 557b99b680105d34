"""The `serving:` section: how `leadops serve` runs the online API (limits, hot swap, shadow scoring)."""

from __future__ import annotations

from pydantic import Field

from leadops.settings.base import Section


class ServingSettings(Section):
    """The online service: where it listens, what it accepts, how fast it follows the registry."""

    host: str = Field(default="127.0.0.1", description="interface to listen on (0.0.0.0 for every interface)")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="larger request bodies get 413")
    max_batch: int = Field(default=1_000, ge=1, description="most leads in one /v1/score or /batch_score call")
    max_activities: int = Field(default=5_000, ge=1, description="most activities given with one lead")
    request_timeout_seconds: float = Field(default=10.0, gt=0, description="a slower request answers 504")
    reload_seconds: float = Field(
        default=2.0, gt=0, description="how often each worker checks whether the champion alias moved"
    )
    registry_refresh_seconds: float = Field(
        default=60.0, gt=0, description="how often the alias cache is refreshed from MLflow (promotions elsewhere)"
    )
    shadow: bool = Field(default=True, description="challengers score every request in the background (logged)")
    shadow_queue: int = Field(
        default=1_000, ge=1, description="requests waiting for shadow scoring per worker; more are dropped (counted)"
    )
    shadow_keep_days: float = Field(
        default=30.0, gt=0, description="days of shadow results kept in .leadops/shadow.sqlite (older are pruned)"
    )
    fast_path: bool = Field(
        default=True,
        description="answer valid, authorised POST /v1/score requests without FastAPI's per-request machinery "
        "(same bytes; anything else still goes through FastAPI)",
    )
    log_bodies: bool = Field(default=False, description="log request bodies (personal data: off by default)")
    intake_drain_seconds: float = Field(
        default=5.0, gt=0, description="how often a worker tries to move spooled POST /v1/leads into the warehouse"
    )
    trend_runs: int = Field(default=5, ge=2, le=100, description="published runs GET /v1/leads/{id} reads a trend from")
    trend_points: float = Field(
        default=5.0, ge=0, description="score change (0-100 points) over those runs that counts as improving/declining"
    )
    ui_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="how long a dashboard sign-in lasts before the key is asked again"
    )
    ui_page_size: int = Field(default=50, ge=5, le=500, description="rows per page of the dashboard's queues")
