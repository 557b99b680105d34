"""The keys loaded so far in a run, as 64-bit hashes in sorted runs: duplicate detection without re-scanning.

A key seen earlier in the run (first occurrence wins) must be found among millions without a join against
the whole target table per batch. Each batch's hashes become a sorted run; runs merge like an LSM tree so
there are O(log n) of them and a membership test costs O(batch * log n). Memory: 8 bytes per loaded key.
A hash hit is only a candidate; the caller confirms it against the warehouse (collisions are ~1e-5 at 30M).
"""

from __future__ import annotations

import numpy as np


class KeySet:
    """Membership of 64-bit key hashes; add() a batch, contains() a batch."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask: which of `hashes` were added before."""
        found = np.zeros(len(hashes), dtype=bool)
        for run in self.runs:
            index = np.searchsorted(run, hashes)
            index[index == len(run)] = len(run) - 1
            found |= run[index] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        """Remember a batch of hashes."""
        if len(hashes) == 0:
            return
        self.runs.append(np.unique(hashes.astype(np.uint64, copy=False)))
        while len(self.runs) > 1 and len(self.runs[-1]) * 2 >= len(self.runs[-2]):
            last = self.runs.pop()
            merged = np.concatenate([self.runs.pop(), last])
            merged.sort(kind="stable")
            self.runs.append(merged)
