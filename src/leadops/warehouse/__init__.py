"""The warehouse: one schema on DuckDB (embedded default) or PostgreSQL, migrations, one writer."""

from leadops.warehouse.connection import Warehouse, open_warehouse

__all__ = ["Warehouse", "open_warehouse"]
