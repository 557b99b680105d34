"""The online service's side of experiments: a request's lead gets the arm the nightly job gives it.

The arm is the salted hash's, the same pure function the nightly job logs; the store refuses to change arms,
weights, salt, unit or population once units are assigned, so the hash of a lead and its logged arm always agree
and no lead ever sees two treatments. A lead belongs to the earliest-started running experiment that takes it.
A hand stop (`leadops experiment stop`) lives in the warehouse and in a small file beside the alias cache
(`.leadops/experiment-stops.json`) that every worker follows, so the service stops taking units with the job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from leadops.experiments.assignment import arm_index, bucket
from leadops.experiments.errors import ExperimentError
from leadops.settings.experiments import ArmSpec, ExperimentSpec


@dataclass(frozen=True)
class OnlineArm:
    """The experiment and arm one lead is in."""

    experiment: str
    arm: ArmSpec


def arm_of(
    specs: Iterable[ExperimentSpec],
    lead_id: str,
    account_id: str | None,
    created_at: datetime | None,
    at: datetime,
    logged: Mapping[str, Mapping[str, str]] | None = None,
) -> OnlineArm | None:
    """The lead's experiment arm at `at`, None when no experiment takes it (a lead without created_at is taken as
    created now, i.e. new). A stopped experiment takes no new lead, but a lead in its frozen log (`logged`:
    experiment -> lead_id -> arm) keeps that arm until it is decided, as in the nightly job."""
    import numpy as np

    for spec in sorted(specs, key=lambda s: (s.start, s.name)):
        if not spec.running(at):
            arm = (logged or {}).get(spec.name, {}).get(lead_id) if at >= spec.start else None
            if arm is not None:
                return OnlineArm(spec.name, spec.arm(arm))
            continue
        created = created_at.replace(tzinfo=None) if created_at is not None else at
        if spec.population == "new" and created < spec.start:
            continue
        unit = account_id if spec.unit == "account" and account_id else lead_id
        index = int(arm_index(spec, np.array([bucket(spec.hash_salt(), unit)]))[0])
        return OnlineArm(spec.name, spec.arms[index])
    return None


STOPS_FILE = Path(".leadops") / "experiment-stops.json"


def write_stops(path: Path, stops: Mapping[str, datetime]) -> None:
    """Write every hand stop (experiment -> naive UTC time) for the online workers, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"stops": {name: at.isoformat() for name, at in sorted(stops.items())}}
    part = path.with_name(f".{path.name}.{os.getpid()}")
    part.write_text(json.dumps(body, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(part, path)


def read_stops(path: Path) -> dict[str, datetime]:
    """The hand stops a worker applies (none when the file is missing; a damaged file names itself)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): datetime.fromisoformat(str(v)) for k, v in body["stops"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExperimentError(
            f"{path}: expected {{'stops': {{name: ISO time}}}}, could not read it ({type(exc).__name__}: {exc})",
            hint="`leadops experiment stop NAME` rewrites it from the warehouse",
        ) from exc


def with_stops(specs: Iterable[ExperimentSpec], stops: Mapping[str, datetime]) -> list[ExperimentSpec]:
    """The specs with each hand stop applied where it comes before the declared stop (as the warehouse does)."""
    out: list[ExperimentSpec] = []
    for spec in specs:
        at = stops.get(spec.name)
        if at is not None and (spec.stop is None or at < spec.stop):
            spec = spec.model_copy(update={"stop": at})  # model_copy: a stop at the very start is allowed here
        out.append(spec)
    return out


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
