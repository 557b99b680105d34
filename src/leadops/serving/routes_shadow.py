"""GET /v1/shadow: how the challengers compare with the champion on the requests served (the shadow log)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from leadops.serving.deps import State, Viewer
from leadops.serving.inputs import as_of_or_now
from leadops.serving.schemas import ErrorBody, IsoTime, UtcTime
from leadops.serving.shadow import ShadowScorer, shadow_summary

router = APIRouter(tags=["operations"])


class ShadowComparison(BaseModel):
    """One challenger against the champion it shadowed, over the logged requests."""

    champion_version: int
    challenger_version: int
    leads: int = Field(description="leads the challenger was asked to score")
    requests: int
    errors: int = Field(description="leads the challenger failed on (its error is in the log)")
    mean_score_difference: float | None = Field(description="challenger minus champion, 0..100 points")
    mean_absolute_score_difference: float | None
    grade_agreement: float | None = Field(description="share of leads given the same grade")
    first_scored_at: UtcTime
    last_scored_at: UtcTime


class ShadowWorker(BaseModel):
    """The answering worker's own queue (each worker process has one)."""

    pending: int
    dropped: int = Field(description="requests not shadow-scored because the queue was full")
    written: int = Field(description="rows this worker wrote to the log")


class ShadowSummary(BaseModel):
    """Shadow scoring now and what the log holds."""

    enabled: bool
    champion_version: int | None
    challenger_versions: list[int]
    worker: ShadowWorker | None
    comparisons: list[ShadowComparison]


@router.get(
    "/v1/shadow",
    summary="Challengers against the champion on the requests served (shadow log)",
    responses={code: {"model": ErrorBody} for code in (401, 403, 422, 503, 504)},
)
def shadow(
    request: Request,
    state: State,
    _: Viewer,
    since: IsoTime | None = Query(default=None, description="only results scored at or after this time"),
) -> ShadowSummary:
    """Leads, errors, score gap and grade agreement per challenger, from every worker's shadow log."""
    scorer: ShadowScorer | None = getattr(request.app.state, "shadow", None)
    worker = None
    if scorer is not None:
        worker = ShadowWorker(pending=scorer.pending, dropped=scorer.dropped, written=scorer.written)
    current = state.slot.models() if state.slot.version is not None else None
    rows = shadow_summary(state.settings, None if since is None else as_of_or_now(since))
    return ShadowSummary(
        enabled=scorer is not None,
        champion_version=None if current is None else current.champion.version,
        challenger_versions=[] if current is None else [c.version for c in current.challengers],
        worker=worker,
        comparisons=[ShadowComparison(**row) for row in rows],
    )
