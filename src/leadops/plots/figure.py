"""A plotly figure as plain data (traces and a layout) and the few chart shapes every builder composes.

Nothing here imports plotly: a figure is the JSON plotly.js draws, so the dashboard and the offline reports
hand the same dict to the same `Plotly.newPlot` (see draw.js), and tests read the numbers straight back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777")
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
GUIDE = {"color": "#9ca3af", "dash": "dot", "width": 1.5}
"""The look of a reference line (random ranking, perfect calibration, zero lift)."""


def finite(value: Any) -> float | None:
    """A number plotly can draw, or None (a gap) for missing, NaN or infinite values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def clean(values: Sequence[Any]) -> list[Any]:
    """Numbers made JSON-safe (NaN -> None); labels and dates kept as they are."""
    return [finite(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in values]


@dataclass
class Figure:
    """A plotly figure as data: traces and a layout (merged over the house defaults by `spec`)."""

    data: list[dict[str, Any]]
    layout: dict[str, Any] = field(default_factory=dict)
    height: int = 320

    def spec(self) -> dict[str, Any]:
        """What draw.js hands to Plotly.newPlot: readable fonts, light grid, no plotly logo."""
        layout = {
            "margin": {"l": 56, "r": 16, "t": 40, "b": 80},
            "font": {"family": FONT, "size": 13},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "colorway": list(PALETTE),
            "legend": {"orientation": "h", "y": -0.3, "x": 0},
            "height": self.height,
            **self.layout,
        }
        for axis in ("xaxis", "yaxis"):
            layout[axis] = {
                "gridcolor": "#e5e7eb",
                "zerolinecolor": "#d1d5db",
                "automargin": True,
                **layout.get(axis, {}),
            }
        return {"data": self.data, "layout": layout, "config": {"displaylogo": False, "responsive": True}}


def figure_json(value: Any) -> str:
    """JSON safe inside a `<script type="application/json">` block (no `</script>` can close it), NaN as null."""
    text = json.dumps(value, default=_plain, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def axis(title: str = "", **extra: Any) -> dict[str, Any]:
    """An axis with a title (plotly's nested title form)."""
    return {"title": {"text": title}, **extra}


def errors(values: Sequence[Any], low: Sequence[Any], high: Sequence[Any]) -> dict[str, Any]:
    """Asymmetric error bars from an interval's bounds (nothing drawn where a bound is missing)."""
    above = [
        None if (v := finite(x)) is None or (h := finite(b)) is None else h - v
        for x, b in zip(values, high, strict=True)
    ]
    below = [
        None if (v := finite(x)) is None or (lo := finite(b)) is None else v - lo
        for x, b in zip(values, low, strict=True)
    ]
    return {"type": "data", "symmetric": False, "array": above, "arrayminus": below, "thickness": 1.2, "width": 4}


def guide(x0: float, y0: float, x1: float, y1: float, *, xref: str = "x", yref: str = "y") -> dict[str, Any]:
    """A dotted reference line as a layout shape (not a trace: it stays out of the legend and the data)."""
    return {"type": "line", "xref": xref, "yref": yref, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "line": GUIDE}


def line(
    x: Sequence[Any],
    series: Mapping[str, Sequence[Any]],
    *,
    title: str,
    x_title: str = "",
    y_title: str = "",
    y_range: list[float] | None = None,
    markers: bool = True,
) -> Figure:
    """One line per named series over shared x values (score over runs, drift over time, KPI over days)."""
    mode = "lines+markers" if markers else "lines"
    traces = [{"type": "scatter", "mode": mode, "name": n, "x": list(x), "y": clean(ys)} for n, ys in series.items()]
    yaxis = axis(y_title) if y_range is None else axis(y_title, range=y_range)
    return Figure(traces, {"title": {"text": title}, "xaxis": axis(x_title), "yaxis": yaxis})


def curves(
    series: Mapping[str, tuple[Sequence[Any], Sequence[Any]]],
    *,
    title: str,
    x_title: str,
    y_title: str,
    unit_square: bool = False,
    diagonal: bool = False,
    markers: bool = False,
) -> Figure:
    """One line per named series, each with its own x values (ROC, gains, reliability); `diagonal` draws y = x."""
    mode = "lines+markers" if markers else "lines"
    traces = [
        {"type": "scatter", "mode": mode, "name": n, "x": clean(xs), "y": clean(ys)} for n, (xs, ys) in series.items()
    ]
    frame = {"range": [0, 1]} if unit_square else {}
    layout: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": axis(x_title, **frame),
        "yaxis": axis(y_title, **frame),
    }
    if diagonal:
        layout["shapes"] = [guide(0, 0, 1, 1)]
    return Figure(traces, layout, height=360)


def bars(
    categories: Sequence[Any],
    series: Mapping[str, Sequence[Any]],
    *,
    title: str,
    y_title: str = "",
    stacked: bool = False,
    horizontal: bool = False,
) -> Figure:
    """Grouped (or stacked) bars per named series (grade mix by segment, quarantine by reason)."""
    traces = []
    for name, ys in series.items():
        trace: dict[str, Any] = {"type": "bar", "name": name}
        cats = list(categories)
        trace.update({"y": cats, "x": clean(ys), "orientation": "h"} if horizontal else {"x": cats, "y": clean(ys)})
        traces.append(trace)
    layout: dict[str, Any] = {"title": {"text": title}, "barmode": "stack" if stacked else "group"}
    layout["xaxis" if horizontal else "yaxis"] = axis(y_title)
    if horizontal:
        layout["yaxis"] = {"automargin": True, "autorange": "reversed"}
        layout["margin"] = {"l": 160, "r": 16, "t": 40, "b": 48}
    return Figure(traces, layout, height=max(260, 80 + 26 * len(categories)) if horizontal else 320)


def heatmap(
    x: Sequence[Any],
    y: Sequence[Any],
    z: Sequence[Sequence[Any]],
    *,
    title: str,
    z_title: str = "",
    z_max: float | None = None,
) -> Figure:
    """A grid of values (drift statistic per feature per run), pale for small and red for large, missing blank;
    `z_max` pins the top of the scale (so a small PSI is not painted as alarming)."""
    trace: dict[str, Any] = {
        "type": "heatmap",
        "x": list(x),
        "y": list(y),
        "z": [clean(r) for r in z],
        "colorscale": "YlOrRd",
        "reversescale": True,  # plotly's YlOrRd runs red -> yellow; drift should read pale -> red
        "zmin": 0,
        "colorbar": {"title": {"text": z_title}},
        "hoverongaps": False,
    }
    if z_max is not None:
        trace["zmax"] = z_max
    layout = {
        "title": {"text": title},
        "xaxis": {"type": "category"},
        "yaxis": {"automargin": True, "autorange": "reversed"},
        "margin": {"l": 170, "r": 16, "t": 40, "b": 60},
    }
    return Figure([trace], layout, height=max(280, 100 + 22 * len(y)))
