"""What every command module of the CLI shares: consoles, option types, one-line failures, the workspace's warehouse.

Its own module so that command groups in other modules (cli_experiment, cli_closed_loop) import it without
importing cli.py, which imports them: no import cycle, whichever module a process loads first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from leadops.errors import LeadOpsError

err = Console(stderr=True)
out = Console()
_DEBUG = {"on": False}


Workspace = Annotated[
    Path,
    typer.Option("--workspace", "-w", help="workspace folder (holds leadops.yaml)", envvar="LEADOPS_WORKSPACE"),
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
    from leadops.redaction import redact_data

    result = redact_data(result)  # credentials never reach the screen, whichever command printed them
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


def _fail(message: str, code: int, as_json: bool) -> NoReturn:
    """One failure, one line: the JSON object on stdout with --json, else `error: ...` on stderr."""
    from leadops.redaction import redact_text

    message = redact_text(message)
    if as_json:
        sys.stdout.write(json.dumps({"ok": False, "error": message, "exit_code": code}) + "\n")
    else:
        from rich.markup import escape

        err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _log_internal(exc: BaseException) -> Path | None:
    """Write an unexpected failure's traceback to the error log; None when the log cannot be written."""
    import tempfile
    import traceback

    from leadops.redaction import redact_text

    path = Path(tempfile.gettempdir()) / "leadops-error.log"
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(redact_text(f"--- {datetime.now().isoformat(timespec='seconds')} {' '.join(sys.argv)}\n"))
            fh.write(redact_text("".join(traceback.format_exception(exc))))  # the log is shown too: no secrets
    except OSError:
        return None
    return path


@contextmanager
def failures(as_json: bool = False) -> Iterator[None]:
    """Turn every failure into one line (a JSON object with --json) and its exit code; never a traceback."""
    from leadops.errors import INTERNAL_EXIT, INTERRUPTED_EXIT

    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise  # click's own exits and usage errors keep their codes
    except LeadOpsError as exc:
        _fail(str(exc), exc.exit_code, as_json)
    except KeyboardInterrupt:
        _fail("interrupted", INTERRUPTED_EXIT, as_json)
    except Exception as exc:
        if _DEBUG["on"]:
            raise
        log = _log_internal(exc)
        where = f"traceback in {log}" if log else "run with --debug for the traceback"
        text = f"internal error: {type(exc).__name__}: {exc}".replace("\n", " ")
        _fail(f"{text[:500]} ({where}; run `leadops --debug ...` to see it here)", INTERNAL_EXIT, as_json)


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


@contextmanager
def _workspace_warehouse(workspace: Path, wait: float = 0.0) -> Iterator[tuple[Any, Any]]:
    """The workspace's settings and an open warehouse, closed however the command ends; `wait` seconds of retries
    while another process holds DuckDB's file briefly (the online intake writes a lead in milliseconds)."""
    import time

    from leadops.errors import WarehouseLockedError
    from leadops.warehouse import open_warehouse

    settings = _settings(workspace)
    deadline = time.monotonic() + wait
    while True:
        try:
            warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
            break
        except WarehouseLockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
    try:
        yield settings, warehouse
    finally:
        warehouse.close()


def _parse_time(value: str | None, option: str = "--as-of") -> datetime | None:
    if value is None:
        return None
    from leadops.errors import ConfigError

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{option}: expected an ISO date or timestamp such as 2025-06-30, got {value!r}") from exc
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
