"""Artifact directories: plain files plus manifest.json with sha256 hashes; the one manifest reader and writer.

Every part that looks into a model directory (load_scorer, the bundle, the registry's integrity check, the
nightly job) reads manifest.json through `read_manifest`, which returns a typed `Manifest`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from leadops.errors import ScorerError

MANIFEST = "manifest.json"
FORMAT = "leadops-scorer"
FORMAT_VERSION = 1

JSON: TypeAlias = "dict[str, JSON] | list[JSON] | str | int | float | bool | None"


@dataclass(frozen=True)
class Manifest:
    """manifest.json as typed fields; `body` keeps every key (bundle section and extras included)."""

    path: Path
    scorer_type: str | None
    leadops_version: str | None
    feature_names: tuple[str, ...]
    feature_dtypes: dict[str, str]
    files: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def bundle(self) -> dict[str, Any] | None:
        """The bundle section (fitted feature spec, summaries, lineage, extras), None for a bare scorer."""
        section = self.body.get("bundle")
        return section if isinstance(section, dict) else None

    def without_files(self) -> dict[str, Any]:
        """The body minus format and file hashes: what a rewrite of the manifest starts from."""
        return {k: v for k, v in self.body.items() if k not in ("format", "format_version", "files")}


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


def _parse(path: Path) -> dict[str, Any]:
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ScorerError(f"load: {mpath} not found; expected a model directory written by leadops (manifest.json)")
    try:
        data = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScorerError(f"load: {mpath} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ScorerError(f"load: {mpath}: expected a JSON object, got {type(data).__name__}")
    return data


def verify_files(path: Path, listed: dict[str, str], hashes: Mapping[str, str] | None = None) -> None:
    """Every listed file is present with its sha256, and no unlisted file lies beside them.

    `hashes` (relative path -> sha256 of the files under `path`, as the caller just read them) spares hashing
    every file a second time when the caller needs the hashes anyway (the registry's tree digest)."""
    mpath = path / MANIFEST
    for rel, expected in listed.items():
        fpath = path / rel
        if not fpath.is_file():
            raise ScorerError(f"load: {fpath} is listed in {mpath} but missing")
        known = None if hashes is None else hashes.get(rel)
        got = known if known is not None else sha256_file(fpath)
        if got != expected:
            raise ScorerError(f"load: {fpath} failed its hash check: expected sha256 {expected}, got {got}")
    extra = sorted(set(_listed_files(path)) - set(listed))
    if extra:
        raise ScorerError(f"load: {path} holds files not listed in its manifest: {extra}")


def read_manifest(
    path: Path, *, verify: bool = True, strict: bool = True, hashes: Mapping[str, str] | None = None
) -> Manifest:
    """manifest.json of a model directory, typed; with `verify` every listed hash is checked first.

    `strict` also requires leadops' format tag (artifacts written by `Scorer.save`); the job's test doubles
    and foreign loaders pass strict=False and need only `feature_names`. `hashes`: see verify_files.
    """
    path = Path(path)
    data = _parse(path)
    mpath = path / MANIFEST
    if strict:
        if data.get("format") != FORMAT:
            raise ScorerError(f"load: {mpath} has format {data.get('format')!r}, expected {FORMAT!r}")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise ScorerError(
                f"load: {mpath} has format_version {data.get('format_version')}, expected <= {FORMAT_VERSION}"
            )
    listed = data.get("files")
    if verify and isinstance(listed, dict):
        verify_files(path, {str(k): str(v) for k, v in listed.items()}, hashes)
    elif verify and strict:
        raise ScorerError(f"load: {mpath} lists no file hashes; expected a 'files' object written by leadops")
    names = data.get("feature_names")
    if not isinstance(names, list) or not names:
        raise ScorerError(f"load: {mpath}: expected a non-empty 'feature_names' list, got {names!r}")
    dtypes = data.get("feature_dtypes") or {}
    return Manifest(
        path=path,
        scorer_type=None if data.get("scorer_type") is None else str(data["scorer_type"]),
        leadops_version=None if data.get("leadops_version") is None else str(data["leadops_version"]),
        feature_names=tuple(str(n) for n in names),
        feature_dtypes={str(k): str(v) for k, v in dtypes.items()} if isinstance(dtypes, dict) else {},
        files={str(k): str(v) for k, v in listed.items()} if isinstance(listed, dict) else {},
        body=data,
    )
