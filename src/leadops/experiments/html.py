"""The HTML readout: arms with intervals, lift over the readouts so far, units per arm by day (inline SVG, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leadops.evaluation.report import _markup, render_template
from leadops.evaluation.svg import Series, line_chart


def _arms_chart(readout: dict[str, Any]) -> str:
    """Each arm's KPI and interval as a horizontal bar (a forest plot) on one axis."""
    series = []
    for i, arm in enumerate(readout["arms"]):
        if arm["kpi_low"] is None or arm["kpi_high"] is None:
            continue
        xs = [arm["kpi_low"], arm["kpi"], arm["kpi_high"]]
        series.append(Series(arm["name"], xs, [float(i + 1)] * 3, markers=True))
    return line_chart(
        series,
        title=f"{readout['kpi']} per arm (interval at alpha {readout['alpha_per_comparison']:.3g})",
        x_label=readout["kpi"],
        y_label="arm",
        y_range=(0.0, float(len(readout["arms"]) + 1)),
    )


def _lift_chart(readout: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """The lift and its interval at each stored readout (and this one): how the estimate settled."""
    series = []
    for comp in readout["comparisons"]:
        rows = sorted(
            [r for r in history if r["treatment_arm"] == comp["treatment"] and r["lift"] is not None],
            key=lambda r: r["as_of"],
        )
        points = [(str(r["as_of"])[:10], r["lift"], r["lift_low"], r["lift_high"]) for r in rows]
        if comp.get("lift") is not None:
            points.append((readout["as_of"][:10], comp["lift"], comp["lift_low"], comp["lift_high"]))
        xs = [float(i) for i in range(len(points))]
        series.append(Series(f"{comp['treatment']} lift", xs, [p[1] for p in points], markers=True))
        series.append(Series("low", xs, [p[2] for p in points], dashed=True))
        series.append(Series("high", xs, [p[3] for p in points], dashed=True))
    return line_chart(series, title="relative lift by readout", x_label="readout (oldest first)", y_label="lift")


def _units_chart(frame: pd.DataFrame) -> str:
    """Cumulative units per arm by assignment day (a drifting ratio shows a broken assignment)."""
    series = []
    if len(frame):
        days = pd.to_datetime(frame["assigned_at"]).dt.floor("D")
        first = days.min()
        for arm, part in frame.assign(day=(days - first).dt.days).groupby("arm"):
            daily = part.groupby("day").size().cumsum()
            series.append(Series(str(arm), daily.index.astype(float).tolist(), daily.astype(float).tolist()))
    return line_chart(series, title="units per arm", x_label="days since the first assignment", y_label="units")


def write_html(path: Path, readout: dict[str, Any], frame: pd.DataFrame, history: list[dict[str, Any]]) -> Path:
    """Render the readout with its plots to `path` (UTF-8); returns the path."""
    html = render_template(
        "experiment.html.j2",
        title=f"Experiment {readout['experiment']}: readout as of {readout['as_of'][:10]}",
        r=readout,
        arms_chart=_markup(_arms_chart(readout)),
        lift_chart=_markup(_lift_chart(readout, history)),
        units_chart=_markup(_units_chart(frame)),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
