"""A workspace is a folder: copied elsewhere and the original deleted, it still loads its models and scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def call(*args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_a_copied_workspace_scores_after_the_original_is_deleted(tmp_path: Path) -> None:
    original = tmp_path / "first" / "ws"
    call("init", str(original))
    call("simulate", "--workspace", str(original), "--leads", "2000", "--seed", "4")
    call("ingest", "--workspace", str(original))
    trained = call("train", "--model", "points", "--workspace", str(original))
    call("models", "promote", str(trained["version"]), "--workspace", str(original), "--force", "--reason", "test")

    moved = tmp_path / "elsewhere" / "ws"
    shutil.copytree(original, moved)
    shutil.rmtree(tmp_path / "first")  # mlflow.db still names artifact paths under the deleted folder
    shutil.rmtree(moved / ".leadops")  # no cached copy either: the version's files come from the store itself

    scored = call("score", "--workspace", str(moved), "--as-of", "2026-01-01")
    assert scored["status"] == "published" and scored["model_version"] == trained["version"]
    assert scored["leads_scored"] > 0
    local = moved / ".leadops" / "models" / "lead_score" / str(trained["version"])
    assert (local / "manifest.json").is_file()  # fetched from the moved store and verified
    shown = call("models", "show", "champion", "--workspace", str(moved))
    assert shown["version"] == trained["version"]
