"""Figures of a model's evaluation: ROC, cumulative gains, lift by decile, reliability, score distribution and
AUC by group with its interval. Each takes the pieces of `EvaluationReport` (plain JSON), keyed by model name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from leadops.plots.figure import Figure, axis, clean, curves, errors, guide

Piece = Mapping[str, Any]


def roc(rocs: Mapping[str, Piece], *, title: str = "ROC") -> Figure:
    """ROC curves (`report.roc`: fpr, tpr) of one or more models, with the random ranking's diagonal."""
    series = {name: (r["fpr"], r["tpr"]) for name, r in rocs.items()}
    return curves(
        series,
        title=title,
        x_title="false positive rate",
        y_title="true positive rate",
        unit_square=True,
        diagonal=True,
    )


def gains(
    gains_curves: Mapping[str, Piece], *, title: str = "Cumulative gains", capacity_share: float | None = None
) -> Figure:
    """Cumulative gains (`report.gains_curve`: share_leads, share_conversions); a dotted line at Sales capacity."""
    series = {name: (g["share_leads"], g["share_conversions"]) for name, g in gains_curves.items()}
    fig = curves(
        series,
        title=title,
        x_title="share of leads contacted (by score)",
        y_title="share of conversions captured",
        unit_square=True,
        diagonal=True,
    )
    if capacity_share is not None and 0 < capacity_share < 1:
        fig.layout["shapes"].append(guide(capacity_share, 0, capacity_share, 1))
        fig.layout["annotations"] = [
            {"x": capacity_share, "y": 0.04, "text": "Sales capacity", "showarrow": False, "xanchor": "left"}
        ]
    return fig


def lift_by_decile(table: Sequence[Piece], *, title: str = "Lift by decile") -> Figure:
    """Lift and cumulative lift per decile (`report.gains` rows: decile, lift, cum_lift), 1 = the best tenth."""
    deciles = [g["decile"] for g in table]
    traces = [
        {"type": "bar", "name": "lift", "x": deciles, "y": clean([g["lift"] for g in table])},
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "cumulative lift",
            "x": deciles,
            "y": clean([g["cum_lift"] for g in table]),
        },
    ]
    layout = {
        "title": {"text": title},
        "xaxis": axis("decile (1 = highest scores)", dtick=1),
        "yaxis": axis("lift over the base rate"),
        "shapes": [guide(0, 1, 1, 1, xref="paper")],
    }
    return Figure(traces, layout, height=360)


def calibration(reliability: Mapping[str, Sequence[Piece] | None], *, title: str = "Reliability") -> Figure | None:
    """Observed conversion rate (with its 95 % interval) against the mean predicted probability, per bin
    (`report.reliability` rows); None when no model gives probabilities."""
    traces = []
    for name, bins in reliability.items():
        if not bins:
            continue
        observed = [b["observed_rate"] for b in bins]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": clean([b["mean_predicted"] for b in bins]),
                "y": clean(observed),
                "error_y": errors(observed, [b["ci_low"] for b in bins], [b["ci_high"] for b in bins]),
                "text": [f"{b['n']} leads" for b in bins],
            }
        )
    if not traces:
        return None
    layout = {
        "title": {"text": title},
        "xaxis": axis("mean predicted probability", range=[0, 1]),
        "yaxis": axis("observed conversion rate", range=[0, 1]),
        "shapes": [guide(0, 0, 1, 1)],
    }
    return Figure(traces, layout, height=360)


def score_distribution(distribution: Piece, *, title: str = "Score distribution by outcome") -> Figure:
    """Share of converted and of non-converted leads per score bin (`report.score_distribution`)."""
    edges = [float(e) for e in distribution["edges"]]
    centers = [(a + b) / 2 for a, b in pairwise(edges)]
    widths = [b - a for a, b in pairwise(edges)]
    traces = []
    for name, key in (("converted", "positives"), ("not converted", "negatives")):
        counts = [float(v) for v in distribution[key]]
        total = sum(counts) or 1.0
        traces.append(
            {
                "type": "bar",
                "name": name,
                "x": centers,
                "y": [v / total for v in counts],
                "width": widths,
                "opacity": 0.7,
            }
        )
    layout = {
        "title": {"text": title},
        "barmode": "overlay",
        "bargap": 0,
        "xaxis": axis("score"),
        "yaxis": axis("share of leads", tickformat=".0%"),
    }
    return Figure(traces, layout, height=360)


def group_auc(column: str, per_model: Mapping[str, Mapping[str, Piece]]) -> Figure:
    """AUC with its 95 % interval for each value of one group column (`report.groups[column]`), per model;
    small groups are labelled so (their interval is wide and gates skip them)."""
    values: list[str] = []
    for per in per_model.values():
        values.extend(v for v in per if v not in values)
    labels = [f"{v} (small)" if any(per.get(v, {}).get("small") for per in per_model.values()) else v for v in values]
    traces = []
    for name, per in per_model.items():
        aucs = [per[v]["auc"] if v in per else None for v in values]
        low = [per[v]["auc_ci"][0] if v in per else None for v in values]
        high = [per[v]["auc_ci"][1] if v in per else None for v in values]
        ci = errors(aucs, low, high)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "orientation": "h",  # with scattermode "group": each model a little apart on its row
                "name": name,
                "x": clean(aucs),
                "y": labels,
                "error_x": ci,
                "text": [f"{per[v]['n']} leads, {per[v]['positives']} conversions" if v in per else "" for v in values],
            }
        )
    layout = {
        "title": {"text": f"AUC by {column} (95 % interval)"},
        "scattermode": "group",
        "scattergap": 0.5,
        "xaxis": axis("AUC", range=[-0.03, 1.03]),
        "yaxis": {
            "automargin": True,
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "range": [len(labels) - 0.5, -0.5],
        },  # every value shown, first on top, even one with no AUC
        "shapes": [guide(0.5, 0, 0.5, 1, yref="paper")],
        "margin": {"l": 160, "r": 16, "t": 40, "b": 60},
        "legend": {"orientation": "h", "y": -0.25, "x": 0},
    }
    return Figure(traces, layout, height=max(240, 110 + 30 * len(values)))
