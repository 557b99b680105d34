"""The workspace's registry cache: alias -> version JSON plus downloaded artifact directories.

`<workspace>/.leadops/registry.json` is a CACHE of the MLflow registry (aliases, versions, their scorer and
artifact digest), rewritten by every registry command (train, promote, set-challenger, rollback, list, show).
MLflow stays the truth; the file lets a scoring process resolve `champion` without importing mlflow.
Deleting it is always safe: the next registry command or cold load rebuilds it.
`<workspace>/.leadops/models/<model>/<version>/` holds each version's plain artifact files, downloaded once.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadops.config import Settings
from leadops.registry.records import parse_version

CACHE_DIR = ".leadops"
CACHE_FILE = "registry.json"
NOTE = "cache of the MLflow registry, rewritten by every leadops registry command; safe to delete"


def cache_file(settings: Settings) -> Path:
    """Where the alias cache lives in this workspace."""
    return settings.path(CACHE_DIR) / CACHE_FILE


def version_dir(settings: Settings, model_name: str, version: int) -> Path:
    """Where one version's artifact files are kept locally."""
    return settings.path(CACHE_DIR) / "models" / model_name / str(version)


def new_snapshot(uri_key: str, model_name: str) -> dict[str, Any]:
    """An empty snapshot of one registered model."""
    return {
        "tracking_uri": uri_key,
        "model_name": model_name,
        "refreshed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "aliases": {},
        "versions": {},
    }


def read_snapshot(settings: Settings, uri_key: str, model_name: str) -> dict[str, Any] | None:
    """The cached snapshot of `model_name` from the same tracking URI, else None."""
    try:
        data = json.loads(cache_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    snapshot = data.get("models", {}).get(model_name) if isinstance(data, dict) else None
    if not isinstance(snapshot, dict) or snapshot.get("tracking_uri") != uri_key:
        return None
    return snapshot


def write_snapshot(settings: Settings, snapshot: dict[str, Any]) -> None:
    """Replace this model's entry in the cache file atomically (write a temp file, then rename)."""
    path = cache_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    models = dict(data.get("models", {}))
    models[snapshot["model_name"]] = snapshot
    body = json.dumps({"note": NOTE, "models": models}, indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".registry-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    os.replace(tmp, path)


def resolve_in(snapshot: dict[str, Any], ref: str | int) -> int | None:
    """Version named by `ref` in a snapshot: a number, an alias, else a scorer name (its latest)."""
    versions: dict[str, dict[str, Any]] = snapshot.get("versions", {})
    number = parse_version(ref)
    if number is not None:
        return number if str(number) in versions else None
    name = str(ref).strip()
    aliases: dict[str, int] = snapshot.get("aliases", {})
    if name in aliases:
        return int(aliases[name])
    by_scorer = [int(v) for v, info in versions.items() if info.get("scorer") == name]
    return max(by_scorer) if by_scorer else None


def describe(snapshot: dict[str, Any]) -> str:
    """`v1 (points), v2 (predictive); aliases champion->v2`: what exists, for not-found messages."""
    versions = snapshot.get("versions", {})
    if not versions:
        return "no versions are registered yet"
    listed = ", ".join(
        f"v{v}" + (f" ({versions[v].get('scorer')})" if versions[v].get("scorer") else "")
        for v in sorted(versions, key=int)
    )
    aliases = snapshot.get("aliases", {})
    shown = ", ".join(f"{a}->v{v}" for a, v in sorted(aliases.items()))
    return f"existing versions: {listed}" + (f"; aliases {shown}" if shown else "")
