"""What makes a report file draw its figures on its own: plotly.js inlined from the installed plotly package,
draw.js, and each figure's JSON, so the file opens from disk (file://) with no network and no file beside it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from leadops.plots.figure import Figure, figure_json

DRAW_JS = Path(__file__).with_name("draw.js")


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The installed plotly package's plotly.min.js (read once per process; the dashboard serves the same)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


@lru_cache(maxsize=1)
def draw_js() -> str:
    """The script that turns each figure's JSON into a plot (the dashboard serves it as /ui/static/draw.js)."""
    return DRAW_JS.read_text(encoding="utf-8")


def figure_blocks(figures: Mapping[str, Figure]) -> str:
    """Each figure's spec as a `<script type="application/json" id="fig-NAME">` block."""
    return "\n".join(
        f'<script type="application/json" id="fig-{name}">{figure_json(fig.spec())}</script>'
        for name, fig in figures.items()
    )


def offline_scripts(figures: Mapping[str, Figure]) -> str:
    """The figures' JSON, then plotly.js and draw.js inline (nothing when there is no figure to draw)."""
    return with_figures(MARK, figures)


MARK = "<!-- leadops: figures -->"
"""Where a report template wants its figures and scripts (just before `</body>`)."""


def with_figures(html: str, figures: Mapping[str, Figure]) -> str:
    """The page with MARK replaced by its figures and scripts: one join, so plotly.js's 4.8 MB are copied once
    (passing them through Jinja's Markup and an f-string tripled a report's render time)."""
    before, _, after = html.partition(MARK)  # no MARK: the scripts go at the very end, where they still run
    if not figures:
        return before + after
    parts = [before, figure_blocks(figures), "\n<script>", plotly_js(), "</script>\n<script>", draw_js(), "</script>"]
    return "".join([*parts, after])


_FIGURE = re.compile(r'<script type="application/json" id="fig-([\w-]+)">(\{.*?)</script>', re.S)
_URL = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'<>)]*""", re.I)
_FETCHING = re.compile(r"""<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=""", re.I)


def read_figures(html: str) -> dict[str, dict[str, Any]]:
    """The figures a page or report carries, by name, as plotly specs (what a test or a script reads back)."""
    return {name: json.loads(body) for name, body in _FIGURE.findall(html)}


def network_references(html: str) -> list[str]:
    """What in a report could reach the network: URLs and src/href attributes outside the inlined plotly.js (whose
    source names map-tile servers its map traces would use; leadops draws none)."""
    rest = html.replace(plotly_js(), "")
    return [*_URL.findall(rest), *_FETCHING.findall(rest)]
