"""train -> validate -> promote -> rollback through the CLI, each step recorded in the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()


def call(*args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> str:
    ws = tmp_path_factory.mktemp("lifecycle") / "ws"
    call("init", str(ws))
    call("simulate", "--workspace", str(ws), "--leads", "8000", "--seed", "3")
    call("ingest", "--workspace", str(ws))
    return str(ws)


@pytest.mark.slow
def test_train_validate_promote_rollback_are_audited(workspace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADOPS_ACTOR", "ana@sales-ops")
    points = call("train", "--model", "points", "--workspace", workspace)
    for key in (
        "model",
        "train_rows",
        "test_rows",
        "auc",
        "pr_auc",
        "brier",
        "log_loss",
        "ece",
        "leakage_flags",
        "artifact",
        "oracle_auc",
        "version",
    ):
        assert key in points, key
    assert Path(points["artifact"], "manifest.json").exists()
    assert 0.5 < points["auc"] <= points["oracle_auc"] + 0.02
    assert points["leakage_flags"] == {} and points["leakage"] == []  # the normal export: no honest field flagged

    verdict = call("validate", str(points["version"]), "--workspace", workspace)
    assert verdict["passed"] is True and "min_train_rows" in verdict["gates"]
    call("models", "promote", str(points["version"]), "--workspace", workspace)

    predictive = call("train", "--model", "predictive", "--workspace", workspace)
    evaluation = call("evaluate", "predictive", "--workspace", workspace)
    for key in ("auc", "ece", "captured_at_capacity", "revenue_at_capacity", "groups"):
        assert key in evaluation, key
    assert evaluation["champion_version"] == points["version"]
    if predictive["gates_passed"]:
        call("models", "promote", "predictive", "--workspace", workspace)
    else:
        call("models", "promote", "predictive", "--workspace", workspace, "--force", "--reason", "test")

    listed = call("models", "list", "--workspace", workspace)
    champion = [v for v in listed["versions"] if "champion" in (v.get("aliases") or [])]
    assert [v["version"] for v in champion] == [predictive["version"]]

    back = call("models", "rollback", "--workspace", workspace, "--reason", "Sales saw odd MQLs")
    assert back["champion"]["version"] == points["version"]

    history = call("models", "history", "--workspace", workspace)["entries"]
    actions = [(e["action"], e["version"]) for e in history]
    assert ("register", points["version"]) in actions and ("register", predictive["version"]) in actions
    promotions = [e for e in history if e["action"] in ("promote", "force_promote")]
    assert [e["version"] for e in promotions] == [points["version"], predictive["version"]]
    assert promotions[1]["previous_version"] == points["version"]
    rollback = [e for e in history if e["action"] == "rollback"]
    assert rollback and rollback[-1]["version"] == points["version"] and rollback[-1]["reason"] == "Sales saw odd MQLs"
    assert all(e["actor"] == "ana@sales-ops" for e in history if e["action"] != "register" or e["actor"])


def test_force_without_reason_is_refused(workspace: str) -> None:
    result = runner.invoke(app, ["models", "promote", "1", "--workspace", workspace, "--force", "--json"])
    assert result.exit_code != 0
    assert "reason" in result.output
