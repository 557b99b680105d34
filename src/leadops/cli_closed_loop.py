"""`leadops simulate --closed-loop`: the command's rendering (the loop itself is leadops.closed_loop)."""

from __future__ import annotations

from pathlib import Path

from leadops.cli_common import _workspace_warehouse, emit, failures, progress_bar

DEFAULT_DAYS = 90


def closed_loop_command(
    workspace: Path, *, days: int | None, leads_per_day: float | None, seed: int | None, as_json: bool
) -> None:
    """Run the closed loop in the workspace and print its result (one JSON object with --json)."""
    from leadops.closed_loop import run_closed_loop

    with (
        failures(as_json),
        _workspace_warehouse(workspace) as (settings, warehouse),
        progress_bar(not as_json) as update,
    ):
        result = run_closed_loop(
            settings, warehouse, days=days or DEFAULT_DAYS, leads_per_day=leads_per_day, seed=seed, progress=update
        )
    emit(result.to_dict(), as_json)
