"""The nightly scoring job: score -> route -> publish, its run ledger, exports, engines and schedule."""

from __future__ import annotations

from typing import Any

__all__ = ["ScoreRunResult", "score_job"]


def __getattr__(name: str) -> Any:
    """Import the job on first use, so reading its config section (jobs.specs) stays cheap."""
    if name in __all__:
        from leadops.jobs import run

        return getattr(run, name)
    raise AttributeError(f"module 'leadops.jobs' has no attribute {name!r}")
