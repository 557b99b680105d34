"""Models pages: the registry, the audit log, each version's report, champion vs challenger, promote and rollback.

Promote and rollback are admin-only POSTs (CSRF-checked) that go through the same code as `leadops models
promote` / `rollback`: the same gates, the same forced-with-a-reason rule, the same audit log (the actor is
the signed-in key, `ui:<name>`). This worker then follows the registry at once; the others within
`serving.reload_seconds`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from leadops.errors import GateFailedError, NotFoundError
from leadops.plots import leads as plots
from leadops.registry.records import ModelVersion
from leadops.serving.deps import ServiceState, State
from leadops.serving.keys import Role
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import AdminUser, ReadOnly, User, read_only
from leadops.serving.ui.models import (
    HEADLINE,
    headline,
    lineage_rows,
    registry_view,
    report_file,
    reports,
    version_report,
)
from leadops.serving.ui.sales import PageParamError
from leadops.serving.ui.session import CSRF_FIELD, check_post, form_fields
from leadops.warehouse import Warehouse, open_warehouse

router = APIRouter(include_in_schema=False)
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'"
)
"""Reports are standalone files (inline styles, their inlined plotly.js draws the figures): sandboxed to an opaque
origin (no cookie, no API call from a report's scripts), nothing fetched."""
DONE = {"promoted": "is now the champion", "rolled_back": "is the champion again (rolled back)"}


def _page(
    request: Request,
    session: User,
    state: ServiceState,
    warehouse: ReadOnly,
    *,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    view = registry_view(state.settings, warehouse)
    done, version = request.query_params.get("done"), request.query_params.get("v", "")
    notice = f"v{version} {DONE[done]}." if done in DONE and version.isdigit() else None
    others = view.challengers or [v for v in view.versions if not v.is_champion][:1]
    side = [v for v in (view.champion, *others) if v is not None]
    if view.champion is None:
        side = view.versions[:2]

    def label(v: ModelVersion) -> str:
        role = "champion" if v.is_champion else ", ".join(v.aliases) or "newest other version"
        return f"v{v.version} ({role})"

    compared = {label(v): headline(v) for v in side}
    metrics = [m for m in HEADLINE if any(m in figures for figures in compared.values())]
    versus = plots.versus(compared)
    figures = {"versus": versus} if versus is not None else {}
    return r.render(
        request,
        "models.html.j2",
        session,
        active="models",
        status=status,
        view=view,
        notice=notice,
        problem=problem,
        compared=compared,
        metrics=metrics,
        figures=figures,
        reports=reports(state.settings),
        report_of={v.version: version_report(state.settings, v) for v in view.versions},
        lineage={v.version: lineage_rows(v) for v in view.versions},
        is_admin=session.may(Role.ADMIN),
        headline=headline,
    )


@router.get("/ui/models")
def models_page(request: Request, session: User, state: State, warehouse: ReadOnly) -> Response:
    """The registry: versions, aliases, lineage, audit log, champion vs challenger, reports."""
    return _page(request, session, state, warehouse)


def _writable(state: ServiceState) -> Warehouse:
    """A writable connection for one action (the registry's audit log lives in the warehouse)."""
    return open_warehouse(state.settings.warehouse.url, state.settings.workspace)


def _follow(state: ServiceState) -> None:
    """This worker serves the new champion now (the others follow the alias cache on their own)."""
    state.slot.refresh(force=True)


@router.post("/ui/models/promote")
async def promote(request: Request, session: AdminUser, state: State) -> Response:
    """Make VERSION the champion through the gates (`leadops models promote`); forced only with a reason."""
    fields = await form_fields(request)
    check_post(request, session, fields.get(CSRF_FIELD))
    from leadops.modeling.review import promote_ref

    text = fields.get("version", "").strip()
    if not text.isdigit() or int(text) < 1:
        raise PageParamError(f"version: expected a registered version number, got {text[:20]!r}")
    version, reason, force = int(text), fields.get("reason", "")[:500], fields.get("force") == "true"

    def run() -> bool:
        with _writable(state) as warehouse:
            result = promote_ref(
                state.settings, warehouse, str(version), force=force, reason=reason.strip() or None, actor=session.actor
            )
        _follow(state)
        return result.promoted

    try:
        await run_in_threadpool(run)
    except GateFailedError as exc:
        return await run_in_threadpool(_refused, request, session, state, str(exc))
    return RedirectResponse(f"/ui/models?done=promoted&v={version}", status_code=303)


@router.post("/ui/models/rollback")
async def rollback(request: Request, session: AdminUser, state: State) -> Response:
    """Give the champion alias back to the previous champion (`leadops models rollback`)."""
    fields = await form_fields(request)
    check_post(request, session, fields.get(CSRF_FIELD))
    reason = fields.get("reason", "")[:500]
    from leadops.registry import Registry

    def run() -> int:
        with _writable(state) as warehouse:
            restored = Registry(state.settings, warehouse).rollback(actor=session.actor, reason=reason.strip() or None)
        _follow(state)
        return restored.version

    try:
        restored = await run_in_threadpool(run)
    except NotFoundError as exc:
        return await run_in_threadpool(_refused, request, session, state, str(exc))
    return RedirectResponse(f"/ui/models?done=rolled_back&v={restored}", status_code=303)


def _refused(request: Request, session: User, state: ServiceState, message: str) -> Response:
    """The Models page again, saying why the action was refused (HTTP 409)."""
    with read_only(state) as (warehouse, _):
        return _page(request, session, state, warehouse, status=409, problem=message)


@router.get("/ui/reports/{name}")
def report(session: User, state: State, name: Annotated[str, Path(max_length=200)]) -> Response:
    """A report file leadops wrote (evaluation, comparison, monitoring, experiment), as it is offline."""
    path = report_file(state.settings, name)
    headers = {"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=headers)
