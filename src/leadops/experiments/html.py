"""The HTML readout: each arm's KPI with its interval, the KPI and the lift (with its interval) at every readout
so far and this one, units per arm by day; the figures of `leadops.plots`, drawn offline by the inlined plotly.js."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from leadops.evaluation.report import render_template
from leadops.experiments.report import comparison_row
from leadops.plots import Figure
from leadops.plots import experiments as plots


def readout_rows(readout: dict[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored readouts with this one added in the same shape (this one replaces a stored one of its day)."""
    day = str(readout["as_of"])[:10]
    current = [{"as_of": day, **comparison_row(readout, c)} for c in readout["comparisons"]]
    mine = {r["treatment_arm"] for r in current}
    kept = [h for h in history if not (str(h["as_of"])[:10] == day and h["treatment_arm"] in mine)]
    return [*kept, *current]


def _units(frame: pd.DataFrame) -> Figure:
    """Cumulative units per arm by assignment day."""
    if not len(frame):
        return plots.units_per_arm([], {})
    days = pd.to_datetime(frame["assigned_at"]).dt.floor("D")
    counts = frame.assign(day=days).groupby(["day", "arm"]).size().unstack("arm", fill_value=0).sort_index().cumsum()
    labels = [d.date().isoformat() for d in counts.index]
    return plots.units_per_arm(labels, {str(arm): counts[arm].astype(int).tolist() for arm in counts.columns})


def write_html(path: Path, readout: dict[str, Any], frame: pd.DataFrame, history: list[dict[str, Any]]) -> Path:
    """Render the readout with its plots to `path` (UTF-8); returns the path."""
    rows = readout_rows(readout, history)
    figures = {
        "arms": plots.arm_intervals(readout["arms"], kpi=readout["kpi"], alpha=readout["alpha_per_comparison"]),
        "kpi": plots.kpi_over_time(rows, kpi=readout["kpi"]),
        "lift": plots.lift_over_time(rows),
        "units": _units(frame),
    }
    html = render_template(
        "experiment.html.j2",
        title=f"Experiment {readout['experiment']}: readout as of {readout['as_of'][:10]}",
        r=readout,
        figures=figures,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
