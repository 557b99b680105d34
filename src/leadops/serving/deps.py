"""Every FastAPI dependency of the service in one place: the settings, the served models, the caller's role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from leadops.config import Settings
from leadops.serving.keys import KeyRecord, KeyStore, Role
from leadops.serving.model import LeadRecords
from leadops.serving.schemas import ScoreResult
from leadops.serving.slot import Models, ModelSlot

BEARER = "bearer "


ScoresHook = Callable[[Models, Sequence[ScoreResult]], None]
ShadowHook = Callable[[Models, Sequence[LeadRecords], datetime, Sequence[ScoreResult]], None]


def _no_shadow(models: Models, leads: Sequence[LeadRecords], as_of: datetime, results: Sequence[ScoreResult]) -> None:
    """Shadow scoring off: challengers see nothing."""


@dataclass
class ServiceState:
    """What create_app builds once per worker and every request reads."""

    settings: Settings
    slot: ModelSlot
    keys: KeyStore
    observe_scores: ScoresHook
    shadow: ShadowHook = _no_shadow


def service_state(request: Request) -> ServiceState:
    """The worker's service state (set by create_app)."""
    found: ServiceState = request.app.state.service
    return found


def key_from(authorization: str | None, x_api_key: str | None) -> str | None:
    """The API key given as `Authorization: Bearer <key>`, else `X-API-Key: <key>` (one reading for every path)."""
    if authorization and authorization[: len(BEARER)].lower() == BEARER:
        return authorization[len(BEARER) :].strip() or None
    return x_api_key or None


def presented_key(request: Request) -> str | None:
    """The API key of the request: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    return key_from(request.headers.get("authorization"), request.headers.get("x-api-key"))


def require(role: Role) -> Callable[[Request], Awaitable[KeyRecord]]:
    """A dependency that lets a request through with a valid key of `role` or above: 401 no/bad key, 403 too low."""

    async def check(request: Request) -> KeyRecord:
        key = presented_key(request)
        if key is None:
            raise HTTPException(
                401, "an API key is required (Authorization: Bearer <key> or X-API-Key)", {"WWW-Authenticate": "Bearer"}
            )
        keys = service_state(request).keys
        # from memory on the event loop (a thread hop costs more than the check); the store is read in a thread
        record = keys.verify(key) if keys.remembered(key) else await run_in_threadpool(keys.verify, key)
        if record is None:
            raise HTTPException(401, "the API key is not valid (unknown or revoked)", {"WWW-Authenticate": "Bearer"})
        if not record.role.allows(role):
            raise HTTPException(403, f"this key's role '{record.role.value}' may not do this; it needs '{role.value}'")
        request.state.key_id = record.id
        return record

    return check


async def models(request: Request) -> Models:
    """The champion (and challengers) this request is scored with, taken once."""
    return service_state(request).slot.models()


async def state(request: Request) -> ServiceState:
    """The worker's service state as a dependency (async: a sync one costs a thread hop per request)."""
    return service_state(request)


Viewer = Annotated[KeyRecord, Depends(require(Role.VIEWER))]
Scorer = Annotated[KeyRecord, Depends(require(Role.SCORER))]
Admin = Annotated[KeyRecord, Depends(require(Role.ADMIN))]
Served = Annotated[Models, Depends(models)]
State = Annotated[ServiceState, Depends(state)]
