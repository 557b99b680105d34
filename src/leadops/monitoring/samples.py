"""The monitored samples of a run, its open leads and its new leads, kept so a later run's reference is read.

A sample is up to `monitoring.sample_rows` of the run's scored leads (md5 order: the same ones on every rerun),
their features rebuilt from the model's own bundle as of the run (point in time: what the job scored) and their
published scores, keyed by `lead_key` (sha256 of the lead id, no id kept) so `leadops erase` can remove a person's
rows (crm.erase_samples); a kept file without the key (written before it) is rebuilt. The new-lead population
is the run's leads created in the window (since the previous run, at least `new_leads.min_days`). Each sample
is written once as parquet under `monitoring.sample_dir`; the first run of every model version's first week
(the default references: the first run for the open leads, the run on the same weekday for the new leads) are
kept, and of the others the newest `keep_samples` runs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from leadops.bundle import Bundle
from leadops.crm.erase_samples import KEY
from leadops.monitoring.errors import MonitoringError
from leadops.monitoring.report import SCORE
from leadops.warehouse import Warehouse

OPEN, NEW = "open", "new"
_NAME = re.compile(r"^(?P<run>.+)\.v(?P<version>\d+)\.(?P<key>[a-z0-9-]+)\.parquet$")


@dataclass(frozen=True)
class Population:
    """Which of a run's leads a sample holds: every scored lead, or those created in (since, as_of]."""

    name: str
    rows: int
    window: timedelta | None = None

    @property
    def key(self) -> str:
        """The sample's file key: population, size and (for new leads) the window, so a changed setting rebuilds."""
        days = "" if self.window is None else f"-{int(self.window.total_seconds())}s"
        return f"{self.name}-{self.rows}{days}"


def _where(population: Population, as_of: datetime) -> tuple[str, list[object]]:
    if population.window is None:
        return "", []
    return " AND l.created_at > ? AND l.created_at <= ?", [as_of - population.window, as_of]


def run_leads(warehouse: Warehouse, run_id: str, as_of: datetime, population: Population) -> int:
    """How many of the run's scored leads the population holds."""
    where, params = _where(population, as_of)
    sql = f"SELECT count(*) FROM lead_scores s JOIN leads l ON l.lead_id = s.lead_id WHERE s.run_id = ?{where}"
    return int(warehouse.rows(sql, [run_id, *params])[0][0])


def build_sample(
    warehouse: Warehouse, bundle: Bundle, run_id: str, as_of: datetime, population: Population
) -> pd.DataFrame:
    """The population's sample of the run: features from the bundle as of the run, plus the published score."""
    where, params = _where(population, as_of)
    picked = warehouse.rows(
        f"SELECT s.lead_id, s.score, {warehouse.sql.sha256_hex('s.lead_id')} FROM lead_scores s "
        f"JOIN leads l ON l.lead_id = s.lead_id WHERE s.run_id = ?{where} ORDER BY md5(s.lead_id), s.lead_id LIMIT ?",
        [run_id, *params, population.rows],
    )
    ids = [str(r[0]) for r in picked]
    frame = bundle.rows(warehouse, ids, as_of).reset_index(drop=True)
    frame[SCORE] = pd.to_numeric(pd.Series([r[1] for r in picked], dtype=object), errors="coerce").astype(float)
    frame[KEY] = pd.Series([str(r[2]) for r in picked], dtype="str")  # as a kept file reads back
    return frame


class SampleStore:
    """Parquet files of monitored samples, one per (run, model version, population)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, run_id: str, version: int, population: Population) -> Path:
        """Where one sample lives."""
        return self.directory / f"{run_id}.v{version}.{population.key}.parquet"

    def read(self, run_id: str, version: int, population: Population) -> pd.DataFrame | None:
        """The kept sample, or None when there is none (or it cannot be read, or has no lead_key: rebuilt)."""
        path = self.path(run_id, version, population)
        try:
            frame = pd.read_parquet(path) if path.exists() else None
        except (OSError, ValueError):
            return None
        return frame if frame is not None and KEY in frame.columns else None

    def write(self, run_id: str, version: int, population: Population, frame: pd.DataFrame) -> None:
        """Keep a sample (written beside, then renamed: a reader never sees half a file)."""
        path = self.path(run_id, version, population)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            part = path.with_suffix(".part")
            frame.to_parquet(part, index=False)
            os.replace(part, path)
        except OSError as exc:
            raise MonitoringError(
                f"cannot keep the monitored sample {path}: {exc}", hint="check monitoring.sample_dir is writable"
            ) from exc

    def sample(
        self, warehouse: Warehouse, bundle: Bundle, run_id: str, as_of: datetime, version: int, population: Population
    ) -> pd.DataFrame:
        """The kept sample of the run, else built and kept."""
        kept = self.read(run_id, version, population)
        if kept is not None:
            return kept
        frame = build_sample(warehouse, bundle, run_id, as_of, population)
        self.write(run_id, version, population, frame)
        return frame

    def prune(self, warehouse: Warehouse, keep_newest: int) -> list[Path]:
        """Remove samples of runs that are neither a version's first run nor among the newest; what was removed."""
        if not self.directory.is_dir():
            return []
        files = [(p, m) for p in self.directory.iterdir() if (m := _NAME.match(p.name))]
        runs = warehouse.rows("SELECT run_id, model_version, as_of FROM score_runs WHERE status = 'published'")
        firsts: dict[int, tuple[datetime, str]] = {}
        when: dict[str, datetime] = {}
        for rid, version, as_of in runs:
            when[str(rid)] = as_of
            first = firsts.get(int(version))
            if first is None or (as_of, str(rid)) < first:
                firsts[int(version)] = (as_of, str(rid))
        first_of = {rid: firsts[int(v)][0] for rid, v, _ in ((str(r), v, a) for r, v, a in runs)}
        # every version's first week: the references of the new leads (the same weekday, weeks later)
        keep = {rid for rid, start in first_of.items() if when[rid] < start + timedelta(weeks=1)}
        kept_runs = sorted({m["run"] for _, m in files if m["run"] in when}, key=lambda r: when[r], reverse=True)
        keep |= set(kept_runs[:keep_newest])
        removed = []
        for path, m in files:
            if m["run"] not in keep:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed
