"""Figures about leads and model versions: one lead's score history, the nurture list's grade mix, champion vs
challenger on their headline metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadops.plots.figure import Figure, bars, line

VERSUS = ("auc", "pr_auc", "captured_at_capacity", "ece", "brier")
"""The headline metrics drawn side by side (all on a 0-1 scale)."""


def score_history(as_of: Sequence[Any], scores: Sequence[Any]) -> Figure:
    """One lead's score at each nightly run."""
    return line(
        as_of,
        {"score": scores},
        title="Score at each nightly run",
        x_title="run (as of)",
        y_title="score (0-100)",
        y_range=[0, 105],
    )


def grade_mix(segment: str, mix: Sequence[Mapping[str, Any]], grades: Sequence[str]) -> Figure:
    """Leads per segment value, stacked by grade (`mix` rows: segment, counts per grade)."""
    cats = [m["segment"] for m in mix]
    series = {f"grade {g}": [m["counts"].get(g, 0) for m in mix] for g in grades}
    return bars(
        cats, series, title=f"Nurture list by {segment.replace('_', ' ')} and grade", y_title="leads", stacked=True
    )


def versus(compared: Mapping[str, Mapping[str, float]]) -> Figure | None:
    """Champion vs challenger on the headline metrics both may have; None when none of them is known."""
    shown = [m for m in VERSUS if any(m in figures for figures in compared.values())]
    if not shown:
        return None
    return bars(
        [m.replace("_", " ") for m in shown],
        {name: [f.get(m) for m in shown] for name, f in compared.items()},
        title="Champion vs challenger on the test leads",
        y_title="value",
    )
