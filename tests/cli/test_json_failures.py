"""With --json every failure is exactly one JSON object on stdout: {"ok": false, "error": ..., "exit_code": N}."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadops import cli
from leadops.cli import app
from leadops.errors import INTERNAL_EXIT, USAGE_EXIT, ConfigError, WorkspaceError

runner = CliRunner()


def _failure(args: list[str], code: int) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got {result.stdout!r}"
    body = json.loads(lines[0])
    assert set(body) == {"ok", "error", "exit_code"} and body["ok"] is False and body["exit_code"] == code
    assert "Traceback" not in result.output and "\n" not in body["error"]
    return body


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("jsonfail") / "ws"
    assert runner.invoke(app, ["init", str(ws), "--json"]).exit_code == 0
    return ws


def test_a_missing_workspace_is_one_json_object_naming_the_fix(tmp_path: Path) -> None:
    body = _failure(["ingest", "--workspace", str(tmp_path)], WorkspaceError.exit_code)
    assert "leadops init" in body["error"]


def test_an_unknown_scenario_and_a_bad_engine_are_config_errors(workspace: Path) -> None:
    body = _failure(["simulate", "--workspace", str(workspace), "--scenario", "nope"], ConfigError.exit_code)
    assert "baseline" in body["error"]
    body = _failure(["score", "--workspace", str(workspace), "--engine", "flink"], ConfigError.exit_code)
    assert "--engine" in body["error"]


def test_promote_force_without_a_reason_is_one_json_object(workspace: Path) -> None:
    body = _failure(["models", "promote", "1", "--workspace", str(workspace), "--force"], ConfigError.exit_code)
    assert "--reason" in body["error"]


def test_a_moved_config_key_is_one_json_object_saying_where_it_went(workspace: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    moved.mkdir()
    text = (workspace / "leadops.yaml").read_text().replace("\nrouting:\n", "\nrouting:\n  threshold: 70\n", 1)
    (moved / "leadops.yaml").write_text(text)
    body = _failure(["config", "show", "--workspace", str(moved)], ConfigError.exit_code)
    assert "key 'routing.threshold' moved to 'business.mql_threshold'" in body["error"]


def test_an_unexpected_error_is_one_line_with_the_internal_exit_code_and_a_log(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("leadops.config.effective", broken)
    body = _failure(["config", "show", "--workspace", str(workspace)], INTERNAL_EXIT)
    assert "internal error: RuntimeError: disk on fire" in body["error"] and "leadops-error.log" in body["error"]
    human = runner.invoke(app, ["config", "show", "--workspace", str(workspace)])
    assert human.exit_code == INTERNAL_EXIT and "Traceback" not in human.output
    assert human.output.count("\n") == 1 and "disk on fire" in human.output
    debug = runner.invoke(app, ["--debug", "config", "show", "--workspace", str(workspace)])
    assert isinstance(debug.exception, RuntimeError), "--debug lets the traceback through"
    cli._DEBUG["on"] = False


def test_a_usage_error_through_the_entry_point_is_one_json_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["leadops", "score", "--no-such-option", "--json"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == USAGE_EXIT
    body = json.loads(capsys.readouterr().out.strip())
    assert body["ok"] is False and body["exit_code"] == USAGE_EXIT and "--no-such-option" in body["error"]
