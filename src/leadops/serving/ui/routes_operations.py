"""The Operations page: is tonight's machinery healthy (runs, ingest, quarantine, drift, cohorts, alerts, service)?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadops.serving import metrics
from leadops.serving.ui import operations as ops
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User

router = APIRouter(include_in_schema=False)
PSI_LARGE = 0.25
"""The top of the drift colour scale: the PSI usually read as a large shift (smaller ones stay pale)."""


@router.get("/ui/operations")
def operations(request: Request, session: User, warehouse: ReadOnly) -> Response:
    """Nightly runs, ingest and quarantine, drift per feature over time, cohort performance, alerts, the service."""
    runs = ops.nightly_runs(warehouse)
    counts, samples = ops.quarantine(warehouse)
    drift = ops.drift(warehouse)
    cohorts = ops.cohorts(warehouse)
    service = ops.service_rates(metrics.render_metrics()[0].decode())
    figures = {}
    if drift.features:
        labels = [r.when(a) for a in drift.as_of]
        figures["drift"] = r.heatmap(
            labels,
            drift.features,
            drift.psi,
            title="PSI per feature by monitored run (0.25 and above: a large shift)",
            z_title="PSI",
            z_max=max([PSI_LARGE, *(v for row in drift.psi for v in row if v is not None)]),
        )
    if cohorts:
        weeks = [c["cohort_week"] for c in cohorts]
        figures["cohorts"] = r.line(
            weeks,
            {
                "AUC (realised)": [c["auc"] for c in cohorts],
                "AUC (expected)": [c["expected_auc"] for c in cohorts],
                "conversion rate": [c["conversion_rate"] for c in cohorts],
            },
            title="Performance by weekly cohort",
            x_title="cohort week",
            y_title="value",
        )
    if counts:
        reasons: dict[str, int] = {}
        for c in counts:
            reasons[c["reason"]] = reasons.get(c["reason"], 0) + int(c["rows"])
        figures["quarantine"] = r.bars(
            list(reasons),
            {"rows": list(reasons.values())},
            title="Quarantined rows by reason",
            horizontal=True,
            y_title="rows",
        )
    if runs:
        done = [x for x in reversed(runs) if x["status"] == "published"]
        if done:
            figures["runs"] = r.line(
                [r.when(x["as_of"]) for x in done],
                {"leads scored": [x["leads_scored"] for x in done], "to Sales": [x["routed_sales"] for x in done]},
                title="Published nightly runs",
                x_title="as of",
                y_title="leads",
            )
    return r.render(
        request,
        "operations.html.j2",
        session,
        active="operations",
        runs=runs,
        ingests=ops.ingest_runs(warehouse),
        quarantine=counts,
        samples=samples,
        drift=drift,
        cohorts=cohorts,
        alerts=ops.alerts(warehouse),
        service=service,
        figures=figures,
    )
