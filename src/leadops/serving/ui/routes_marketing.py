"""The Marketing page: who is being nurtured (by segment and grade), who came back from Sales, who may not be mailed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from leadops.plots import leads as plots
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User
from leadops.serving.ui.marketing import SEGMENTS, marketing_view

router = APIRouter(include_in_schema=False)


@router.get("/ui/marketing")
def marketing(
    request: Request, session: User, warehouse: ReadOnly, segment: Annotated[str, Query(max_length=40)] = "region"
) -> Response:
    """Tonight's nurture list by segment and grade, recycled leads and why, suppression counts."""
    view = marketing_view(warehouse, segment)
    figures = {}
    if view.mix:
        figures["mix"] = plots.grade_mix(segment, view.mix[:15], view.grades)
    return r.render(
        request, "marketing.html.j2", session, active="marketing", view=view, segments=list(SEGMENTS), figures=figures
    )
