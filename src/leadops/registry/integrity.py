"""Artifact integrity without unpickling anything: manifest hashes and a digest of the whole tree."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from leadops.errors import ScorerError
from leadops.registry.errors import ArtifactIntegrityError
from leadops.scorers.artifacts import MANIFEST, read_manifest, sha256_file


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


def verify_artifact(path: Path, expected_digest: str | None = None) -> dict[str, Any] | None:
    """Check the manifest's file hashes (if listed) and the tree digest (if known); return the manifest body.

    Every file is read and hashed once: both checks use the same hashes."""
    if not path.is_dir():
        raise ArtifactIntegrityError(f"artifact {path} is not a directory; expected a scorer artifact directory")
    hashes = file_hashes(path) if expected_digest is not None else None
    manifest = None
    if (path / MANIFEST).is_file():
        try:
            manifest = read_manifest(path, verify=True, strict=False, hashes=hashes)
        except ScorerError as exc:
            raise ArtifactIntegrityError(exc.message) from exc
    if hashes is not None:
        got_digest = digest_of(hashes)
        if got_digest != expected_digest:
            raise ArtifactIntegrityError(
                f"{path}: the directory's digest is {got_digest}, expected {expected_digest} as registered"
            )
    return None if manifest is None else manifest.body
