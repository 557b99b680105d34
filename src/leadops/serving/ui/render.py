"""Rendering for the dashboard: one Jinja2 environment, number/date filters, and plotly figures as page data.

A figure is plain JSON (plotly's `data` and `layout`) placed in a `<script type="application/json">` block that
`/ui/static/ui.js` draws with the plotly.js of the installed plotly package: no inline script, no CDN, so the
pages work offline under a strict Content-Security-Policy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from leadops.serving.ui.session import Session

TEMPLATES = Path(__file__).with_name("templates")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
)
NAV = (
    ("sales", "Sales"),
    ("marketing", "Marketing"),
    ("models", "Models"),
    ("operations", "Operations"),
    ("experiments", "Experiments"),
)
PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777")


def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def number(value: Any, digits: int = 0) -> str:
    """`12,345` / `0.812`: thousands separated; an em dash for missing."""
    x = _finite(value)
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    """A share as `12.3 %`; an em dash for missing."""
    x = _finite(value)
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def when(value: Any) -> str:
    """A timestamp as `2026-03-04 09:15` (UTC); a date as itself; an em dash for missing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:16].replace("T", " ")


def span(value: Any) -> str:
    """A duration in words: `3 d`, `5 h`, `42 s`; an em dash for missing."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else _finite(value)
    if seconds is None:
        return "—"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s"


def page_json(value: Any) -> str:
    """JSON safe to place inside a `<script type="application/json">` block (no `</script>` can close it)."""
    text = json.dumps(value, default=_plain, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


@dataclass
class Figure:
    """A plotly figure as data: traces and a layout, drawn by ui.js."""

    data: list[dict[str, Any]]
    layout: dict[str, Any] = field(default_factory=dict)
    height: int = 320

    def spec(self) -> dict[str, Any]:
        """What ui.js hands to Plotly.newPlot (layout defaults merged: readable fonts, no plotly logo)."""
        layout = {
            "margin": {"l": 56, "r": 16, "t": 36, "b": 80},
            "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "colorway": list(PALETTE),
            "legend": {"orientation": "h", "y": -0.32, "x": 0},
            "height": self.height,
            **self.layout,
        }
        for axis in ("xaxis", "yaxis"):
            layout[axis] = {"gridcolor": "#e5e7eb", "zerolinecolor": "#d1d5db", **layout.get(axis, {})}
        return {"data": self.data, "layout": layout, "config": {"displaylogo": False, "responsive": True}}


def _clean(values: Any) -> list[Any]:
    return [_finite(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in values]


def line(
    x: list[Any],
    series: dict[str, list[Any]],
    *,
    title: str,
    x_title: str = "",
    y_title: str = "",
    y_range: list[float] | None = None,
    markers: bool = True,
) -> Figure:
    """One line per named series over shared x values (score over runs, drift over time, KPI over days)."""
    mode = "lines+markers" if markers else "lines"
    traces = [{"type": "scatter", "mode": mode, "name": name, "x": x, "y": _clean(ys)} for name, ys in series.items()]
    yaxis: dict[str, Any] = {"title": {"text": y_title}}
    if y_range is not None:
        yaxis["range"] = y_range
    layout = {"title": {"text": title}, "xaxis": {"title": {"text": x_title}}, "yaxis": yaxis}
    return Figure(traces, layout)


def bars(
    categories: list[Any],
    series: dict[str, list[Any]],
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
        trace.update(
            {"y": categories, "x": _clean(ys), "orientation": "h"} if horizontal else {"x": categories, "y": _clean(ys)}
        )
        traces.append(trace)
    layout: dict[str, Any] = {"title": {"text": title}, "barmode": "stack" if stacked else "group"}
    layout["xaxis" if horizontal else "yaxis"] = {"title": {"text": y_title}}
    if horizontal:
        layout["yaxis"] = {"automargin": True}
        layout["margin"] = {"l": 160, "r": 16, "t": 36, "b": 48}
    return Figure(traces, layout, height=max(260, 40 + 26 * len(categories)) if horizontal else 320)


def heatmap(
    x: list[Any], y: list[Any], z: list[list[Any]], *, title: str, z_title: str = "", z_max: float | None = None
) -> Figure:
    """A grid of values (drift statistic per feature per run), pale for small and red for large, missing blank;
    `z_max` pins the top of the scale (so a small PSI is not painted as alarming)."""
    trace = {
        "type": "heatmap",
        "x": x,
        "y": y,
        "z": [_clean(r) for r in z],
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
        "yaxis": {"automargin": True},
        "margin": {"l": 170, "r": 16, "t": 36, "b": 60},
    }
    return Figure([trace], layout, height=max(280, 80 + 22 * len(y)))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The dashboard's Jinja2 environment (autoescaped; built once per process, on first use)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, percent=percent, when=when, span=span, page_json=page_json)
    return env


def render(
    request: Request, template: str, session: Session | None, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page of the dashboard: the template with the nav, the user and their CSRF token, under the CSP."""
    figures = {name: fig.spec() for name, fig in context.pop("figures", {}).items()}
    base: dict[str, Any] = {"notice": None, "problem": None, "active": ""}
    if getattr(request.state, "ui_from_copy", False):
        base["notice"] = "The nightly job is writing the warehouse: this page shows the last published run's copy."
    html = (
        environment()
        .get_template(template)
        .render(request=request, session=session, nav=NAV, figures=figures, **{**base, **context})
    )
    return HTMLResponse(html, status_code=status, headers=security_headers())


def security_headers() -> dict[str, str]:
    """The headers every dashboard page carries: the CSP, no framing elsewhere, no sniffing, no caching."""
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
