"""`leadops experiment ...`: list the experiments, plan a sample size, report a readout, stop one (one module of its
own)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leadops.cli_common import AsJson, Workspace, _workspace_warehouse, emit, failures, out

ExperimentName = Annotated[str, typer.Argument(help="the experiment's name (see `leadops experiment list`)")]

experiment_app: typer.Typer = typer.Typer(
    help="A/B experiments of scoring models and routing policies: list, plan, report, stop.", no_args_is_help=True
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


@experiment_app.command("plan")
def experiment_plan(
    baseline_rate: Annotated[float, typer.Option("--baseline-rate", help="the control's conversion rate, e.g. 0.1")],
    mde: Annotated[float, typer.Option("--mde", help="relative minimum detectable effect: 0.1 = +10 %")],
    alpha: Annotated[float, typer.Option("--alpha", help="two-sided significance level")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="chance to detect a true effect of exactly --mde")] = 0.8,
    as_json: AsJson = False,
) -> None:
    """Units per arm a two-proportion z test needs to detect a relative lift of --mde on --baseline-rate."""
    from leadops.experiments import stats

    with failures(as_json):
        n = stats.sample_size_proportions(baseline_rate, mde, alpha, power)
        achieved = float(stats.power_proportions(baseline_rate, mde, n, alpha))
    emit(
        {
            "n_per_arm": n,
            "n_total": 2 * n,
            "baseline_rate": baseline_rate,
            "treatment_rate": baseline_rate * (1 + mde),
            "mde": mde,
            "absolute_mde": baseline_rate * mde,
            "alpha": alpha,
            "power": power,
            "achieved_power": achieved,
            "test": "two-sided pooled two-proportion z test, equal allocation",
        },
        as_json,
    )


@experiment_app.command("report")
def experiment_report(
    name: ExperimentName,
    workspace: Workspace = Path("."),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="read the warehouse as it stood at this time (default now)")
    ] = None,
    html: Annotated[bool, typer.Option("--html/--no-html", help="write the HTML report to the reports folder")] = True,
    as_json: AsJson = False,
) -> None:
    """The readout: per arm KPI and interval, lift, sample ratio check, CUPED, sequential test, ship/keep/wait."""
    from leadops.cli_common import _parse_time
    from leadops.experiments.service import report_experiment

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        result = report_experiment(settings, warehouse, name, as_of=_parse_time(as_of), html=html)
    data = result.to_dict()
    if as_json:
        emit(data, True)
        return
    table = Table(title=f"experiment {name}: {data['kpi']} within {data['window_days']} days")
    for column in ("arm", "units", "mature", "KPI", "interval"):
        table.add_column(column)
    for arm in data["arms"]:
        interval = "" if arm["kpi_low"] is None else f"{arm['kpi_low']:.4g} .. {arm['kpi_high']:.4g}"
        kpi = "" if arm["kpi"] is None else f"{arm['kpi']:.4g}"
        table.add_row(arm["name"], str(arm["units"]), str(arm["mature_units"]), kpi, interval)
    out.print(table)
    lift = data["lift"]
    if lift["value"] is not None:
        out.print(f"lift {lift['value']:+.1%} [{lift['low']:+.1%}, {lift['high']:+.1%}]   srm p {data['srm_p']:.3g}")
    out.print(f"[bold]{data['recommendation']}[/]: {data['reason']}")
    if data["html"]:
        out.print(f"report: {data['html']}")


@experiment_app.command("stop")
def experiment_stop(
    name: ExperimentName,
    workspace: Workspace = Path("."),
    at: Annotated[
        str | None, typer.Option("--at", help="stop as of this time, not before its start (default now; ISO, UTC)")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="why, for the audit log and every readout")] = None,
    as_json: AsJson = False,
) -> None:
    """Stop taking units: from --at on every new lead gets the champion (nightly and online); assigned leads keep
    their arm and the readout counts the units assigned before the stop. Audited; the same stop twice is a no-op."""
    from leadops.cli_common import _parse_time
    from leadops.experiments.service import stop_experiment

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        data = stop_experiment(settings, warehouse, name, at=_parse_time(at, "--at"), reason=reason)
    if as_json:
        emit(data, True)
        return
    stopped = data["stopped"]
    done = "stopped" if data["changed"] else "already stopped (nothing changed)"
    units = ", ".join(f"{k}: {v}" for k, v in data["units"].items()) or "none"
    out.print(f"experiment {name} {done} at {stopped['at']} by {stopped['actor']}: {stopped['reason']}")
    out.print(
        f"units assigned: {units}"
        + (f" ({data['units_after_stop']} after the stop, not in readouts)" if data["units_after_stop"] else "")
    )
