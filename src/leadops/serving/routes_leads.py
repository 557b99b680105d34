"""Warehouse-facing lead routes: `POST /v1/leads` (a new lead in, scored and routed) and `GET /v1/leads/{lead_id}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from leadops.serving.deps import Scorer, Served, State, Viewer
from leadops.serving.inputs import as_of_or_now
from leadops.serving.intake import IntakeService
from leadops.serving.lead_view import lead_view
from leadops.serving.model import records_of
from leadops.serving.schemas import ErrorBody
from leadops.serving.schemas_leads import LeadAccepted, LeadSubmission, LeadView
from leadops.warehouse.snapshot import resolve_copy

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 422, 503, 504)
}
router = APIRouter(tags=["leads"], responses=ERRORS)


def intake_service(request: Request) -> IntakeService:
    """The worker's intake (set by create_app)."""
    found: IntakeService = request.app.state.intake
    return found


Intake = Annotated[IntakeService, Depends(intake_service)]


@router.post(
    "/v1/leads",
    summary="Submit a new lead (web form, CRM webhook): checked, stored, scored and routed at once",
    status_code=201,
    responses={
        201: {"model": LeadAccepted, "description": "stored in the warehouse, scored and routed"},
        202: {"model": LeadAccepted, "description": "scored and queued: the warehouse is busy (nightly job); "
              "stored and routed as soon as it is free"},
        409: {"model": ErrorBody, "description": "the request id was used for a different lead"},
        422: {"model": ErrorBody, "description": "the lead breaks a data contract (quarantined) or the schema"},
    },
)  # fmt: skip
async def submit_lead(
    body: LeadSubmission,
    state: State,
    served: Served,
    intake: Intake,
    _: Scorer,
    idempotency_key: Annotated[
        str | None,
        Header(description="the client's request id (or `request_id` in the body): a retry gets the first answer"),
    ] = None,
) -> JSONResponse:
    """A lead through the workspace's data contracts, into the warehouse (or the spool), scored by the champion and
    routed against today's Sales capacity; idempotent by request id."""
    model = served.champion
    if body.lead_id is not None and state.slot.experiments():  # a lead in an experiment: its arm (as nightly)
        model = state.slot.arm_models(served, [records_of(body)], as_of_or_now(None))[0]
    answer, scoring = await run_in_threadpool(intake.submit, model, body, idempotency_key)
    if scoring is not None:
        state.observe_scores(served, [scoring.result])
        state.shadow(served, [scoring.records], scoring.as_of, [scoring.result])
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


@router.get("/v1/leads/{lead_id}", summary="A lead now: tonight's published score, its trend and a fresh score")
async def get_lead(
    state: State,
    served: Served,
    _: Viewer,
    lead_id: Annotated[str, Path(min_length=1, max_length=500, examples=["L000123"])],
) -> LeadView:
    """Read-only and short: 404 for an unknown lead; while the nightly job writes DuckDB, the analysts' copy of the
    last published run answers (503 with Retry-After without one)."""
    s = state.settings
    copy = resolve_copy(s.warehouse.analytics_copy, s.workspace)
    now = as_of_or_now(None)
    model = (lambda lead: state.slot.model_for(served, lead, now)) if state.slot.experiments() else served.champion
    return await run_in_threadpool(lead_view, model, s.warehouse.url, s.workspace, lead_id, now, s.serving, copy)
