"""`leadops experiment ...`: list the experiments, plan a sample size, report a readout (one module of its own)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from leadops.cli import AsJson, Workspace, _workspace_warehouse, emit, failures, out

experiment_app: typer.Typer = typer.Typer(
    help="A/B experiments of scoring models and routing policies: list, plan, report.", no_args_is_help=True
)


@experiment_app.command("list")
def experiment_list(workspace: Workspace = Path("."), as_json: AsJson = False) -> None:
    """Every experiment declared in leadops.yaml or started by retraining, with its phase and units per arm."""
    from leadops.experiments import store
    from leadops.warehouse.connection import utcnow

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        store.sync(warehouse, settings.experiments)  # idempotent: declared experiments appear before any night
        now = utcnow()
        rows = [
            r.to_dict(now) | {"units": store.assignment_counts(warehouse, r.name)}
            for r in store.list_experiments(warehouse)
        ]
    if as_json:
        emit({"experiments": rows}, True)
        return
    table = Table(title="experiments")
    for column in ("name", "phase", "origin", "unit", "kpi", "arms", "units"):
        table.add_column(column)
    for row in rows:
        arms = ", ".join(f"{a['name']} ({a['weight']:g})" for a in row["arms"])
        units = ", ".join(f"{k}: {v}" for k, v in row["units"].items())
        table.add_row(row["name"], row["phase"], row["origin"], row["unit"], row["kpi"], arms, units)
    out.print(table)
