"""The fictional company day by day with leadops in it: nightly scoring, Sales working the queue, ingest, truth."""

from leadops.closed_loop.errors import ClosedLoopError
from leadops.closed_loop.run import ClosedLoopResult, bootstrap, run_closed_loop

__all__ = ["ClosedLoopError", "ClosedLoopResult", "bootstrap", "run_closed_loop"]
