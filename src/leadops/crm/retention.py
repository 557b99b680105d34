"""How long personal data is kept, and `leadops purge`: quarantined raw values, quarantine entries and export
folders expire after the configured number of days.

Purge is safe from cron: it takes the warehouse's writer lock (a running job makes it wait for the next run
with a clear error), works in one transaction, and a second run the same day removes nothing and says so.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadops.settings.privacy import PrivacySpec

if TYPE_CHECKING:
    from leadops.warehouse.connection import Warehouse


def _old_export_dirs(base: Path, cutoff: datetime) -> list[Path]:
    """exports/<YYYY-MM-DD>/ folders dated before the cut-off (other folders are never touched)."""
    if not base.is_dir():
        return []
    old = []
    for child in sorted(base.iterdir()):
        try:
            day = datetime.strptime(child.name, "%Y-%m-%d")
        except ValueError:
            continue
        if child.is_dir() and day < cutoff.replace(hour=0, minute=0, second=0, microsecond=0):
            old.append(child)
    return old


def _expire(warehouse: Warehouse, change: str, also: str, cutoff: datetime, dry_run: bool) -> int:
    """Count the quarantine rows older than `cutoff` (and `also`), then apply `change` to them unless dry-running."""
    where = f"quarantined_at < ?{also}"
    count = int(warehouse.scalar(f"SELECT count(*) FROM quarantine WHERE {where}", [cutoff]) or 0)
    if count and not dry_run:
        warehouse.execute(f"{change} WHERE {where}", [cutoff])
    return count


def purge(
    spec: PrivacySpec, warehouse: Warehouse, exports_dir: Path, *, now: datetime | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Drop what is past its retention; return what was (or, dry, would be) removed per kind."""
    from leadops.warehouse.connection import utcnow

    at = now or utcnow()
    result: dict[str, Any] = {
        "at": at.isoformat(timespec="seconds"),
        "dry_run": dry_run,
        "quarantine_raw_cleared": 0,
        "quarantine_deleted": 0,
        "export_dirs_deleted": [],
    }
    with warehouse.writer("purge"):
        with warehouse.transaction():
            if spec.quarantine_days is not None:
                result["quarantine_deleted"] = _expire(
                    warehouse, "DELETE FROM quarantine", "", at - timedelta(days=spec.quarantine_days), dry_run
                )
            if spec.quarantine_raw_days is not None:
                result["quarantine_raw_cleared"] = _expire(
                    warehouse,
                    "UPDATE quarantine SET raw = NULL",
                    " AND raw IS NOT NULL",
                    at - timedelta(days=spec.quarantine_raw_days),
                    dry_run,
                )
        if spec.exports_days is not None:
            for folder in _old_export_dirs(exports_dir, at - timedelta(days=spec.exports_days)):
                result["export_dirs_deleted"].append(str(folder))
                if not dry_run:
                    shutil.rmtree(folder)
    removed = result["quarantine_raw_cleared"] + result["quarantine_deleted"] + len(result["export_dirs_deleted"])
    result["removed_anything"] = removed > 0
    verb = "would remove" if dry_run else "removed"
    result["message"] = (
        f"{verb} raw values of {result['quarantine_raw_cleared']} quarantine entries, "
        f"{result['quarantine_deleted']} entries and {len(result['export_dirs_deleted'])} export folder(s)"
        if removed
        else "nothing is past its retention"
    )
    result["retention"] = spec.model_dump()
    return result
