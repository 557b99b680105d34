"""The CRM side of leadops: map a user's export onto the canonical tables, enforce contracts, quarantine.

Nothing here imports leadops.config at load time (config imports crm.specs), and names resolve on first use so
that loading the config does not pay for pandas/pyarrow through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["IngestReport", "SourceReport", "ingest", "ingest_from"]
_HOMES = {"ingest": "loader", "ingest_from": "readers", "IngestReport": "report", "SourceReport": "report"}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` when it is first asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module 'leadops.crm' has no attribute {name!r}")
    return getattr(importlib.import_module(f"leadops.crm.{_HOMES[name]}"), name)
