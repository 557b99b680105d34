"""The Experiments page: arms, allocation check, KPI over time, lift with intervals, the recommendation and why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadops.plots import experiments as plots
from leadops.serving.deps import State
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User
from leadops.serving.ui.experiments import SRM_ALPHA, cards, kpi_label
from leadops.warehouse.connection import utcnow

router = APIRouter(include_in_schema=False)


@router.get("/ui/experiments")
def experiments(request: Request, session: User, state: State, warehouse: ReadOnly) -> Response:
    """Each experiment: its arms and split, its KPI and lift at every readout, and what the last readout says."""
    found = cards(state.settings, warehouse, utcnow())
    figures = {}
    for i, card in enumerate(found):
        if card.history:
            figures[f"kpi{i}"] = plots.kpi_over_time(card.history, kpi=kpi_label(card.spec))
            figures[f"lift{i}"] = plots.lift_over_time(card.history)
    return r.render(
        request,
        "experiments.html.j2",
        session,
        active="experiments",
        experiments=found,
        srm_alpha=SRM_ALPHA,
        kpi_label=kpi_label,
        figures=figures,
    )
