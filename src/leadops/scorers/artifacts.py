"""Scorer artifact directories: plain files plus manifest.json with sha256 hashes, verified before loading."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from leadops.errors import ScorerError

MANIFEST = "manifest.json"
FORMAT = "leadops-scorer"
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def prepare_dir(path: Path, *, overwrite: bool) -> None:
    """Create an empty artifact directory; replace an existing artifact only when asked to."""
    if path.exists():
        if not path.is_dir():
            raise ScorerError(f"save: {path} exists and is not a directory; expected a directory path for the artifact")
        if any(path.iterdir()):
            if not overwrite:
                raise ScorerError(f"save: {path} is not empty; expected a new or empty directory (or overwrite=True)")
            if not (path / MANIFEST).is_file():
                raise ScorerError(f"save: {path} is not empty and holds no {MANIFEST}; refusing to replace it")
            shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)


def _listed_files(path: Path) -> list[str]:
    top = path / MANIFEST
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() and p != top)


def write_manifest(path: Path, body: dict[str, Any]) -> None:
    """Hash every file under `path` (sub-artifacts included) and write manifest.json last."""
    files = {rel: sha256_file(path / rel) for rel in _listed_files(path)}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **body, "files": files}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")


def read_manifest(path: Path) -> dict[str, Any]:
    """Read manifest.json and verify every listed hash; unlisted or missing files are errors too."""
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ScorerError(f"load: {mpath} not found; expected a scorer artifact directory written by Scorer.save")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScorerError(f"load: {mpath} is not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise ScorerError(f"load: {mpath} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise ScorerError(
            f"load: {mpath} has format_version {manifest.get('format_version')}, expected <= {FORMAT_VERSION}"
        )
    listed: dict[str, str] = manifest.get("files", {})
    present = set(_listed_files(path))
    for rel, expected in listed.items():
        fpath = path / rel
        if not fpath.is_file():
            raise ScorerError(f"load: {fpath} is listed in {mpath} but missing")
        got = sha256_file(fpath)
        if got != expected:
            raise ScorerError(f"load: {fpath} failed its hash check: expected sha256 {expected}, got {got}")
    extra = sorted(present - set(listed))
    if extra:
        raise ScorerError(f"load: {path} holds files not listed in its manifest: {extra}")
    return manifest
