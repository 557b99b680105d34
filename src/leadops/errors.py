"""Every error leadops raises on purpose: one base class that knows its CLI exit code and HTTP status.

Each class has an exit code of its own (docs/errors.md lists them; a test keeps the list and the code in step).
"""

from __future__ import annotations


class LeadOpsError(Exception):
    """Base of every expected failure; the CLI prints its message on one line and exits with `exit_code`."""

    exit_code: int = 20
    http_status: int = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(LeadOpsError):
    """leadops.yaml (or a LEADOPS_* variable) is missing, unreadable or invalid."""

    exit_code = 3


class WorkspaceError(LeadOpsError):
    """The workspace folder is missing or not initialised."""

    exit_code = 14


class WarehouseError(LeadOpsError):
    """The warehouse cannot be reached, migrated or written."""

    exit_code = 4
    http_status = 503


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse's single writer lock."""

    exit_code = 5
    http_status = 409


class IngestError(LeadOpsError):
    """A source cannot be read at all (bad rows go to quarantine instead of raising)."""

    exit_code = 6


class ContractError(LeadOpsError):
    """Data does not satisfy a contract and cannot be quarantined row by row."""

    exit_code = 15
    http_status = 422


class FeatureError(LeadOpsError):
    """A feature spec is invalid or its inputs do not match what it expects."""

    exit_code = 7
    http_status = 422


class ScorerError(LeadOpsError):
    """A scorer cannot be fitted, loaded or applied to the data it was given."""

    exit_code = 8
    http_status = 422


class NotFoundError(LeadOpsError):
    """A named model, version, run or lead does not exist."""

    exit_code = 9
    http_status = 404


class GateFailedError(LeadOpsError):
    """A model failed its validation gates and may not be promoted."""

    exit_code = 1
    http_status = 409


USAGE_EXIT = 2
"""The command line itself is wrong (unknown option, missing argument): click's own exit code."""
INTERNAL_EXIT = 70
"""An unexpected failure (a bug): one line on stderr, the traceback with --debug or in the error log."""
INTERRUPTED_EXIT = 130
"""Ctrl-C."""
