"""A batch of checked rows made visible to warehouse SQL: a zero-copy Arrow view on DuckDB, a table on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from leadops.warehouse.connection import Warehouse, quote_ident


def insert(warehouse: Warehouse, table: str, data: pa.Table) -> None:
    """Warehouse.insert, usable several times inside one outer transaction (each PostgreSQL staging table is
    dropped by the insert itself, not at the outer commit)."""
    warehouse.insert(table, data)


class Stage:
    """Rows waiting to be checked set-based and upserted; `name` is what SQL selects from."""

    def __init__(self, warehouse: Warehouse, name: str, like: str | None, extra: dict[str, str]) -> None:
        self.warehouse = warehouse
        self.name = name
        self.data: pa.Table | None = None
        self.duck = warehouse.sql.in_process
        if not self.duck:
            ident = quote_ident(name)
            warehouse.execute(f"DROP TABLE IF EXISTS {ident}")
            source = quote_ident(like) if like else None
            if source is None:
                raise ValueError("a PostgreSQL stage needs a table to copy its shape from")
            warehouse.execute(f"CREATE TABLE {ident} AS SELECT * FROM {source} WHERE 1 = 0")
            for column, kind in extra.items():
                warehouse.execute(f"ALTER TABLE {ident} ADD COLUMN {quote_ident(column)} {kind}")

    @property
    def sql(self) -> str:
        """The name to select from."""
        return quote_ident(self.name)

    def put(self, data: pa.Table) -> None:
        """Replace the staged rows."""
        if self.duck:
            self.data = data
            self.warehouse.duckdb().register(self.name, data)
        else:
            self.warehouse.execute(f"DELETE FROM {self.sql}")
            insert(self.warehouse, self.name, data)
            self.data = data

    def remove(self, rows: Sequence[int], predicate: str | None = None) -> None:
        """Drop staged rows by row number (PostgreSQL may pass the SQL predicate that selected them)."""
        if not rows or self.data is None:
            return
        keep = pc.invert(pc.is_in(self.data.column("_row"), value_set=pa.array(rows, pa.int64())))
        self.data = self.data.filter(keep)
        if self.duck:
            self.warehouse.duckdb().register(self.name, self.data)
        elif predicate is not None:
            self.warehouse.execute(f"DELETE FROM {self.sql} WHERE {predicate}")
        else:
            for start in range(0, len(rows), 1000):
                part = [int(r) for r in rows[start : start + 1000]]
                self.warehouse.execute(f"DELETE FROM {self.sql} WHERE _row IN ({', '.join('?' * len(part))})", part)

    def clear(self) -> None:
        """Empty the stage after a batch."""
        if self.duck:
            if self.data is not None:
                self.warehouse.duckdb().unregister(self.name)
        else:
            self.warehouse.execute(f"DELETE FROM {self.sql}")
        self.data = None

    def drop(self) -> None:
        """Remove the stage at the end of a run."""
        if self.duck:
            self.clear()
        else:
            self.warehouse.execute(f"DROP TABLE IF EXISTS {self.sql}")
