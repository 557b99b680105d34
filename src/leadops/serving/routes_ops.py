"""Operations routes: liveness, readiness, Prometheus metrics, the served model, and a reload for admins."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from leadops.errors import WarehouseLockedError
from leadops.serving import metrics
from leadops.serving.deps import Admin, State, Viewer
from leadops.serving.schemas import ErrorBody, Health, Ready
from leadops.warehouse import open_warehouse

router = APIRouter(tags=["operations"], responses={504: {"model": ErrorBody}})
KEYED: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 503)}
"""What a route behind a key can answer besides 200: no/bad key, role too low, key store or model unavailable."""


@router.get("/health", summary="The process is up (no key needed)")
async def health() -> Health:
    """Liveness: answers as long as the worker runs."""
    return Health()


_CHECKED: dict[str, tuple[float, str]] = {}
CHECK_SECONDS = 5.0


def _warehouse_answers(state: State) -> str:
    """'ok' (a writer holding DuckDB's lock counts: it is there, busy), else why not; re-checked every 5 s."""
    url = state.settings.warehouse.url
    now = time.monotonic()
    cached = _CHECKED.get(url)
    if cached is not None and now - cached[0] < CHECK_SECONDS:
        return cached[1]
    try:
        with open_warehouse(url, state.settings.workspace, read_only=True, migrate=False) as wh:
            wh.rows("SELECT 1")
        answer = "ok"
    except WarehouseLockedError:
        answer = "ok"
    except Exception as exc:  # any other failure means not ready; never echo a message that may hold a URL
        answer = f"unreachable: {type(exc).__name__}"
    _CHECKED[url] = (now, answer)
    return answer


@router.get(
    "/ready",
    summary="A model is loaded and the warehouse answers (no key needed)",
    responses={503: {"model": Ready, "description": "not ready: no model loaded, or the warehouse does not answer"}},
)
def ready(state: State, response: Response) -> Ready:
    """Readiness: 200 when both hold, 503 otherwise (a load balancer sends no traffic until then)."""
    version = state.slot.version
    warehouse = _warehouse_answers(state)
    ok = version is not None and warehouse == "ok"
    response.status_code = 200 if ok else 503
    return Ready(ok=ok, model_version=version, model_loaded=version is not None, warehouse=warehouse)


@router.get(
    "/metrics",
    summary="Prometheus metrics (latency per route, scores by grade, errors, model version)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **KEYED},
)
async def prometheus(_: Viewer) -> Response:
    """The text exposition format, collected across every worker process."""
    body, content_type = metrics.render_metrics()
    return Response(body, media_type=content_type)


@router.get("/v1/model", summary="The versions serving now", responses=KEYED)
async def model(state: State, _: Viewer) -> dict[str, Any]:
    """Champion and challenger versions of this worker, and when the follower last failed."""
    served = state.slot.models()
    return {
        "champion": {"version": served.champion.version, "scorer": served.champion.scorer_type},
        "challengers": [{"version": c.version, "scorer": c.scorer_type} for c in served.challengers],
        "last_error": state.slot.last_error,
    }


@router.post("/v1/admin/reload", summary="Follow the registry now (admins)", responses=KEYED)
def reload(state: State, _: Admin) -> dict[str, Any]:
    """Re-read the champion alias from the registry and swap if it moved; answers the version now serving."""
    state.slot.refresh_from_registry()
    changed = state.slot.refresh(force=True)
    return {"ok": True, "changed": changed, "model_version": state.slot.version}
