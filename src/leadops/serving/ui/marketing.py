"""What the Marketing page reads: the nurture list by segment and grade, leads recycled from Sales, suppressions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadops.serving.ui.sales import PageParamError, current_run
from leadops.warehouse import Warehouse

SEGMENTS = {"region": "q.region", "lead_source": "l.lead_source", "channel": "q.channel", "job_level": "l.job_level"}
"""What the nurture list can be cut by: the lead's territory, its source, its nurture channel, its job level."""


@dataclass
class MarketingView:
    """The Marketing page's figures for tonight's run."""

    run_id: str | None
    as_of: datetime | None
    segment: str
    grades: list[str]
    mix: list[dict[str, Any]]
    nurture_total: int
    recycled_total: int
    recycled: list[dict[str, Any]]
    recycle_reasons: list[tuple[str, int]]
    suppressed: dict[str, int]
    top: list[dict[str, Any]]


def marketing_view(warehouse: Warehouse, segment: str, *, top: int = 25) -> MarketingView:
    """Tonight's nurture list cut by `segment` x grade, recycled leads and why, and the no-consent counts."""
    if segment not in SEGMENTS:
        raise PageParamError(f"segment: expected one of {', '.join(SEGMENTS)}, got {segment[:40]!r}")
    run = current_run(warehouse)
    empty = {"route suppressed": 0, "do not email": 0, "do not call": 0, "both": 0}
    if run is None:
        return MarketingView(None, None, segment, [], [], 0, 0, [], [], empty, [])
    run_id = run[0]
    column = SEGMENTS[segment]
    rows = warehouse.rows(
        f"SELECT coalesce(CAST({column} AS VARCHAR), '(none)') AS seg, coalesce(q.grade, '?') AS grade, count(*) "
        "FROM nurture_queue q LEFT JOIN leads l ON l.lead_id = q.lead_id WHERE q.run_id = ? GROUP BY 1, 2",
        [run_id],
    )
    grades = sorted({str(r[1]) for r in rows})
    table: dict[str, dict[str, int]] = {}
    for seg, grade, count in rows:
        table.setdefault(str(seg), {})[str(grade)] = int(count)
    ordered = sorted(table.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    mix: list[dict[str, Any]] = [
        {"segment": seg, "counts": counts, "total": sum(counts.values())} for seg, counts in ordered
    ]
    recycled = [
        {"lead_id": r[0], "recycled_at": r[1], "score": r[2], "grade": r[3], "why": r[4]}
        for r in warehouse.rows(
            "SELECT lead_id, recycled_at, score, grade, route_reason FROM nurture_queue "
            "WHERE run_id = ? AND recycled_at IS NOT NULL ORDER BY recycled_at DESC, lead_id LIMIT 50",
            [run_id],
        )
    ]
    reasons = [
        (str(r[0]), int(r[1]))
        for r in warehouse.rows(
            "SELECT split_part(route_reason, ';', 1) AS why, count(*) FROM nurture_queue "
            "WHERE run_id = ? AND recycled_at IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1",
            [run_id],
        )
    ]
    counts = warehouse.rows(
        "SELECT count(*) FILTER (WHERE route = 'suppressed'), count(*) FILTER (WHERE do_not_email), "
        "count(*) FILTER (WHERE do_not_call), count(*) FILTER (WHERE do_not_email AND do_not_call) "
        "FROM lead_scores WHERE run_id = ?",
        [run_id],
    )[0]
    suppressed = dict(zip(empty, (int(c or 0) for c in counts), strict=True))
    best = [
        {"lead_id": r[0], "score": r[1], "grade": r[2], "channel": r[3], "why": r[4]}
        for r in warehouse.rows(
            "SELECT lead_id, score, grade, channel, route_reason FROM nurture_queue WHERE run_id = ? "
            "ORDER BY score_rank, lead_id LIMIT ?",
            [run_id, top],
        )
    ]
    return MarketingView(
        run_id,
        run[1],
        segment,
        grades,
        mix,
        sum(int(m["total"]) for m in mix),
        sum(c for _, c in reasons),
        recycled,
        reasons,
        suppressed,
        best,
    )
