"""Named points in the job where a crash is survivable; a test hook can kill the process at the Nth one.

`LEADOPS_JOBS_KILL_AT=N` SIGKILLs the process at the Nth checkpoint (1-based): the restart tests use it to
prove a rerun publishes exactly what an uninterrupted run publishes. `set_hook` lets a test observe them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

KILL_ENV = "LEADOPS_JOBS_KILL_AT"
TRACE_ENV = "LEADOPS_JOBS_TRACE"

_count = 0
_hook: Callable[[str], None] | None = None


def set_hook(hook: Callable[[str], None] | None) -> None:
    """Call `hook(name)` at every checkpoint (tests: readers check the views mid-run)."""
    global _hook
    _hook = hook


def reset() -> None:
    """Start counting checkpoints from zero (one job run = one count)."""
    global _count
    _count = 0


def checkpoint(name: str) -> None:
    """Mark a crash-safe point: count it, trace it, call the hook, maybe SIGKILL ourselves (test hook)."""
    global _count
    _count += 1
    trace = os.environ.get(TRACE_ENV)
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"{_count} {name}\n")
    if _hook is not None:
        _hook(name)
    kill_at = os.environ.get(KILL_ENV)
    if kill_at and int(kill_at) == _count:
        os.kill(os.getpid(), signal.SIGKILL)
