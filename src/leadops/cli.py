"""The `leadops` command: parse, call one domain function, render (rich tables, or one JSON object with --json)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadops.errors import LeadOpsError

app = typer.Typer(
    help="leadops: operationalized lead scoring. Ranked, explained, graded leads in your database every morning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the workspace's settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")

err = Console(stderr=True)
out = Console()

Workspace = Annotated[
    Path, typer.Option("--workspace", "-w", help="workspace folder (holds leadops.yaml)", envvar="LEADOPS_WORKSPACE")
]
AsJson = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout (logs go to stderr)")]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def emit(result: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Print a command's result: JSON for machines, a table (or custom rendering) for people."""
    if as_json:
        sys.stdout.write(json.dumps(result, default=_default) + "\n")
        return
    if render is not None:
        render(result)
        return
    table = Table(show_header=False, box=None)
    for key, value in result.items():
        shown = json.dumps(value, default=_default) if isinstance(value, dict | list) else str(value)
        table.add_row(f"[bold]{key}[/]", shown)
    out.print(table)


@contextmanager
def failures() -> Iterator[None]:
    """Turn expected failures into one line on stderr and the error's exit code."""
    try:
        yield
    except LeadOpsError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]")
        raise typer.Exit(130) from None


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar on stderr; `update(label, fraction)` moves it. Silent with --json or no terminal."""
    if not enabled or not err.is_terminal:
        yield lambda label, fraction: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("starting", total=1.0)

        def update(label: str, fraction: float) -> None:
            bar.update(task, description=label, completed=min(max(fraction, 0.0), 1.0))

        yield update


def _settings(workspace: Path) -> Any:
    from leadops import config

    return config.load(workspace)


def _warehouse(settings: Any) -> Any:
    from leadops.warehouse import open_warehouse

    return open_warehouse(settings.warehouse.url, settings.workspace)


# --------------------------------------------------------------------------------------------- commands
@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="folder to create the workspace in")],
    force: Annotated[bool, typer.Option(help="overwrite an existing leadops.yaml")] = False,
    as_json: AsJson = False,
) -> None:
    """Create a workspace: a commented leadops.yaml mapped onto the fictional company's export."""
    from leadops.workspace import init_workspace

    with failures():
        result = init_workspace(directory, force=force)
        emit(result, as_json)


@config_app.command("show")
def config_show(workspace: Workspace = Path("."), as_json: AsJson = False) -> None:
    """Print the effective settings (file + LEADOPS_* overrides, passwords redacted)."""
    from leadops import config

    with failures():
        data = config.effective(_settings(workspace))
        if as_json:
            emit(data, True)
        else:
            import yaml

            out.print(yaml.safe_dump(data, sort_keys=False), highlight=False)


@app.command()
def simulate(
    workspace: Workspace = Path("."),
    scenario: Annotated[str | None, typer.Option(help="baseline | drift | faults | tutorial")] = None,
    leads: Annotated[int | None, typer.Option(help="number of leads to generate")] = None,
    days: Annotated[int | None, typer.Option(help="days of history")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (same seed, same files)")] = None,
    fault_rate: Annotated[float | None, typer.Option(help="faults scenario: share of rows broken")] = None,
    as_json: AsJson = False,
) -> None:
    """Write the fictional company's CRM export into the workspace's source/ folder (ground truth apart)."""
    from leadops.simulate import simulate as run_simulation

    with failures():
        settings = _settings(workspace)
        defaults = settings.simulate
        with progress_bar(not as_json) as update:
            summary = run_simulation(
                settings.workspace,
                scenario=scenario or defaults.scenario,
                leads=leads or defaults.leads,
                days=days or defaults.days,
                seed=defaults.seed if seed is None else seed,
                fault_rate=defaults.fault_rate if fault_rate is None else fault_rate,
                progress=update,
            )
        emit(summary.to_dict(), as_json)


@app.command()
def ingest(
    workspace: Workspace = Path("."),
    source: Annotated[list[str] | None, typer.Option(help="only these sources (by name); repeatable")] = None,
    as_json: AsJson = False,
) -> None:
    """Load the CRM export onto the canonical tables; rows breaking a contract go to quarantine."""
    from leadops.crm import ingest as run_ingest

    with failures():
        settings = _settings(workspace)
        warehouse = _warehouse(settings)
        try:
            with progress_bar(not as_json) as update:
                report = run_ingest(settings, warehouse, sources=source, progress=lambda s, n: update(s, 0.5))
        finally:
            warehouse.close()
        emit(report.to_dict(), as_json)


def main() -> None:
    """Console-script entry point."""
    started = time.perf_counter()
    try:
        app()
    finally:
        if "--timing" in sys.argv:
            err.print(f"{time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
