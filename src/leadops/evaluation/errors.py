"""Errors raised by evaluation: bad inputs and metrics that are undefined for the data given."""

from __future__ import annotations

from leadops.errors import LeadOpsError


class EvaluationError(LeadOpsError):
    """Inputs to an evaluation are malformed (wrong length, not binary, not finite, out of range)."""

    exit_code = 16
    http_status = 422


class UndefinedMetricError(EvaluationError):
    """A metric has no value for these labels, e.g. AUC when every lead has the same outcome."""

    exit_code = 17
