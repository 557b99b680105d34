"""Errors of monitoring: its inputs do not fit together (a feature missing from a sample, no reference)."""

from __future__ import annotations

from leadops.errors import LeadOpsError


class MonitoringError(LeadOpsError):
    """Monitoring cannot compare these samples: a column is missing, or there is no reference to compare with."""

    exit_code = 40
