"""Tiny inline-SVG charts (lines and paired bars) so reports open offline with no JavaScript or CDN."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
W, H = 420, 300
ML, MR, MT, MB = 52, 12, 14, 42


@dataclass(frozen=True)
class Series:
    """One line of a line chart."""

    name: str
    xs: Sequence[float | None]
    ys: Sequence[float | None]
    dashed: bool = False
    markers: bool = False


def _fmt(v: float) -> str:
    """Compact tick label."""
    return f"{v:.2g}" if abs(v) < 1000 else f"{v:,.0f}"


def _axes(
    x0: float, x1: float, y0: float, y1: float, x_label: str, y_label: str, ticks: int = 5
) -> tuple[list[str], Callable[[float], float], Callable[[float], float]]:
    """Frame, ticks and labels; returns (svg parts, x mapper, y mapper)."""
    pw, ph = W - ML - MR, H - MT - MB
    xs = x1 - x0 or 1.0
    ys = y1 - y0 or 1.0

    def fx(x: float) -> float:
        return ML + (x - x0) / xs * pw

    def fy(y: float) -> float:
        return MT + ph - (y - y0) / ys * ph

    parts = [f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="#fff" stroke="#999"/>']
    for i in range(ticks + 1):
        tx = x0 + xs * i / ticks
        ty = y0 + ys * i / ticks
        parts.append(
            f'<line x1="{fx(tx):.1f}" y1="{MT + ph}" x2="{fx(tx):.1f}" y2="{MT + ph + 4}" stroke="#999"/>'
            f'<text x="{fx(tx):.1f}" y="{MT + ph + 16}" font-size="10" text-anchor="middle">{_fmt(tx)}</text>'
            f'<line x1="{ML}" y1="{fy(ty):.1f}" x2="{ML + pw}" y2="{fy(ty):.1f}" stroke="#eee"/>'
            f'<text x="{ML - 5}" y="{fy(ty) + 3:.1f}" font-size="10" text-anchor="end">{_fmt(ty)}</text>'
        )
    parts.append(
        f'<text x="{ML + pw / 2}" y="{H - 6}" font-size="11" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{MT + ph / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {MT + ph / 2})">{escape(y_label)}</text>'
    )
    return parts, fx, fy


def _legend(names: Sequence[str]) -> str:
    """Legend in the upper left of the plot area."""
    out = []
    for i, name in enumerate(names):
        y = MT + 12 + 14 * i
        c = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{ML + 8}" y="{y - 8}" width="10" height="10" fill="{c}"/>'
            f'<text x="{ML + 22}" y="{y + 1}" font-size="10">{escape(name)}</text>'
        )
    return "".join(out)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> str:
    """An SVG line chart; `diagonal` draws y = x (random ROC, random gains, perfect calibration)."""
    allx = [float(x) for s in series for x in s.xs if x is not None]
    ally = [float(y) for s in series for y in s.ys if y is not None]
    x0, x1 = x_range or ((min(allx), max(allx)) if allx else (0.0, 1.0))
    y0, y1 = y_range or ((min(ally), max(ally)) if ally else (0.0, 1.0))
    parts, fx, fy = _axes(x0, x1, y0, y1, x_label, y_label)
    if diagonal:
        parts.append(
            f'<line x1="{fx(x0):.1f}" y1="{fy(y0):.1f}" x2="{fx(x1):.1f}" y2="{fy(y1):.1f}" '
            'stroke="#aaa" stroke-dasharray="4 3"/>'
        )
    for i, s in enumerate(series):
        c = PALETTE[i % len(PALETTE)]
        pts = [(fx(float(x)), fy(float(y))) for x, y in zip(s.xs, s.ys, strict=True) if x is not None and y is not None]
        if not pts:
            continue
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="1.8"{dash}/>')
        if s.markers:
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{c}"/>' for x, y in pts)
    parts.append(_legend([s.name for s in series]))
    return _wrap(parts, title)


def paired_bars(
    edges: Sequence[float],
    groups: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
) -> str:
    """Side-by-side bars per bin (e.g. share of converted vs non-converted leads per score bin)."""
    k = len(edges) - 1
    top = max((max(v) for _, v in groups if len(v)), default=1.0) or 1.0
    parts, fx, fy = _axes(float(edges[0]), float(edges[-1]), 0.0, float(top), x_label, y_label)
    m = len(groups)
    for b in range(k):
        left, right = fx(float(edges[b])), fx(float(edges[b + 1]))
        w = (right - left) / m
        for j, (_, vals) in enumerate(groups):
            y = fy(float(vals[b]))
            parts.append(
                f'<rect x="{left + j * w:.1f}" y="{y:.1f}" width="{max(w - 0.5, 0.5):.1f}" '
                f'height="{fy(0.0) - y:.1f}" fill="{PALETTE[j % len(PALETTE)]}" fill-opacity="0.8"/>'
            )
    parts.append(_legend([name for name, _ in groups]))
    return _wrap(parts, title)


def _wrap(parts: list[str], title: str) -> str:
    """Wrap chart parts in an <svg> with an accessible title."""
    return (
        f'<svg role="img" viewBox="0 0 {W} {H}" width="{W}" height="{H}">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
