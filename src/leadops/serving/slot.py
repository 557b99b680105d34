"""The served champion (and its challengers), swapped atomically when the registry's champion alias moves.

Each worker follows the workspace's alias cache (`.leadops/registry.json`, rewritten by every promote,
rollback and retrain): a request takes `slot.models()` once, so it is scored entirely by one version, and the
response names it. A new version is loaded completely before the swap; a version that fails to load is
reported and the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadops.config import Settings
from leadops.errors import LeadOpsError, NotFoundError
from leadops.experiments.online import STOPS_FILE, OnlineArm, arm_of, arm_version, read_stops, with_stops
from leadops.jobs.model import mql_threshold_of, read_model_manifest
from leadops.jobs.routing import declared_activity_types, plan
from leadops.registry import cache, store
from leadops.registry.loading import load_artifact_dir
from leadops.serving.errors import NoModelError
from leadops.serving.model import LeadRecords, ServedModel
from leadops.settings.experiments import ExperimentSpec

log = logging.getLogger("leadops.serving")


@dataclass(frozen=True)
class Models:
    """What one request is scored with: the champion and the challengers, as of the same moment."""

    champion: ServedModel
    challengers: tuple[ServedModel, ...] = field(default=())


def _is_challenger(alias: str) -> bool:
    return alias == "challenger" or alias.startswith("challenger")


class ModelSlot:
    """The current champion and challengers of one worker, reloaded when the alias cache says they moved."""

    def __init__(
        self, settings: Settings, *, shadow: bool = True, on_swap: Callable[[int], None] | None = None
    ) -> None:
        self.settings = settings
        self.shadow = shadow
        self.on_swap = on_swap
        self._models: Models | None = None
        self._loaded: dict[int, ServedModel] = {}
        self._lock = threading.Lock()
        self._seen: tuple[float, int] | None = None
        self.last_error: str | None = None
        self.swaps = 0
        self._started: list[ExperimentSpec] = []
        self._stops: dict[str, datetime] = {}
        self._stops_seen: int | None = None
        self._logged: dict[str, dict[str, str]] = {}  # stopped experiment -> its frozen log (lead_id -> arm)
        self._logged_retry: dict[str, float] = {}  # stopped experiment -> when to try reading its log again
        self._arm_models: dict[tuple[int, str | None], ServedModel] = {}

    def models(self) -> Models:
        """The versions to score this request with (never half-swapped)."""
        current = self._models
        if current is None:
            raise NoModelError(
                f"no champion of model '{self.settings.registry.model_name}' is loaded"
                + (f": {self.last_error}" if self.last_error else ""),
                hint="train and promote a model (`leadops train`, `leadops models promote`); the service picks it up",
            )
        return current

    @property
    def version(self) -> int | None:
        """The champion version serving now, None before one is loaded."""
        return None if self._models is None else self._models.champion.version

    def _aliases(self) -> dict[str, int] | None:
        uri = store.tracking_uri(self.settings)
        snapshot = cache.read_snapshot(self.settings, store.cache_key(uri), self.settings.registry.model_name)
        return None if snapshot is None else {str(k): int(v) for k, v in snapshot.get("aliases", {}).items()}

    def _load(self, version: int) -> ServedModel:
        if version in self._loaded:
            return self._loaded[version]
        path: Path = load_artifact_dir(self.settings, version)
        manifest = read_model_manifest(path)
        routing = plan(
            self.settings.routing,
            self.settings.business,
            mql_threshold_of(manifest),
            declared_activity_types(self.settings.contracts, self.settings.sources),
        )
        model = ServedModel(version, path, routing, top_n=self.settings.scoring.top_reasons, verified=True)
        self._loaded[version] = model
        return model

    def follow_stops(self) -> None:
        """Take in the hand stops of experiments when their file changed (one stat per tick otherwise)."""
        path = self.settings.path(STOPS_FILE)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        if stamp == self._stops_seen:
            return
        try:
            self._stops = read_stops(path)
        except LeadOpsError as exc:
            log.warning("experiment stops not read, keeping %d: %s", len(self._stops), exc)
            return
        self._stops_seen = stamp

    def refresh(self, *, force: bool = False) -> bool:
        """Follow the alias cache: load what moved, swap in one assignment; True when the versions changed."""
        self.follow_stops()
        path = cache.cache_file(self.settings)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        with self._lock:
            if not force and self._seen is not None and self._seen[0] == stamp:
                return False
            aliases = self._aliases()
            if aliases is None or "champion" not in aliases:
                if aliases is None and stamp == -1:
                    self.refresh_from_registry()
                    aliases = self._aliases()
                if aliases is None or "champion" not in aliases:
                    self.last_error = "the registry has no champion alias"
                    self._seen = (stamp, -1)
                    return False
            try:
                champion = self._load(aliases["champion"])
                challengers = tuple(
                    self._load(v)
                    for a, v in sorted(aliases.items())
                    if self.shadow and _is_challenger(a) and v != aliases["champion"]
                )
            except (LeadOpsError, OSError) as exc:
                self.last_error = f"version {aliases['champion']} could not be loaded: {exc}"
                log.error("model reload failed, still serving %s: %s", self.version, self.last_error)
                return False
            self._started = self._read_started()
            self._arm_models = {}
            before = self._models
            self._models = Models(champion, challengers)
            self._seen = (stamp, champion.version)
            self.last_error = None
            keep = {champion.version, *(c.version for c in challengers)}
            self._loaded = {v: m for v, m in self._loaded.items() if v in keep}
            changed = before is None or before.champion.version != champion.version or before.challengers != challengers
            if changed and before is not None:
                self.swaps += 1
                log.info("champion now version %s (was %s)", champion.version, before.champion.version)
            if changed and self.on_swap is not None:
                self.on_swap(champion.version)
            return changed

    def _read_started(self) -> list[ExperimentSpec]:
        """Undecided experiments the retraining policy started (read when the aliases move: it moves them too);
        the last list is kept while the warehouse is busy."""
        from leadops.experiments import store as experiment_store
        from leadops.serving.lead_view import reading

        try:
            with reading(self.settings.warehouse.url, self.settings.workspace) as (warehouse, _):
                if not warehouse.table_exists("experiments"):
                    return []
                records = experiment_store.list_experiments(warehouse)
        except LeadOpsError as exc:
            log.warning("experiments could not be read, keeping %d: %s", len(self._started), exc)
            return self._started
        declared = {e.name for e in self.settings.experiments}
        return [r.spec for r in records if r.decision is None and r.name not in declared]

    def experiments(self) -> list[ExperimentSpec]:
        """Every experiment a request's leads may be in: declared in leadops.yaml or started by retraining."""
        return with_stops([*self.settings.experiments, *self._started], self._stops)

    def stopped_logs(self, specs: list[ExperimentSpec], at: datetime) -> dict[str, dict[str, str]]:
        """The frozen assignment logs of the stopped experiments (read once each: a stopped experiment takes no
        new units; a decided one honours none), so a logged lead keeps its arm online as in the nightly job."""
        wanted = [s.name for s in specs if s.stop is not None and s.stop <= at and s.name not in self._logged]
        due = [name for name in wanted if self._logged_retry.get(name, 0.0) <= time.monotonic()]
        if due:
            from leadops.experiments import store as experiment_store
            from leadops.serving.lead_view import reading

            try:
                with reading(self.settings.warehouse.url, self.settings.workspace) as (warehouse, _):
                    known = {r.name: r for r in experiment_store.list_experiments(warehouse)}
                    for name in due:
                        record = known.get(name)
                        if record is None or record.decision is not None:
                            self._logged[name] = {}
                            continue
                        table = experiment_store.assignments(warehouse, name)
                        leads, arms = table["lead_id"].to_pylist(), table["arm"].to_pylist()
                        self._logged[name] = dict(zip(leads, arms, strict=True))
            except LeadOpsError as exc:
                log.warning("stopped experiments' logs not read (%s), retrying in 60 s: %s", ", ".join(due), exc)
                for name in due:
                    self._logged_retry[name] = time.monotonic() + 60.0
        return self._logged

    def arms_for(self, leads: list[dict[str, Any]], at: datetime) -> list[OnlineArm | None]:
        """The experiment arm of each lead (its lead_id, account_id, created_at) at `at`, None when in none."""
        specs = self.experiments()
        if not specs:
            return [None] * len(leads)
        at = at.replace(tzinfo=None)
        logged = self.stopped_logs(specs, at)
        out: list[OnlineArm | None] = []
        for lead in leads:
            created = lead.get("created_at")
            out.append(
                arm_of(
                    specs,
                    str(lead.get("lead_id")),
                    lead.get("account_id"),
                    created if isinstance(created, datetime) else None,
                    at,
                    logged,
                )
            )
        return out

    def arm_models(self, served: Models, leads: list[LeadRecords], at: datetime) -> list[ServedModel]:
        """The model each lead is scored with: its experiment arm's version and routing policy, else the champion."""
        if not self.experiments():
            return [served.champion] * len(leads)
        challenger = served.challengers[0].version if served.challengers else None
        out: list[ServedModel] = []
        for found in self.arms_for([x.lead for x in leads], at):
            if found is None or (found.arm.model in (None, "champion") and found.arm.routing is None):
                out.append(served.champion)
                continue
            version = arm_version(found.arm, served.champion.version, challenger) or served.champion.version
            out.append(self._arm_model(version, found.arm.routing))
        return out

    def model_for(self, served: Models, lead: dict[str, Any], at: datetime) -> ServedModel:
        """The model one stored lead (its lead_id, account_id, created_at) is scored with: its arm's, else the
        champion (the lead page and GET /v1/leads/{id} answer with the version the nightly job scores it by)."""
        if not self.experiments():
            return served.champion
        return self.arm_models(served, [LeadRecords(dict(lead), None, [])], at)[0]

    def _arm_model(self, version: int, policy: str | None) -> ServedModel:
        key = (version, policy)
        with self._lock:
            if key not in self._arm_models:
                base = self._load(version)
                if policy is None:
                    self._arm_models[key] = base
                else:
                    spec = self.settings.routing.model_copy(update={"policy": policy})
                    routing = plan(
                        spec,
                        self.settings.business,
                        base.routing.mql_threshold,
                        declared_activity_types(self.settings.contracts, self.settings.sources),
                    )
                    self._arm_models[key] = ServedModel(
                        version,
                        load_artifact_dir(self.settings, version),
                        routing,
                        top_n=self.settings.scoring.top_reasons,
                    )
            return self._arm_models[key]

    def refresh_from_registry(self) -> None:
        """Ask MLflow for the aliases (a cold workspace, or a registry server promotions happen on)."""
        try:
            from leadops.registry.registry import Registry

            Registry(self.settings, None).refresh()
        except (LeadOpsError, OSError) as exc:
            self.last_error = f"the registry could not be read: {exc}"
            log.warning("registry refresh failed: %s", exc)
        except Exception as exc:  # MLflow raises its own types when a server is down
            self.last_error = f"the registry could not be read: {type(exc).__name__}: {exc}"
            log.warning("registry refresh failed: %s: %s", type(exc).__name__, exc)


class Follower:
    """A daemon thread per worker: checks the alias cache every few seconds, asks the registry now and then."""

    def __init__(self, slot: ModelSlot, *, every: float, registry_every: float) -> None:
        self.slot = slot
        self.every = every
        self.registry_every = registry_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadops-model-follower", daemon=True)

    def start(self) -> None:
        """Begin following."""
        self._thread.start()

    def stop(self) -> None:
        """Stop at the next tick."""
        self._stop.set()

    def _run(self) -> None:
        remote = store.tracking_uri(self.slot.settings).startswith(("http://", "https://", "databricks"))
        next_registry = time.monotonic() + self.registry_every
        while not self._stop.wait(self.every):
            try:
                if remote and time.monotonic() >= next_registry:
                    next_registry = time.monotonic() + self.registry_every
                    self.slot.refresh_from_registry()
                self.slot.refresh()
            except NotFoundError as exc:
                self.slot.last_error = str(exc)
            except Exception as exc:  # the follower must never die: the service keeps its current version
                log.exception("model follower: %s", exc)
