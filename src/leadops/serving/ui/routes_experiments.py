"""The Experiments page: arms, allocation check, KPI over time, lift with intervals, the recommendation and why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadops.serving.deps import State
from leadops.serving.ui import render as r
from leadops.serving.ui.deps import ReadOnly, User
from leadops.serving.ui.experiments import SRM_ALPHA, cards, kpi_label
from leadops.warehouse.connection import utcnow

router = APIRouter(include_in_schema=False)


@router.get("/ui/experiments")
def experiments(request: Request, session: User, state: State, warehouse: ReadOnly) -> Response:
    """Each experiment: its arms and split, its KPI and lift at every readout, and what the last readout says."""
    found = cards(state.settings, warehouse, utcnow())
    figures = {}
    for i, card in enumerate(found):
        if not card.history:
            continue
        days = sorted({str(h["as_of"])[:10] for h in card.history})
        kpi: dict[str, list[object]] = {}
        lifts = []
        for arm in sorted({h["treatment_arm"] for h in card.history}):
            rows = {str(h["as_of"])[:10]: h for h in card.history if h["treatment_arm"] == arm}
            kpi[f"{arm}"] = [rows[d]["treatment_kpi"] if d in rows else None for d in days]
            control = [rows[d]["control_kpi"] if d in rows else None for d in days]
            kpi.setdefault(f"{card.spec.control_arm()} (control)", control)
            lift = [rows.get(d, {}).get("lift") for d in days]
            low = [rows.get(d, {}).get("lift_low") for d in days]
            high = [rows.get(d, {}).get("lift_high") for d in days]
            above = [None if h is None or v is None else h - v for v, h in zip(lift, high, strict=True)]
            below = [None if lo is None or v is None else v - lo for v, lo in zip(lift, low, strict=True)]
            error = {"type": "data", "symmetric": False, "array": above, "arrayminus": below}
            lifts.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{arm} lift",
                    "x": days,
                    "y": lift,
                    "error_y": error,
                }
            )
        figures[f"kpi{i}"] = r.line(days, kpi, title=f"{kpi_label(card.spec)}, by readout", x_title="as of")
        figures[f"lift{i}"] = r.Figure(
            lifts,
            {
                "title": {"text": "Relative lift with its interval"},
                "yaxis": {"tickformat": "+.0%"},
                "shapes": [
                    {
                        "type": "line",
                        "xref": "paper",
                        "x0": 0,
                        "x1": 1,
                        "y0": 0,
                        "y1": 0,
                        "line": {"color": "#9ca3af", "dash": "dot"},
                    }
                ],
            },
        )
    return r.render(
        request,
        "experiments.html.j2",
        session,
        active="experiments",
        experiments=found,
        srm_alpha=SRM_ALPHA,
        kpi_label=kpi_label,
        figures=figures,
    )
