"""Errors of experiments: a malformed experiment or analysis request, an unknown name, a broken assignment log."""

from __future__ import annotations

from leadops.errors import LeadOpsError


class ExperimentError(LeadOpsError):
    """An experiment cannot be set up or analysed as asked: an arm names no model, inputs out of range."""

    exit_code = 23
    http_status = 422


class ExperimentNotFoundError(LeadOpsError):
    """No experiment of that name is declared in leadops.yaml or known to the warehouse."""

    exit_code = 24
    http_status = 404


class AssignmentConflictError(LeadOpsError):
    """The assignment log disagrees with the experiment's settings (an arm renamed or removed after units got it)."""

    exit_code = 25
    http_status = 409


class ExperimentStoppedError(LeadOpsError):
    """`experiment stop` on an experiment that takes no units already: stopped by hand or by its stop:, or decided."""

    exit_code = 41
    http_status = 409


class StopTimeError(LeadOpsError):
    """`experiment stop --at T` with a time before the experiment's start."""

    exit_code = 42
    http_status = 422
