"""The online service's side of experiments: a request's lead gets the arm the nightly job gives it.

The arm is the salted hash's, the same pure function the nightly job logs; the store refuses to change arms,
weights, salt, unit or population once units are assigned, so the hash of a lead and its logged arm always agree
and no lead ever sees two treatments. A lead belongs to the earliest-started running experiment that takes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leadops.experiments.assignment import arm_index, bucket
from leadops.experiments.errors import ExperimentError
from leadops.settings.experiments import ArmSpec, ExperimentSpec


@dataclass(frozen=True)
class OnlineArm:
    """The experiment and arm one lead is in."""

    experiment: str
    arm: ArmSpec


def arm_of(
    specs: Iterable[ExperimentSpec], lead_id: str, account_id: str | None, created_at: datetime | None, at: datetime
) -> OnlineArm | None:
    """The lead's experiment arm at `at`, None when no running experiment takes it (a lead without created_at is
    taken as created now, i.e. new)."""
    import numpy as np

    for spec in sorted(specs, key=lambda s: (s.start, s.name)):
        if not spec.running(at):
            continue
        created = created_at.replace(tzinfo=None) if created_at is not None else at
        if spec.population == "new" and created < spec.start:
            continue
        unit = account_id if spec.unit == "account" and account_id else lead_id
        index = int(arm_index(spec, np.array([bucket(spec.hash_salt(), unit)]))[0])
        return OnlineArm(spec.name, spec.arms[index])
    return None


def arm_version(arm: ArmSpec, champion: int | None, challenger: int | None) -> int | None:
    """The registry version an arm scores with: its pinned number, the alias's current version, else champion."""
    if arm.model is None or arm.model == "champion":
        return champion
    if arm.model == "challenger":
        if challenger is None:
            raise ExperimentError(
                f"arm {arm.name!r} scores with the challenger, but the registry holds no challenger",
                hint="mark one with `leadops models challenger REF` or pin a version number in the arm",
            )
        return challenger
    return arm.version()
