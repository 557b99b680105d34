"""Figures of an A/B experiment: each arm's KPI with its interval, the KPI and the relative lift (with its
interval) at every readout, and units per arm over time (a drifting ratio shows a broken assignment)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadops.plots.figure import Figure, axis, clean, errors, guide, line

Readout = Mapping[str, Any]
"""A stored readout row (`experiments.store.readouts`): as_of, control_arm, treatment_arm, control_kpi,
treatment_kpi, lift, lift_low, lift_high."""


def _days(history: Sequence[Readout]) -> list[str]:
    return sorted({str(h["as_of"])[:10] for h in history})


def _by_day(history: Sequence[Readout], arm: str) -> dict[str, Readout]:
    return {str(h["as_of"])[:10]: h for h in history if h["treatment_arm"] == arm}


def kpi_over_time(history: Sequence[Readout], *, kpi: str) -> Figure:
    """Each arm's KPI at every readout day (the control once, each treatment beside it)."""
    days = _days(history)
    series: dict[str, list[Any]] = {}
    for arm in sorted({h["treatment_arm"] for h in history}):
        rows = _by_day(history, arm)
        control = str(next(iter(rows.values()))["control_arm"])
        series.setdefault(f"{control} (control)", [rows[d]["control_kpi"] if d in rows else None for d in days])
        series[arm] = [rows[d]["treatment_kpi"] if d in rows else None for d in days]
    return line(days, series, title=f"{kpi}, by readout", x_title="as of")


def lift_over_time(history: Sequence[Readout]) -> Figure:
    """Each treatment's relative lift over the control at every readout day, with its interval, against zero."""
    days = _days(history)
    traces = []
    for arm in sorted({h["treatment_arm"] for h in history}):
        rows = _by_day(history, arm)
        lift = [rows[d]["lift"] if d in rows else None for d in days]
        low = [rows[d]["lift_low"] if d in rows else None for d in days]
        high = [rows[d]["lift_high"] if d in rows else None for d in days]
        traces.append(
            {"type": "scatter", "mode": "lines+markers", "name": f"{arm} lift", "x": days, "y": clean(lift),
             "error_y": errors(lift, low, high)}
        )  # fmt: skip
    layout = {
        "title": {"text": "Relative lift with its interval, by readout"},
        "xaxis": axis("as of"),
        "yaxis": axis("lift (T - C) / C", tickformat="+.0%"),
        "shapes": [guide(0, 0, 1, 0, xref="paper")],
    }
    return Figure(traces, layout)


def arm_intervals(arms: Sequence[Mapping[str, Any]], *, kpi: str, alpha: float) -> Figure:
    """Each arm's KPI and its interval on one axis (a forest plot; the control first)."""
    names = [f"{a['name']} (control)" if a.get("control") else str(a["name"]) for a in arms]
    values = [a["kpi"] for a in arms]
    trace = {
        "type": "scatter",
        "mode": "markers",
        "name": kpi,
        "x": clean(values),
        "y": names,
        "error_x": errors(values, [a["kpi_low"] for a in arms], [a["kpi_high"] for a in arms]),
        "marker": {"size": 10},
    }
    layout = {
        "title": {"text": f"{kpi} per arm (interval at alpha {alpha:.3g})"},
        "xaxis": axis(kpi),
        "yaxis": {"type": "category", "autorange": "reversed", "automargin": True},
        "showlegend": False,
        "margin": {"l": 120, "r": 16, "t": 40, "b": 60},
    }
    return Figure([trace], layout, height=max(220, 120 + 40 * len(arms)))


def units_per_arm(days: Sequence[Any], cumulative: Mapping[str, Sequence[int]]) -> Figure:
    """Cumulative units per arm by assignment day."""
    fig = line(days, cumulative, title="Units per arm", x_title="assigned on", y_title="units", markers=False)
    return fig
