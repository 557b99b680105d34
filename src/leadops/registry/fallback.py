"""What the workspace still knows when the MLflow server is down: the last full read, and verified local copies.

The alias cache (`.leadops/registry.json`) is rewritten only from a complete read of the registry, so during an
outage it holds the last state MLflow confirmed. A version is usable offline only when its local copy matches
the digest MLflow recorded for it; anything else is refused, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadops.config import Settings
from leadops.registry import cache, store
from leadops.registry.errors import ArtifactIntegrityError, RegistryUnavailableError
from leadops.registry.integrity import verify_artifact
from leadops.registry.records import CHAMPION

NO_CACHE_HINT = "start the MLflow server or fix registry.uri; once it answers, `leadops models list` caches it"


@dataclass(frozen=True)
class CachedVersion:
    """One version as the last full registry read saw it, with its verified local copy if there is one."""

    version: int
    scorer: str | None
    aliases: list[str] = field(default_factory=list)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The cached view of `models list` / `models show` (labelled cached by the caller)."""
        return {
            "version": self.version,
            "scorer": self.scorer,
            "aliases": self.aliases,
            "local_copy": None if self.path is None else str(self.path),
        }


@dataclass(frozen=True)
class CachedRegistry:
    """The last full read of the registry: when it was made and every version it listed."""

    model_name: str
    refreshed_at: str | None
    versions: list[CachedVersion]

    def alias(self, name: str) -> CachedVersion | None:
        """The version holding alias `name` in the cache, if any."""
        return next((v for v in self.versions if name in v.aliases), None)

    def find(self, ref: str | int) -> CachedVersion | None:
        """The version `ref` names (number, alias or scorer) in the cache."""
        snapshot = {
            "versions": {str(v.version): {"scorer": v.scorer} for v in self.versions},
            "aliases": {a: v.version for v in self.versions for a in v.aliases},
        }
        number = cache.resolve_in(snapshot, ref)
        return next((v for v in self.versions if v.version == number), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON of the cached view."""
        return {
            "model": self.model_name,
            "cached": True,
            "refreshed_at": self.refreshed_at,
            "versions": [v.to_dict() for v in self.versions],
        }


def verified_copy(settings: Settings, version: int, digest: str | None) -> Path | None:
    """The local copy of `version` when it matches the digest the registry recorded; None otherwise."""
    target = cache.version_dir(settings, settings.registry.model_name, version)
    if not target.is_dir() or not digest:
        return None
    try:
        verify_artifact(target, digest)
    except ArtifactIntegrityError:
        return None
    return target


def cached_registry(settings: Settings) -> CachedRegistry | None:
    """The workspace's cached view of its registry (same tracking URI), None when it was never read here."""
    uri = store.tracking_uri(settings)
    model = settings.registry.model_name
    snapshot = cache.read_snapshot(settings, store.cache_key(uri), model)
    if snapshot is None:
        return None
    by_version: dict[int, list[str]] = {}
    for alias, number in snapshot.get("aliases", {}).items():
        by_version.setdefault(int(number), []).append(str(alias))
    versions = [
        CachedVersion(
            int(v),
            info.get("scorer"),
            sorted(by_version.get(int(v), [])),
            verified_copy(settings, int(v), info.get("artifact_digest")),
        )
        for v, info in sorted(snapshot.get("versions", {}).items(), key=lambda item: int(item[0]))
    ]
    return CachedRegistry(model, snapshot.get("refreshed_at"), versions)


def cached_champion(settings: Settings, outage: RegistryUnavailableError) -> tuple[CachedVersion, Path, str]:
    """The last verified champion with its local copy and the warning to show, or the outage as an error."""
    view = cached_registry(settings)
    found = None if view is None else view.alias(CHAMPION)
    if view is None or found is None or found.path is None:
        why = (
            "the workspace has never cached this registry"
            if view is None
            else "its cache names no champion"
            if found is None
            else f"the cached champion v{found.version} has no verified local copy"
        )
        raise RegistryUnavailableError(
            f"{outage.message}; {why}, so there is no champion to score with", hint=NO_CACHE_HINT
        ) from outage
    warning = (
        f"{outage.message}: scored with the last verified champion v{found.version} ({found.scorer}) from the "
        f"local cache of {view.refreshed_at}; a promotion made since then is not seen"
    )
    return found, found.path, warning
