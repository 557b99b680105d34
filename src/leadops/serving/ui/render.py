"""Rendering for the dashboard: one Jinja2 environment, number/date filters, and plotly figures as page data.

A figure (built by `leadops.plots`, the same builders the offline reports use) is placed as JSON in a
`<script type="application/json">` block that `/ui/static/draw.js` draws with the plotly.js of the installed
plotly package: no inline script, no CDN, so the pages work offline under a strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from leadops.plots import Figure, figure_json, finite
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


def number(value: Any, digits: int = 0) -> str:
    """`12,345` / `0.812`: thousands separated; an em dash for missing."""
    x = finite(value)
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    """A share as `12.3 %`; an em dash for missing."""
    x = finite(value)
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
    seconds = value.total_seconds() if isinstance(value, timedelta) else finite(value)
    if seconds is None:
        return "—"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The dashboard's Jinja2 environment (autoescaped; built once per process, on first use)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(number=number, percent=percent, when=when, span=span, page_json=figure_json)
    return env


def render(
    request: Request, template: str, session: Session | None, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page of the dashboard: the template with the nav, the user and their CSRF token, under the CSP."""
    drawn: dict[str, Figure] = context.pop("figures", {})
    figures = {name: fig.spec() for name, fig in drawn.items()}
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
