"""Scoring routes: `/v1/score` and `/v1/explain`, and the textbook's own `/score_lead` and `/batch_score`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool

from leadops.serving.deps import Scorer, Served, State
from leadops.serving.errors import MissingFieldsError, RequestFieldError, RequestTooLargeError
from leadops.serving.inputs import as_of_or_now, flat_lead
from leadops.serving.model import LeadRecords, ServedModel, records_of
from leadops.serving.schemas import (
    ErrorBody,
    ExplainRequest,
    ExplainResponse,
    LeadIn,
    ScoreRequest,
    ScoreResponse,
    ScoreResult,
)
from leadops.serving.slot import Models

INLINE = 8
"""Batches up to this size are scored on the event loop (no thread hop: lowest latency); larger ones in a thread."""

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 401, 403, 413, 422, 503, 504)}
router = APIRouter(responses=ERRORS)

TEXTBOOK_LEAD = {
    "company_size": "mid_market",
    "industry": "technology",
    "geography": "tier1",
    "job_level": "vp_director",
    "website_visits_30d": 12,
    "email_opens": 5,
    "email_clicks": 2,
    "content_downloads": 3,
    "demo_requested": 1,
    "days_since_first_visit": 21.5,
    "page_views_per_visit": 4.2,
}


def _check_batch(state: State, n: int, activities: int) -> None:
    limits = state.settings.serving
    if n == 0:
        raise RequestFieldError("leads: expected at least one lead, got none", loc=["body", "leads"])
    if n > limits.max_batch:
        raise RequestTooLargeError(f"leads: {n} leads in one request, over the limit of {limits.max_batch}")
    if activities > limits.max_activities:
        raise RequestTooLargeError(
            f"activities: {activities} activities in one lead, over the limit of {limits.max_activities}"
        )


def _score_by_arm(models: list[ServedModel], records: list[LeadRecords], when: Any) -> list[ScoreResult]:
    """Score each group of leads sharing a model with it; results in the request's order."""
    results: list[ScoreResult | None] = [None] * len(records)
    groups: dict[int, list[int]] = {}
    for i, model in enumerate(models):
        groups.setdefault(id(model), []).append(i)
    for indices in groups.values():
        model = models[indices[0]]
        for i, result in zip(indices, model.score([records[i] for i in indices], when), strict=True):
            results[i] = result
    return [r for r in results if r is not None]


async def score_leads(state: State, served: Models, leads: list[LeadIn], as_of: Any) -> list[ScoreResult]:
    """Score with the request's champion; hand the same leads to the shadow challengers."""
    _check_batch(state, len(leads), max((len(lead.activities) for lead in leads), default=0))
    records = [records_of(lead) for lead in leads]
    for i, r in enumerate(records):
        if r.lead.get("lead_id") is None:
            r.lead["lead_id"] = f"request-{i}"
    when = as_of_or_now(as_of)
    models = state.slot.arm_models(served, records, when)  # a lead in an experiment: its arm's version / policy
    if all(m is served.champion for m in models):
        if len(records) <= INLINE:
            results = served.champion.score(records, when)
        else:
            results = await run_in_threadpool(served.champion.score, records, when)
    else:
        results = await run_in_threadpool(_score_by_arm, models, records, when)
    for result, lead in zip(results, leads, strict=True):
        result.lead_id = lead.lead_id
    state.observe_scores(served, results)
    state.shadow(served, records, when, results)
    return results


@router.post("/v1/score", tags=["scoring"], summary="Score 1..N leads from raw attributes and activities")
async def score(request: ScoreRequest, state: State, served: Served, _: Scorer) -> ScoreResponse:
    """Probability, score, grade, the salesperson's reasons, components and route, all by one model version."""
    when = as_of_or_now(request.as_of)  # one time for the scores and the answer
    results = await score_leads(state, served, request.leads, when)
    return ScoreResponse(results=results, model_version=served.champion.version, as_of=when)


@router.post("/v1/explain", tags=["scoring"], summary="Every feature's contribution for one lead")
async def explain(request: ExplainRequest, state: State, served: Served, _: Scorer) -> ExplainResponse:
    """The lead's score and each feature's value and contribution, largest effect first."""
    _check_batch(state, 1, len(request.lead.activities))
    records = records_of(request.lead)
    if records.lead.get("lead_id") is None:
        records.lead["lead_id"] = "request-0"
    when = as_of_or_now(request.as_of)
    model = state.slot.arm_models(served, [records], when)[0]  # a lead in an experiment: its arm's version
    result, contributions, unit = model.contributions(records, when)
    result.lead_id = request.lead.lead_id
    return ExplainResponse(result=result, contributions=contributions, unit=unit)


def _textbook(result: ScoreResult) -> dict[str, Any]:
    """A result in the textbook's words (score, grade, probability) plus what leadops adds."""
    return {
        "lead_id": result.lead_id,
        "score": result.score,
        "grade": result.grade,
        "conversion_probability": result.probability,
        "reasons": result.reasons,
        "route": result.route,
        "model_version": result.model_version,
    }


@router.post(
    "/score_lead",
    tags=["textbook"],
    summary="The textbook's API: score one lead given as a flat object of its fields",
    responses={200: {"content": {"application/json": {"example": {"score": 71.3, "grade": "B", "model_version": 3}}}}},
)
async def score_lead(
    state: State,
    served: Served,
    _: Scorer,
    lead: dict[str, Any] = Body(examples=[TEXTBOOK_LEAD]),
) -> dict[str, Any]:
    """400 when a field the model reads is missing, as in the book."""
    (result,) = await score_leads(state, served, [flat_lead(lead, served.champion, "lead")], None)
    return _textbook(result)


@router.post("/batch_score", tags=["textbook"], summary='The textbook\'s API: score {"leads": [...]}')
async def batch_score(
    state: State,
    served: Served,
    _: Scorer,
    body: dict[str, list[dict[str, Any]]] = Body(examples=[{"leads": [TEXTBOOK_LEAD]}]),
) -> dict[str, Any]:
    """Every lead of the batch scored by one version; 400 naming the first lead with a missing field."""
    leads = body.get("leads")
    if leads is None:
        raise MissingFieldsError("missing required field leads", loc=["body", "leads"])
    parsed = [flat_lead(lead, served.champion, f"leads.{i}") for i, lead in enumerate(leads)]
    results = await score_leads(state, served, parsed, None)
    return {"results": [_textbook(r) for r in results], "model_version": served.champion.version}
