"""The feature rows of the leads likely to be routed to Sales, kept while the chunks are scored.

Reasons are written after routing, for the leads routed to Sales only; keeping those leads' rows from the
scoring pass spares the job a second feature build for them. Which leads routing sends to Sales is known only
after every chunk is scored, so this keeps a bounded superset: the leads already in the previous run's Sales
queue (they stay while Sales works them) and the best `limit` scores seen so far (new MQLs come from the top).
A lead routing sends to Sales that is not kept here has its features built again: the cache saves work, it
never decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from leadops.warehouse import Warehouse


def _column(rows: pa.Table, name: str) -> np.ndarray:
    """A float column of the staged rows as numpy, NULL as -inf (last in the routing order)."""
    values = rows.column(name).to_numpy(zero_copy_only=False)
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=-np.inf)


def best(score: np.ndarray, raw: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the `limit` best (score, raw), ties by position: exactly lexsort((-raw, -score))[:limit],
    but a partition finds the cut score first and only the rows at or above it are sorted (a 200k-lead chunk
    holds a few thousand of them, so ranking a chunk costs ~10x less)."""
    n = len(score)
    if limit <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    if limit >= n:
        return np.lexsort((-raw, -score))
    cut = np.partition(score, n - limit)[n - limit]  # the limit-th largest score
    pool = np.flatnonzero(score >= cut)  # every row that can be among the best, in position order
    return pool[np.lexsort((-raw[pool], -score[pool]))[:limit]]


class SalesCandidates:
    """Chunk slices of feature rows: the leads in `always` and the `limit` best (score, raw) seen so far."""

    def __init__(self, limit: int, always: Iterable[str] = ()) -> None:
        self.limit = max(0, int(limit))
        self.always = list(dict.fromkeys(str(i) for i in always))
        self._parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, X: pd.DataFrame, rows: pa.Table) -> None:
        """Keep the candidates among one scored chunk (X: its feature frame; rows: its staged score rows)."""
        score, raw = _column(rows, "score"), _column(rows, "raw")
        pinned = np.asarray(X.index.isin(self.always), dtype=bool) if self.always else np.zeros(len(X), bool)
        top = np.zeros(len(X), dtype=bool)
        if self.limit and len(X):
            top[best(score, raw, self.limit)] = True
        keep = np.flatnonzero(top | pinned)
        if len(keep):
            self._parts.append((X.iloc[keep], score[keep], raw[keep], pinned[keep]))
        self._trim()

    def _trim(self) -> None:
        """Drop the rows that are neither pinned nor among the `limit` best of every part kept."""
        if not self._parts:
            return
        score = np.concatenate([p[1] for p in self._parts])
        raw = np.concatenate([p[2] for p in self._parts])
        top = np.zeros(len(score), dtype=bool)
        top[best(score, raw, self.limit)] = True
        trimmed = []
        start = 0
        for frame, s, r, pinned in self._parts:
            keep = np.flatnonzero(top[start : start + len(s)] | pinned)
            start += len(s)
            if len(keep) == len(s):
                trimmed.append((frame, s, r, pinned))
            elif len(keep):
                trimmed.append((frame.iloc[keep], s[keep], r[keep], pinned[keep]))
        self._parts = trimmed

    def __len__(self) -> int:
        return sum(len(p[1]) for p in self._parts)

    def rows_for(self, lead_ids: Sequence[str]) -> tuple[list[pd.DataFrame], list[str]]:
        """The kept feature rows of these leads (one frame per scored chunk) and the ids not kept."""
        wanted = pd.Index([str(i) for i in lead_ids])
        found: list[pd.DataFrame] = []
        seen: list[pd.Index] = []
        for frame, *_ in self._parts:
            hit = frame.index.isin(wanted)
            if hit.any():
                found.append(frame.loc[hit])
                seen.append(frame.index[hit])
        held = seen[0].append(seen[1:]) if seen else pd.Index([])
        missing = [str(i) for i in wanted[~wanted.isin(held)]]
        return found, missing


def previous_sales_ids(warehouse: Warehouse, previous_run: str | None) -> list[str]:
    """The leads in the previous published run's Sales queue (routing keeps them with Sales while worked)."""
    if previous_run is None:
        return []
    return [str(r[0]) for r in warehouse.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [previous_run])]


def candidate_limit(capacity_per_day: int) -> int:
    """How many top scores to keep: a margin over today's Sales capacity for the leads routing passes over
    (no call consent, cooling down, not fresh, a full territory)."""
    return max(1_000, 4 * int(capacity_per_day))
