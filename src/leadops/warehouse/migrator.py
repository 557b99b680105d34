"""Numbered SQL migrations, applied once each and recorded in `schema_version`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered migration file shipped inside the package."""

    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with this version of leadops, in order."""
    found: list[Migration] = []
    for entry in resources.files("leadops.warehouse.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations keep `;` out of literals and comments)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
