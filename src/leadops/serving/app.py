"""The app factory of the online service: `create_app(settings)` builds one worker's app; nothing at import time.

`leadops serve` runs it under uvicorn (N workers, each its own process with its own copy of the champion);
`app_from_environment` is the factory uvicorn imports, reading the workspace from LEADOPS_WORKSPACE.
"""

from __future__ import annotations

import gc
import os
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from leadops.config import Settings, load
from leadops.serving import errors, metrics, openapi, ui
from leadops.serving.deps import ServiceState
from leadops.serving.fast_score import PATH as FAST_PATH
from leadops.serving.fast_score import FastScore
from leadops.serving.intake import Drainer, IntakeService
from leadops.serving.keys import KeyStore
from leadops.serving.middleware import ServiceMiddleware
from leadops.serving.routes_leads import router as leads_router
from leadops.serving.routes_ops import router as ops_router
from leadops.serving.routes_score import TEXTBOOK_LEAD
from leadops.serving.routes_score import router as score_router
from leadops.serving.routes_shadow import router as shadow_router
from leadops.serving.schemas import ScoreResult
from leadops.serving.shadow import ShadowScorer
from leadops.serving.slot import Follower, Models, ModelSlot

WORKSPACE_ENV = "LEADOPS_WORKSPACE"
DESCRIPTION = """\
Tonight's champion model, served online: score a lead from its raw attributes and activities in milliseconds,
with the reasons a salesperson reads and the route it would take. Every route except /health and /ready needs
an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`; create one with `leadops keys create`).
Every error has one shape: `{"ok": false, "error": ..., "status": ..., "detail": [...]}`.
"""


def _observe_scores(served: Models, results: Sequence[ScoreResult]) -> None:
    for grade, count in Counter(r.grade for r in results).items():
        metrics.observe_score(grade, str(served.champion.version), count)


def create_app(settings: Settings, *, follow: bool = True) -> FastAPI:
    """One worker's app for the workspace's settings: champion loaded, keys open, registry followed."""
    serving = settings.serving
    slot = ModelSlot(settings, shadow=serving.shadow, on_swap=lambda v: metrics.set_model_version(str(v)))
    slot.refresh()
    shadow = ShadowScorer(settings) if serving.shadow else None
    state = ServiceState(
        settings=settings, slot=slot, keys=KeyStore.for_workspace(settings.workspace), observe_scores=_observe_scores
    )
    if shadow is not None:
        state.shadow = shadow.submit
    follower = Follower(slot, every=serving.reload_seconds, registry_every=serving.registry_refresh_seconds)
    intake = IntakeService(settings)
    drainer = Drainer(intake, every=serving.intake_drain_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if follow:
            follower.start()
            drainer.start()
            ui.warm_up(state)
        # the loaded model, settings and app are long-lived: out of the collector's sight, a request's garbage
        # collection walks only what requests made (shorter pauses, a lower p99)
        gc.freeze()
        try:
            yield
        finally:
            follower.stop()
            drainer.stop()
            intake.close()
            if shadow is not None:
                shadow.stop()

    app = FastAPI(
        title="leadops scoring service",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = state
    app.state.intake = intake
    app.state.shadow = shadow
    errors.install(app)
    ui.install(app, state)
    openapi.install(app, slot, max_batch=serving.max_batch, book_example=TEXTBOOK_LEAD)
    app.include_router(ops_router)
    app.include_router(score_router)
    app.include_router(shadow_router)
    app.include_router(leads_router)
    if serving.fast_path:
        route = next(r for r in score_router.routes if isinstance(r, APIRoute) and r.path == FAST_PATH)
        app.add_middleware(FastScore, state=state, route=route)  # inside ServiceMiddleware: limits and metrics
    app.add_middleware(
        ServiceMiddleware,
        max_body=serving.max_body_bytes,
        timeout=serving.request_timeout_seconds,
        observe=metrics.observe_request,
    )
    return app


def app_from_environment() -> FastAPI:
    """The factory `leadops serve` hands uvicorn: the workspace comes from LEADOPS_WORKSPACE."""
    return create_app(load(os.environ.get(WORKSPACE_ENV, ".")))
