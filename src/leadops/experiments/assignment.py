"""Which arm a unit gets: salted SHA-256 of the unit id mod 10,000, cut into ranges by the arms' weights.

Pure and deterministic (the same salt and id give the same bucket on every machine, in the nightly job and in
the online service); the store logs the first answer and that logged arm is what every later caller honours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from leadops.settings.experiments import ExperimentSpec

BUCKETS = 10_000


def bucket(salt: str, unit_id: str) -> int:
    """The unit's bucket in 0..9,999: SHA-256 of `salt:unit_id`, its first 8 bytes as an integer, mod 10,000."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def buckets(salt: str, unit_ids: Iterable[str]) -> np.ndarray:
    """Buckets of many units at once (one hash each; about a microsecond per id)."""
    prefix = f"{salt}:".encode()
    sha = hashlib.sha256
    return np.fromiter(
        (int.from_bytes(sha(prefix + str(u).encode()).digest()[:8], "big") % BUCKETS for u in unit_ids),
        dtype=np.int64,
    )


def boundaries(spec: ExperimentSpec) -> np.ndarray:
    """Upper bucket bound (exclusive) of each arm, in the arms' order: weights normalised onto 10,000 buckets."""
    weights = np.array([arm.weight for arm in spec.arms], dtype=float)
    cumulative = np.cumsum(weights) / weights.sum()
    bounds = np.rint(cumulative * BUCKETS).astype(np.int64)
    bounds[-1] = BUCKETS
    return bounds


def arm_index(spec: ExperimentSpec, bucket_values: np.ndarray) -> np.ndarray:
    """Index into `spec.arms` for each bucket."""
    return np.searchsorted(boundaries(spec), np.asarray(bucket_values, dtype=np.int64), side="right")


def arms_for(spec: ExperimentSpec, unit_ids: Iterable[str]) -> list[str]:
    """The arm name of each unit id, as the hash assigns it (the store's log wins over this once written)."""
    names = [arm.name for arm in spec.arms]
    return [names[i] for i in arm_index(spec, buckets(spec.hash_salt(), unit_ids))]


def expected_shares(spec: ExperimentSpec) -> dict[str, float]:
    """Each arm's share of the buckets: the allocation the sample-ratio check tests the counts against."""
    bounds = boundaries(spec)
    lower = np.concatenate([[0], bounds[:-1]])
    return {arm.name: float(hi - lo) / BUCKETS for arm, lo, hi in zip(spec.arms, lower, bounds, strict=True)}
