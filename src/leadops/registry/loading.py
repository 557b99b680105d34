"""Load a registered scorer's plain files by version, alias or scorer name: fast, local, never unpickling.

With a warm cache (`<workspace>/.leadops/registry.json` + the version's directory) this imports neither
mlflow nor anything heavier than the settings: a scoring process resolves `champion` in milliseconds.
Cold (or with refresh=True) it asks MLflow, downloads the artifact once and verifies it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from leadops.config import Settings
from leadops.errors import NotFoundError
from leadops.redaction import redact_text
from leadops.registry import cache, store
from leadops.registry.errors import ArtifactIntegrityError, RegistryError, RegistryUnavailableError
from leadops.registry.integrity import verify_artifact


def load_artifact_dir(settings: Settings, ref: str | int, *, refresh: bool = False) -> Path:
    """A local, verified directory holding the artifact files of the version `ref` names."""
    model = settings.registry.model_name
    uri = store.tracking_uri(settings)
    if not refresh:
        snapshot = cache.read_snapshot(settings, store.cache_key(uri), model)
        if snapshot is not None:
            version = cache.resolve_in(snapshot, ref)
            if version is not None:
                info = snapshot["versions"][str(version)]
                target = cache.version_dir(settings, model, version)
                if target.is_dir():
                    try:
                        verify_artifact(target, info.get("artifact_digest"))
                        return target
                    except ArtifactIntegrityError:
                        shutil.rmtree(target)  # a damaged cache copy: fetch it again from MLflow
    return _fetch(settings, ref)


def _fetch(settings: Settings, ref: str | int) -> Path:
    """Resolve through MLflow (refreshing the alias cache), download the version once, verify it."""
    from leadops.registry.registry import Registry

    registry = Registry(settings, None)
    version = registry.resolve(ref)
    path = version.tags.get("leadops.artifact_path")
    if not version.run_id or not path:
        raise RegistryError(
            f"{registry.model_name} {version.label()} was not registered by leadops "
            "(no leadops.artifact_path tag); expected a version made by `leadops train`"
        )
    target = cache.version_dir(settings, registry.model_name, version.version)
    if target.is_dir():
        try:
            verify_artifact(target, version.artifact_digest)
            return target
        except ArtifactIntegrityError:
            shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        local = Path(_download(registry.client, registry.uri, settings.workspace, version.run_id, path, tmp))
        verify_artifact(local, version.artifact_digest)
        try:
            local.rename(target)  # the verified files themselves move: no need to hash them again
        except OSError:
            if not target.is_dir():  # another process may have placed the same verified copy first
                raise
            verify_artifact(target, version.artifact_digest)  # its copy, not ours: check it
    return target


def _download(client: Any, uri: str, workspace: Path, run_id: str, path: str, into: str) -> str:
    """The version's files in `into`: copied from the workspace's own store when local, else downloaded."""
    if store.is_database(uri):
        run = client.get_run(run_id)
        here = store.local_run_artifacts(uri, workspace, str(run.info.artifact_uri or ""), run_id)
        if here is not None and (here / path).is_dir():  # a moved workspace: the store's paths are the old ones
            target = Path(into) / Path(path).name
            shutil.copytree(here / path, target)
            return str(target)
    try:
        return str(client.download_artifacts(run_id, path, into))
    except RegistryUnavailableError:
        raise
    except Exception as exc:
        raise NotFoundError(f"cannot download artifact '{path}' of run {run_id}: {redact_text(str(exc))}") from exc
