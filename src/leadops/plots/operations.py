"""Figures of the running loop: drift per feature over time, features drifted and the score by run, performance
by weekly cohort, published nightly runs, quarantine by reason (the Operations page and the monitoring report)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadops.plots.figure import Figure, axis, bars, clean, errors, heatmap, line

PSI_LARGE = 0.25
"""The top of the drift colour scale at least: the PSI usually read as a large shift (smaller ones stay pale)."""


def run_labels(as_of: Sequence[Any]) -> list[str]:
    """One axis label per monitored run, its as-of day; a second run of the same day is told apart by a count."""
    seen: dict[str, int] = {}
    out = []
    for value in as_of:
        day = str(value)[:16].replace("T", " ")
        seen[day] = seen.get(day, 0) + 1
        out.append(day if seen[day] == 1 else f"{day} #{seen[day]}")
    return out


def drift_heatmap(runs: Sequence[Any], features: Sequence[str], psi: Sequence[Sequence[float | None]]) -> Figure:
    """PSI per feature (rows) per monitored run (columns, oldest first)."""
    top = max([PSI_LARGE, *(v for row in psi for v in clean(row) if v is not None)])
    return heatmap(
        runs,
        features,
        psi,
        title="PSI per feature by monitored run",
        z_title=f"PSI<br>({PSI_LARGE}: large)",
        z_max=top,
    )


def drifted_features(runs: Sequence[Any], counts: Sequence[int]) -> Figure:
    """How many features reached a drift threshold on each monitored run."""
    fig = bars(runs, {"features drifted": counts}, title="Features that drifted, by monitored run", y_title="features")
    fig.layout["xaxis"] = {"type": "category"}
    fig.layout["yaxis"] = axis("features", range=[0, max([1, *counts]) * 1.1], dtick=max(1, max([1, *counts]) // 5))
    fig.layout["showlegend"] = False
    return fig


def score_by_run(runs: Sequence[Any], p10: Sequence[Any], p50: Sequence[Any], p90: Sequence[Any]) -> Figure:
    """The median score of each run with the band between its 10th and 90th percentiles."""
    x = list(runs)
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": "90th percentile", "x": x, "y": clean(p90),
         "line": {"width": 0.5, "color": "#93c5fd"}},
        {"type": "scatter", "mode": "lines", "name": "10th percentile", "x": x, "y": clean(p10), "fill": "tonexty",
         "fillcolor": "rgba(37,99,235,0.15)", "line": {"width": 0.5, "color": "#93c5fd"}},
        {"type": "scatter", "mode": "lines+markers", "name": "median", "x": x, "y": clean(p50),
         "line": {"color": "#2563eb"}},
    ]  # fmt: skip
    layout = {
        "title": {"text": "Score distribution by run (median, 10th-90th percentile)"},
        "xaxis": {"type": "category"},
        "yaxis": axis("score"),
    }
    return Figure(traces, layout)


def cohort_performance(cohorts: Sequence[Mapping[str, Any]]) -> Figure:
    """Per weekly cohort: the realised AUC with its 95 % interval once labels mature, the AUC the calibrated
    probabilities expect, and the realised vs expected conversion rate (right axis)."""
    weeks = [str(c["cohort_week"])[:10] for c in cohorts]
    auc = [c.get("auc") for c in cohorts]
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": "AUC (realised)", "x": weeks, "y": clean(auc),
         "error_y": errors(auc, [c.get("auc_low") for c in cohorts], [c.get("auc_high") for c in cohorts])},
        {"type": "scatter", "mode": "lines", "name": "AUC (expected)", "x": weeks,
         "y": clean([c.get("expected_auc") for c in cohorts]), "line": {"dash": "dash"}},
        {"type": "bar", "name": "conversion (realised)", "x": weeks,
         "y": clean([c.get("conversion_rate") for c in cohorts]), "yaxis": "y2", "opacity": 0.45},
        {"type": "scatter", "mode": "markers", "name": "conversion (expected)", "x": weeks,
         "y": clean([c.get("expected_conversion_rate") for c in cohorts]), "yaxis": "y2",
         "marker": {"symbol": "line-ew-open", "size": 14, "line": {"width": 2}}},
    ]  # fmt: skip
    layout = {
        "title": {"text": "Performance by weekly cohort (lead-created week)"},
        "xaxis": {"type": "date", "tickformat": "%b %d"},
        "yaxis": axis("AUC"),
        "yaxis2": {"title": {"text": "conversion rate"}, "overlaying": "y", "side": "right", "tickformat": ".0%",
                   "rangemode": "tozero", "showgrid": False},
        "margin": {"l": 56, "r": 64, "t": 40, "b": 90},
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
    }  # fmt: skip
    return Figure(traces, layout, height=360)


def estimate_beside_realised(cohorts: Sequence[Mapping[str, Any]]) -> Figure:
    """Per weekly cohort: the AUC estimated from the probabilities while its labels were still out (with the interval
    a calibrated model without concept drift puts the realised AUC in) beside the AUC realised once mature."""
    weeks = [str(c["cohort_week"])[:10] for c in cohorts]
    estimate = [c.get("estimate_auc") for c in cohorts]
    realised = [c.get("auc") for c in cohorts]
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "markers", "name": "AUC estimated while immature (95 % interval)", "x": weeks,
         "y": clean(estimate), "marker": {"symbol": "diamond-open", "size": 9},
         "error_y": errors(estimate, [c.get("estimate_auc_low") for c in cohorts],
                           [c.get("estimate_auc_high") for c in cohorts])},
        {"type": "scatter", "mode": "markers", "name": "AUC realised once mature (95 % CI)", "x": weeks,
         "y": clean(realised), "marker": {"size": 7},
         "error_y": errors(realised, [c.get("auc_low") for c in cohorts], [c.get("auc_high") for c in cohorts])},
    ]  # fmt: skip
    layout = {
        "title": {"text": "AUC estimated while immature vs realised, by cohort (lead-created week)"},
        "xaxis": {"type": "date", "tickformat": "%b %d"},
        "yaxis": axis("AUC"),
        "margin": {"l": 56, "r": 16, "t": 40, "b": 90},
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
    }
    return Figure(traces, layout, height=340)


def nightly_runs(as_of: Sequence[Any], scored: Sequence[Any], to_sales: Sequence[Any]) -> Figure:
    """Leads scored and routed to Sales by each published nightly run."""
    return line(
        as_of,
        {"leads scored": scored, "to Sales": to_sales},
        title="Published nightly runs",
        x_title="as of",
        y_title="leads",
    )


def quarantine_reasons(rows_by_reason: Mapping[str, int]) -> Figure:
    """Quarantined rows by reason, the largest first."""
    reasons = sorted(rows_by_reason, key=lambda k: -rows_by_reason[k])
    fig = bars(
        reasons,
        {"rows": [rows_by_reason[k] for k in reasons]},
        title="Quarantined rows by reason",
        horizontal=True,
        y_title="rows",
    )
    fig.layout["showlegend"] = False
    return fig
