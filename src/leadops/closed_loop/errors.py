"""Errors of the closed loop: it cannot start on this workspace, or cannot feed it what it simulates."""

from __future__ import annotations

from leadops.errors import LeadOpsError


class ClosedLoopError(LeadOpsError):
    """The closed loop cannot run here: no usable history, days past today, a mapping it cannot feed, a rerun."""

    exit_code = 28
