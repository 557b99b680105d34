"""GET /v1/leads/{lead_id}: tonight's published score, the trend over the last runs, and a fresh score.

Reads open a short-lived read-only connection (DuckDB admits many read-only processes but none while a
writer holds the file): while the nightly job writes, the answer comes from the analysts' copy of the last
published run (`warehouse.analytics_copy`), or 503 with Retry-After at once when there is none, never a wait.
The fresh score is the champion bundle's own rows for the lead (`Bundle.rows`, the nightly job's SQL path)
scored by the served model, so it is the number tonight's run would give the lead now (from the copy: as of
the copy's data).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from leadops.errors import LeadOpsError, NotFoundError, WarehouseError, WarehouseLockedError
from leadops.serving.model import ServedModel
from leadops.serving.schemas import Components, Reason, ScoreResult
from leadops.serving.schemas_leads import LeadView, PublishedScore, Trend, TrendPoint
from leadops.settings.serving import ServingSettings
from leadops.warehouse import Warehouse, open_warehouse
from leadops.warehouse.snapshot import open_copy

RETRY_AFTER_SECONDS = 30


class WarehouseBusyError(LeadOpsError):
    """The warehouse is held by a writer (the nightly job) and cannot be read this moment (HTTP 503)."""

    exit_code = 51
    http_status = 503

    def __init__(self, message: str, *, hint: str | None = None, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(message, hint=hint)
        self.headers = {"Retry-After": str(retry_after)}


def _busy(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, WarehouseLockedError) or "lock" in text or "different configuration" in text


def _busy_error() -> WarehouseBusyError:
    return WarehouseBusyError(
        "the warehouse is being written (the nightly job holds it); try again shortly",
        hint=f"retry after {RETRY_AFTER_SECONDS} s",
    )


@contextmanager
def reading(url: str, workspace: Any, copy: Path | None = None) -> Iterator[tuple[Warehouse, bool]]:
    """A read-only connection for one request and whether it is the analysts' copy: the warehouse, or while a
    writer holds DuckDB's file the copy of the last published run; 503 (Retry-After) when neither can be read."""
    try:
        warehouse = open_warehouse(url, workspace, read_only=True, migrate=False)
        from_copy = False
    except Exception as exc:  # DuckDB raises its own types for a file another process or connection holds
        if not _busy(exc):
            if isinstance(exc, WarehouseError):
                raise
            raise WarehouseError(f"the warehouse cannot be read: {type(exc).__name__}") from exc
        if copy is None or not copy.exists():
            raise _busy_error() from exc
        try:
            warehouse, from_copy = open_copy(copy), True
        except Exception as second:
            raise _busy_error() from second
    try:
        yield warehouse, from_copy
    finally:
        warehouse.close()


def _reasons(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    data = json.loads(value) if isinstance(value, str) else value
    return [dict(r) for r in data] if isinstance(data, list) else []


def published(warehouse: Warehouse, lead_id: str) -> PublishedScore | None:
    """The lead's row of the latest published run, if that run scored it."""
    rows = warehouse.rows(
        "SELECT s.run_id, s.as_of, s.model_version, s.score, s.probability, s.grade, s.score_rank, s.percentile, "
        "s.mql, s.route, s.route_reason, s.rep, s.with_sales_since, s.reason_text "
        "FROM current_scores s WHERE s.lead_id = ?",
        [lead_id],
    )
    if not rows:
        return None
    names = list(PublishedScore.model_fields)
    return PublishedScore(**dict(zip(names, rows[0], strict=True)))


def trend_rule(runs: int, points: float) -> str:
    """The trend rule in words (the docs say the same)."""
    return (f"latest minus earliest of the last {runs} published scores of the lead: >= +{points:g} points "
            f"improving, <= -{points:g} declining, otherwise steady; fewer than 2 scores: unknown")  # fmt: skip


def trend(warehouse: Warehouse, lead_id: str, runs: int, threshold: float) -> Trend:
    """The direction of the lead's score over its last `runs` published runs (oldest first)."""
    rows = warehouse.rows(
        "SELECT s.run_id, r.as_of, s.score, s.grade, s.model_version FROM lead_scores s "
        "JOIN published_runs r ON r.run_id = s.run_id WHERE s.lead_id = ? "
        "ORDER BY r.as_of DESC, r.published_at DESC LIMIT ?",
        [lead_id, runs],
    )
    points = [TrendPoint(run_id=r[0], as_of=r[1], score=r[2], grade=r[3], model_version=r[4]) for r in reversed(rows)]
    scored = [p.score for p in points if p.score is not None]
    rule = trend_rule(runs, threshold)
    if len(scored) < 2:
        return Trend(direction="unknown", change=None, points=points, rule=rule)
    change = round(float(scored[-1]) - float(scored[0]), 6)
    direction = "improving" if change >= threshold else "declining" if change <= -threshold else "steady"
    return Trend(direction=direction, change=change, points=points, rule=rule)  # type: ignore[arg-type]


def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None


def fresh_score(model: ServedModel, warehouse: Warehouse, lead: dict[str, Any], now: datetime) -> ScoreResult:
    """The model's score of the lead from the warehouse's data as of now (its bundle's own feature SQL)."""
    lead_id = str(lead["lead_id"])
    X = model.bundle.rows(warehouse, [lead_id], now)
    scorer = model.scorer
    scored = scorer.score(X)
    explained = scorer.explain_json(X, top_n=model.top_n)
    parts = scorer.component_scores(X)
    score = float(scored["score"].iat[0])
    probability = _finite(scored["probability"].iat[0])
    details = [Reason(**item) for item in _reasons(str(explained["reasons"].iat[0]))]
    route, why = model.route(score, probability, lead)
    components = None
    if parts is not None:
        components = Components(
            fit_score=_finite(parts["fit_score"].iat[0]), engagement_score=_finite(parts["engagement_score"].iat[0])
        )
    return ScoreResult(
        lead_id=lead_id, probability=probability, score=score, grade=str(scored["grade"].iat[0]),
        reasons=[d.text for d in details], reason_details=details, components=components, route=route,
        route_reason=why, model_version=model.version,
    )  # fmt: skip


def lead_view(
    model: ServedModel | Callable[[dict[str, Any]], ServedModel],
    url: str,
    workspace: Any,
    lead_id: str,
    now: datetime,
    serving: ServingSettings,
    copy: Path | None = None,
) -> LeadView:
    """Everything GET /v1/leads/{lead_id} answers, from one short read-only connection (the analysts' copy of the
    last published run while the nightly job holds DuckDB's file; a lead it does not hold yet is a 503 then).
    `model` is the served model, or picks it from the stored lead (an experiment arm's version)."""
    with reading(url, workspace, copy) as (warehouse, from_copy):
        rows = warehouse.rows(
            "SELECT lead_id, do_not_email, do_not_call, account_id, created_at FROM leads WHERE lead_id = ?", [lead_id]
        )
        if not rows and from_copy:
            raise _busy_error()  # it may be in the warehouse: only the job can say, so not a 404
        if not rows:
            raise NotFoundError(
                f"lead '{lead_id[:200]}' is not in the warehouse",
                hint="a lead submitted with POST /v1/leads and answered 'queued' is stored shortly",
            )
        lead = {"lead_id": rows[0][0], "do_not_email": rows[0][1], "do_not_call": rows[0][2]}
        if not isinstance(model, ServedModel):
            model = model({**lead, "account_id": rows[0][3], "created_at": rows[0][4]})
        return LeadView(
            lead_id=lead_id,
            as_of=now,
            published=published(warehouse, lead_id),
            trend=trend(warehouse, lead_id, serving.trend_runs, serving.trend_points),
            fresh=fresh_score(model, warehouse, lead, now),  # the bundle's feature SQL, on either engine
        )
