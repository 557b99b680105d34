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
    analytics_copy: str = Field(
        default="analytics.duckdb",
        description="DuckDB only: the read-only copy analysts and BI tools open, replaced atomically after each "
        "published run (relative to workspace); empty string: none",
    )
