"""Sales pages: tonight's queue (filters, pages, CSV) and a lead's page (history, activities, reasons, score now)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from leadops.errors import NotFoundError
from leadops.plots import leads as plots
from leadops.serving.deps import State
from leadops.serving.inputs import as_of_or_now
from leadops.serving.lead_view import fresh_score, published, trend
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User
from leadops.serving.ui.sales import Filters, LeadStory, lead_story, queue_csv, queue_page

router = APIRouter(include_in_schema=False)
Choice = Annotated[str | None, Query(max_length=200)]


def _filters(rep: str | None, territory: str | None) -> Filters:
    return Filters(rep=(rep or None), territory=(territory or None))


@router.get("/ui/sales")
def sales(
    request: Request,
    session: User,
    state: State,
    warehouse: ReadOnly,
    rep: Choice = None,
    territory: Choice = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Tonight's Sales queue, best first, a page at a time."""
    s = state.settings.serving
    filters = _filters(rep, territory)
    found = queue_page(warehouse, filters, page, s.ui_page_size, trend_runs=s.trend_runs, trend_points=s.trend_points)
    kept = {k: v for k, v in (("rep", filters.rep), ("territory", filters.territory)) if v}

    def link(to_page: int) -> str:
        return "/ui/sales?" + urlencode({**kept, "page": to_page})

    return r.render(
        request,
        "sales.html.j2",
        session,
        active="sales",
        q=found,
        filters=filters,
        csv_link="/ui/sales.csv" + ("?" + urlencode(kept) if kept else ""),
        prev_link=link(found.page - 1) if found.page > 1 else None,
        next_link=link(found.page + 1) if found.page < found.pages else None,
        first_rank=(found.page - 1) * s.ui_page_size,
    )


@router.get("/ui/sales.csv")
def sales_csv(session: User, warehouse: ReadOnly, rep: Choice = None, territory: Choice = None) -> Response:
    """The whole filtered queue as CSV, for a spreadsheet or a CRM import."""
    data, day = queue_csv(warehouse, _filters(rep, territory))
    name = f"sales-queue-{day or 'none'}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/ui/leads/{lead_id}")
async def lead_page(
    request: Request,
    session: User,
    state: State,
    warehouse: ReadOnly,
    lead_id: Annotated[str, Path(min_length=1, max_length=500)],
) -> Response:
    """One lead: its score over time, its activities, tonight's reasons and what its model says now."""

    def gather() -> tuple[LeadStory, dict[str, Any]]:
        story = lead_story(warehouse, lead_id)
        if story is None:
            raise NotFoundError(f"lead '{lead_id[:200]}' is not in the warehouse")
        s = state.settings.serving
        now = as_of_or_now(None)
        lead = {"lead_id": lead_id, **story.facts}
        model = state.slot.model_for(state.slot.models(), lead, now)  # a treatment lead: its arm's version
        return story, {
            "published": published(warehouse, lead_id),
            "trend": trend(warehouse, lead_id, s.trend_runs, s.trend_points),
            "fresh": fresh_score(model, warehouse, lead, now),
        }

    story, found = await run_in_threadpool(gather)
    figures = {}
    if story.history:
        figures["history"] = plots.score_history(
            [h["as_of"] for h in story.history], [h["score"] for h in story.history]
        )
    return r.render(request, "lead.html.j2", session, active="sales", figures=figures, story=story, **found)
