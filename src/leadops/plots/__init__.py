"""Every figure leadops draws, as plotly figure data: the dashboard's pages and the offline HTML reports
(evaluation, comparison, monitoring, experiment) call the same builders and draw them with the same draw.js."""

from leadops.plots.figure import PALETTE, Figure, bars, clean, curves, figure_json, finite, heatmap, line
from leadops.plots.offline import (
    draw_js,
    figure_blocks,
    network_references,
    offline_scripts,
    plotly_js,
    read_figures,
    with_figures,
)

__all__ = [
    "PALETTE",
    "Figure",
    "bars",
    "clean",
    "curves",
    "draw_js",
    "figure_blocks",
    "figure_json",
    "finite",
    "heatmap",
    "line",
    "network_references",
    "offline_scripts",
    "plotly_js",
    "read_figures",
    "with_figures",
]
