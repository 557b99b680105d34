"""Loading a version's plain files by alias: local cache, hash-verified, no mlflow when warm, no pickle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadops.registry import ArtifactIntegrityError, Registry, load_artifact_dir
from leadops.registry.cache import cache_file, version_dir
from leadops.registry.integrity import file_hashes, verify_artifact

PASSED = {"auc_min": {"passed": True}}

# Runs in a fresh interpreter: forbids every unpickling entry point, records pickle's audit events,
# loads the champion by alias and reports what it found and which heavy modules it imported.
CHILD = r"""
import json, pickle, sys
events = []
sys.addaudithook(lambda name, args: events.append(name) if name.startswith("pickle.") else None)
def refuse(*args, **kwargs):
    raise AssertionError("pickle used on the load path")
if sys.argv[3] == "strict":  # the warm path: unpickling must be impossible, not merely unobserved
    pickle.load = pickle.loads = refuse
    pickle.Unpickler = refuse
from leadops.config import load
from leadops.registry import load_artifact_dir
from leadops.registry.integrity import file_hashes
path = load_artifact_dir(load(sys.argv[1]), sys.argv[2])
print(json.dumps({
    "path": str(path),
    "files": file_hashes(path),
    "params": (path / "params.json").read_text(),
    "mlflow": "mlflow" in sys.modules,
    "pickle_events": events,
}))
"""


def load_in_fresh_process(workspace: Path, model_name: str, ref: str, *, strict: bool = True) -> dict[str, Any]:
    """Run CHILD in a new interpreter against the workspace; the model name comes through LEADOPS_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADOPS_")}
    env["LEADOPS_REGISTRY__MODEL_NAME"] = model_name
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(workspace), ref, "strict" if strict else "observe"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def champion_setup(two_versions: Registry) -> Registry:
    """v1 champion, v2 challenger."""
    two_versions.promote(1, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    two_versions.set_challenger(2, "ana")
    return two_versions


def test_load_downloads_once_into_the_workspace_cache_and_matches_the_registered_files(
    champion_setup: Registry, tmp_path: Path
) -> None:
    settings = champion_setup.settings
    path = load_artifact_dir(settings, "champion")
    assert path == version_dir(settings, champion_setup.model_name, 1)
    assert file_hashes(path) == file_hashes(tmp_path / "points")
    stamp = (path / "params.json").stat().st_mtime_ns
    assert load_artifact_dir(settings, "champion") == path
    assert (path / "params.json").stat().st_mtime_ns == stamp  # served from the cache, not downloaded again
    assert file_hashes(load_artifact_dir(settings, "challenger")) == file_hashes(tmp_path / "predictive")


def test_load_by_alias_in_a_fresh_process_gives_identical_files_without_mlflow_or_pickle(
    champion_setup: Registry, workspace: Path, tmp_path: Path
) -> None:
    load_artifact_dir(champion_setup.settings, "champion")  # warm the cache (download)
    child = load_in_fresh_process(workspace, champion_setup.model_name, "champion")
    assert child["files"] == file_hashes(tmp_path / "points")
    assert child["params"] == (tmp_path / "points" / "params.json").read_text()
    assert child["mlflow"] is False
    assert child["pickle_events"] == []


def test_fresh_process_follows_a_promotion_made_by_another_process(
    champion_setup: Registry, workspace: Path, tmp_path: Path
) -> None:
    load_artifact_dir(champion_setup.settings, "challenger")
    champion_setup.promote(2, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    child = load_in_fresh_process(workspace, champion_setup.model_name, "champion")
    assert child["files"] == file_hashes(tmp_path / "predictive")
    assert child["mlflow"] is False


@pytest.mark.slow
def test_cold_fresh_process_without_any_cache_resolves_through_mlflow_and_rebuilds_the_cache(
    champion_setup: Registry, workspace: Path, tmp_path: Path
) -> None:
    settings = champion_setup.settings
    shutil.rmtree(version_dir(settings, champion_setup.model_name, 1), ignore_errors=True)
    cache_file(settings).unlink()
    child = load_in_fresh_process(workspace, champion_setup.model_name, "champion", strict=False)
    assert child["files"] == file_hashes(tmp_path / "points")
    assert child["mlflow"] is True
    assert child["pickle_events"] == []
    assert cache_file(settings).exists()
    warm = load_in_fresh_process(workspace, champion_setup.model_name, "champion")
    assert warm["mlflow"] is False and warm["files"] == child["files"]


def test_a_tampered_cache_copy_is_detected_and_fetched_again(champion_setup: Registry, tmp_path: Path) -> None:
    settings = champion_setup.settings
    path = load_artifact_dir(settings, "champion")
    (path / "params.json").write_text('{"weights": {"a": 1000}}')
    with pytest.raises(ArtifactIntegrityError, match=r"params\.json failed its hash check"):
        verify_artifact(path)
    again = load_artifact_dir(settings, "champion")
    assert file_hashes(again) == file_hashes(tmp_path / "points")


def test_an_extra_file_in_the_cache_copy_is_detected(champion_setup: Registry) -> None:
    path = load_artifact_dir(champion_setup.settings, "champion")
    digest = champion_setup.resolve("champion").artifact_digest
    (path / "extra.py").write_text("print('hi')")
    with pytest.raises(ArtifactIntegrityError, match=r"not listed in its manifest"):
        verify_artifact(path, digest)
    (path / "extra.py").unlink()
    verify_artifact(path, digest)


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count sha256_file calls per file, wherever the registry and the scorers call it from."""
    from leadops.registry import integrity
    from leadops.scorers import artifacts

    real = artifacts.sha256_file
    calls: dict[str, int] = {}

    def counted(path: Path) -> str:
        calls[str(path)] = calls.get(str(path), 0) + 1
        return real(path)

    monkeypatch.setattr(artifacts, "sha256_file", counted)
    monkeypatch.setattr(integrity, "sha256_file", counted)
    return calls


def test_a_cached_version_is_verified_reading_each_file_once(
    champion_setup: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = champion_setup.settings
    path = load_artifact_dir(settings, "champion")
    calls = _count_hashing(monkeypatch)
    assert load_artifact_dir(settings, "champion") == path
    assert calls == {str(p): 1 for p in path.rglob("*") if p.is_file()}


def test_with_the_registered_digest_a_changed_file_still_fails_its_own_hash_check(champion_setup: Registry) -> None:
    path = load_artifact_dir(champion_setup.settings, "champion")
    digest = champion_setup.resolve("champion").artifact_digest
    (path / "params.json").write_text('{"weights": {"a": 1000}}')
    with pytest.raises(ArtifactIntegrityError, match=r"params\.json failed its hash check"):
        verify_artifact(path, digest)
