"""Artifact integrity without unpickling anything: manifest hashes and a digest of the whole tree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from leadops.registry.errors import ArtifactIntegrityError
from leadops.scorers.artifacts import sha256_file

MANIFEST = "manifest.json"


def file_hashes(path: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file under `path` (manifest included), sorted."""
    return {p.relative_to(path).as_posix(): sha256_file(p) for p in sorted(path.rglob("*")) if p.is_file()}


def tree_digest(path: Path) -> str:
    """One sha256 naming the exact set of files and their bytes: what the registry records per version."""
    return digest_of(file_hashes(path))


def digest_of(hashes: dict[str, str]) -> str:
    """The tree digest of a path -> sha256 mapping (order-independent)."""
    digest = hashlib.sha256()
    for rel in sorted(hashes):
        digest.update(f"{rel}\0{hashes[rel]}\n".encode())
    return digest.hexdigest()


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The artifact's manifest.json as data, None when the directory has none."""
    mpath = path / MANIFEST
    if not mpath.is_file():
        return None
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactIntegrityError(f"{mpath} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ArtifactIntegrityError(f"{mpath}: expected a JSON object, got {type(data).__name__}")
    return data


def verify_artifact(path: Path, expected_digest: str | None = None) -> dict[str, Any] | None:
    """Check the manifest's file hashes (if listed) and the tree digest (if known); return the manifest."""
    if not path.is_dir():
        raise ArtifactIntegrityError(f"artifact {path} is not a directory; expected a scorer artifact directory")
    manifest = read_manifest(path)
    hashes = file_hashes(path)
    listed = manifest.get("files") if manifest else None
    if isinstance(listed, dict):
        for rel, expected in listed.items():
            got = hashes.get(rel)
            if got is None:
                raise ArtifactIntegrityError(f"{path / rel} is listed in {path / MANIFEST} but missing")
            if got != expected:
                raise ArtifactIntegrityError(
                    f"{path / rel} failed its hash check: expected sha256 {expected}, got {got}"
                )
        extra = sorted(set(hashes) - set(listed) - {MANIFEST})
        if extra:
            raise ArtifactIntegrityError(f"{path} holds files not listed in its manifest: {extra}")
    if expected_digest is not None:
        got_digest = digest_of(hashes)
        if got_digest != expected_digest:
            raise ArtifactIntegrityError(
                f"{path}: the directory's digest is {got_digest}, expected {expected_digest} as registered"
            )
    return manifest
