"""A served version's files are hashed once when the service loads it (the registry's check), not again."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadops.config import load
from leadops.registry import integrity
from leadops.registry.loading import load_artifact_dir
from leadops.scorers import artifacts
from leadops.serving.slot import ModelSlot


def test_loading_the_champion_for_serving_hashes_each_file_once(company: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(company)
    path = load_artifact_dir(settings, "champion")  # warm the cache: only loading is counted
    real = artifacts.sha256_file
    calls: dict[str, int] = {}

    def counted(file: Path) -> str:
        calls[str(file)] = calls.get(str(file), 0) + 1
        return real(file)

    monkeypatch.setattr(artifacts, "sha256_file", counted)
    monkeypatch.setattr(integrity, "sha256_file", counted)
    slot = ModelSlot(settings, shadow=False)
    slot.refresh(force=True)
    assert slot.version is not None
    files = {str(p) for p in path.rglob("*") if p.is_file()}
    assert files and calls == {f: 1 for f in files}
