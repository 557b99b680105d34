"""The `warehouse:` section: where the canonical tables and every output live."""

from __future__ import annotations

from pydantic import Field

from leadops.settings.base import Section


class WarehouseSettings(Section):
    """Where the canonical tables and every output live."""

    url: str = Field(
        default="duckdb:///warehouse.duckdb",
        description="duckdb:///path (relative to workspace) or postgresql://...",
    )
