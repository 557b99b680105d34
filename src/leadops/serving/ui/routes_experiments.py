"""The Experiments page: each experiment's arms and, once the experiments part has analysed them, its readout."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadops.serving.deps import State
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User
from leadops.serving.ui.experiments import cards

router = APIRouter(include_in_schema=False)


@router.get("/ui/experiments")
def experiments(request: Request, session: User, state: State, warehouse: ReadOnly) -> Response:
    """Configured experiments, their arms and shares; readouts when there are any."""
    found, have_readouts = cards(state.settings, warehouse)
    return r.render(
        request, "experiments.html.j2", session, active="experiments", experiments=found, have_readouts=have_readouts
    )
