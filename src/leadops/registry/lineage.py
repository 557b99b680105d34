"""What a registered version records about where it came from: data, features, config, code, artifact."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import leadops
from leadops.config import Settings
from leadops.hashing import config_hash
from leadops.registry.errors import RegistryError

REQUIRED = ("training_set_digest", "training_set_rows", "feature_spec_hash")
MANIFEST_KEYS = ("scorer_type", "feature_names", "leadops_version", "format", "format_version")


@functools.cache
def git_commit() -> str | None:
    """The commit of the leadops source tree when it runs from a git checkout (read-only `git rev-parse`)."""
    here = Path(leadops.__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def build(
    settings: Settings, given: dict[str, Any], manifest: dict[str, Any] | None, artifact_digest: str
) -> dict[str, Any]:
    """The lineage of one training: the caller's facts, the manifest's, the code's and the artifact digest."""
    missing = [key for key in REQUIRED if given.get(key) in (None, "")]
    if missing:
        raise RegistryError(
            f"lineage is missing {missing}; expected the training set's digest and size and the "
            "feature-spec hash "
            f"(got keys {sorted(given)})"
        )
    found: dict[str, Any] = {}
    if manifest:
        found = {f"manifest_{key}": manifest[key] for key in MANIFEST_KEYS if key in manifest}
    return {
        **found,
        "config_hash": config_hash(settings),
        "leadops_version": leadops.__version__,
        "git_commit": git_commit(),
        "artifact_digest": artifact_digest,
        **given,
    }
