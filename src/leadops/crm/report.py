"""What one ingest run did, per source and overall: every record read is loaded, unchanged, quarantined or filtered.

`rows_read = rows_loaded + rows_unchanged + rows_quarantined + rows_filtered` is checked by ingest itself
(SourceReport.balance); a run where it does not hold fails and keeps nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from leadops.errors import IngestError


@dataclass
class SourceReport:
    """One source's share of a run."""

    name: str
    table: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    rows_filtered: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    filtered_reasons: dict[str, int] = field(default_factory=dict)
    outcomes_loaded: int = 0
    batches: int = 0
    seconds: float = 0.0

    def count(self, reasons: Counter[str]) -> None:
        """Add a batch's quarantined rows by reason."""
        merged = Counter(self.quarantine_reasons)
        merged.update(reasons)
        self.quarantine_reasons = dict(sorted(merged.items()))
        self.rows_quarantined = sum(merged.values())

    def unaccounted(self) -> int:
        """Records read but neither loaded, unchanged, quarantined nor filtered (negative: counted twice)."""
        return self.rows_read - (self.rows_loaded + self.rows_unchanged + self.rows_quarantined + self.rows_filtered)

    def balance(self) -> None:
        """Fail loudly when the accounting identity does not hold: a record was lost or counted twice."""
        gap = self.unaccounted()
        if gap:
            raise IngestError(
                f"source '{self.name}': {self.rows_read} records read but {self.rows_loaded} loaded + "
                f"{self.rows_unchanged} unchanged + {self.rows_quarantined} quarantined + {self.rows_filtered} "
                f"filtered = {self.rows_read - gap}; the run is rolled back (please report this as a bug)"
            )

    def filtered(self, reasons: list[str], counts: list[tuple[int, int]]) -> None:
        """Add a batch's rows left out by the source's filters: (filter index, rows) pairs."""
        merged = Counter(self.filtered_reasons)
        for index, rows in counts:
            merged[reasons[int(index)]] += int(rows)
        self.filtered_reasons = dict(sorted(merged.items()))
        self.rows_filtered = sum(merged.values())


@dataclass
class IngestReport:
    """The report of one `leadops ingest` run, stored as JSON in ingest_runs.report."""

    run_id: str
    status: str = "running"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    rows_filtered: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    filtered_reasons: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    per_source: list[SourceReport] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    interrupted_runs: list[str] = field(default_factory=list)

    def total(self) -> None:
        """Recompute the run totals from the per-source figures."""
        self.rows_read = sum(s.rows_read for s in self.per_source)
        self.rows_loaded = sum(s.rows_loaded for s in self.per_source)
        self.rows_unchanged = sum(s.rows_unchanged for s in self.per_source)
        self.rows_filtered = sum(s.rows_filtered for s in self.per_source)
        reasons: Counter[str] = Counter()
        for source in self.per_source:
            reasons.update(source.quarantine_reasons)
        self.quarantine_reasons = dict(sorted(reasons.items()))
        self.rows_quarantined = sum(reasons.values())
        filtered: Counter[str] = Counter()
        for source in self.per_source:
            filtered.update(source.filtered_reasons)
        self.filtered_reasons = dict(sorted(filtered.items()))
        self.rows_filtered = sum(filtered.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (CLI --json, ingest_runs.report)."""
        data = asdict(self)
        data["rows_per_second"] = round(self.rows_read / self.seconds, 1) if self.seconds > 0 else None
        return data
