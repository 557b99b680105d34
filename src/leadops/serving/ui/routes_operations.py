"""The Operations page: is tonight's machinery healthy (runs, ingest, quarantine, drift, cohorts, alerts, service)?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadops.plots import operations as plots
from leadops.serving import metrics
from leadops.serving.deps import State
from leadops.serving.ui import operations as ops
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User
from leadops.serving.ui.models import reports

router = APIRouter(include_in_schema=False)


@router.get("/ui/operations")
def operations(request: Request, session: User, state: State, warehouse: ReadOnly) -> Response:
    """Nightly runs, ingest and quarantine, drift per feature over time, cohort performance, alerts, the service."""
    runs = ops.nightly_runs(warehouse)
    counts, samples = ops.quarantine(warehouse)
    drift = ops.drift(warehouse)
    cohorts = ops.cohorts(warehouse)
    service = ops.service_rates(metrics.render_metrics()[0].decode())
    figures = {}
    if drift.features:
        figures["drift"] = plots.drift_heatmap(plots.run_labels(drift.as_of), drift.features, drift.psi)
    if cohorts:
        figures["cohorts"] = plots.cohort_performance(cohorts)
    if counts:
        reasons: dict[str, int] = {}
        for c in counts:
            reasons[c["reason"]] = reasons.get(c["reason"], 0) + int(c["rows"])
        figures["quarantine"] = plots.quarantine_reasons(reasons)
    done = [x for x in reversed(runs) if x["status"] == "published"]
    if done:
        figures["runs"] = plots.nightly_runs(
            [r.when(x["as_of"]) for x in done], [x["leads_scored"] for x in done], [x["routed_sales"] for x in done]
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
        monitoring_reports=[rep for rep in reports(state.settings) if rep["kind"] == "monitoring"],
    )
