"""`leadops keys create|list|revoke`: the key printed once, never listed, revoked by id; failures one JSON line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadops import cli
from leadops.cli import app
from leadops.errors import USAGE_EXIT, NotFoundError, WorkspaceError
from leadops.serving.keys import KeyStore, KeyStoreError, Role, keys_path

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--json"]).exit_code == 0
    return ws


def _json(args: list[str], code: int = 0) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def test_create_prints_the_key_once_and_it_verifies_with_its_role(workspace: Path) -> None:
    created = _json(["keys", "create", "--role", "scorer", "--name", "crm", "--workspace", str(workspace)])
    assert {"key", "role", "id"} <= set(created) and created["role"] == "scorer"
    assert created["key"].startswith(f"lo_{created['id']}_")
    record = KeyStore.for_workspace(workspace).verify(created["key"])
    assert record is not None and record.role is Role.SCORER and record.name == "crm"

    human = runner.invoke(app, ["keys", "create", "--role", "admin", "-w", str(workspace)])
    assert human.exit_code == 0, human.output
    key = human.stdout.strip()
    assert key.startswith("lo_") and "\n" not in key, "stdout holds the key alone (for $(leadops keys create ...))"
    assert "not shown again" in human.stderr and key not in human.stderr
    verified = KeyStore.for_workspace(workspace).verify(key)
    assert verified is not None and verified.role is Role.ADMIN


def test_list_shows_ids_names_and_roles_never_a_key_or_hash(workspace: Path) -> None:
    keys = [_json(["keys", "create", "--role", role.value, "-w", str(workspace)]) for role in Role]
    listed = _json(["keys", "list", "-w", str(workspace)])["keys"]
    assert [k["id"] for k in listed] == [k["id"] for k in keys]
    assert [k["role"] for k in listed] == ["viewer", "scorer", "admin"]
    assert all(set(k) == {"id", "name", "role", "created_at", "last_used_at", "revoked_at"} for k in listed)
    human = runner.invoke(app, ["keys", "list", "-w", str(workspace)])
    assert human.exit_code == 0
    for shown in (json.dumps(listed), human.stdout):
        assert "pbkdf2" not in shown
        for created in keys:
            assert created["key"] not in shown and created["key"].split("_", 2)[2][:12] not in shown


def test_revoke_by_id_refuses_the_key_and_shows_when(workspace: Path) -> None:
    created = _json(["keys", "create", "--role", "viewer", "-w", str(workspace)])
    store = KeyStore.for_workspace(workspace)
    assert store.verify(created["key"]) is not None
    revoked = _json(["keys", "revoke", created["id"], "-w", str(workspace)])
    assert revoked["id"] == created["id"] and revoked["revoked_at"] is not None
    assert KeyStore.for_workspace(workspace).verify(created["key"]) is None
    assert _json(["keys", "list", "-w", str(workspace)])["keys"][0]["revoked_at"] == revoked["revoked_at"]


def test_failures_are_one_json_object_with_the_documented_exit_code(workspace: Path, tmp_path: Path) -> None:
    body = _json(["keys", "revoke", "0123456789ab", "-w", str(workspace)], NotFoundError.exit_code)
    assert body["ok"] is False and "0123456789ab" in body["error"] and "leadops keys list" in body["error"]
    body = _json(["keys", "list", "-w", str(tmp_path / "nowhere")], WorkspaceError.exit_code)
    assert body["ok"] is False and "leadops init" in body["error"]
    body = _json(
        ["keys", "create", "--role", "viewer", "--name", "x" * 300, "-w", str(workspace)], KeyStoreError.exit_code
    )
    assert body["ok"] is False and "name" in body["error"]
    human = runner.invoke(app, ["keys", "revoke", "0123456789ab", "-w", str(workspace)])
    assert human.exit_code == NotFoundError.exit_code and human.stderr.startswith("error: no API key")
    assert not keys_path(tmp_path / "nowhere").exists()


def test_an_unknown_role_is_a_usage_error_through_the_entry_point(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["leadops", "keys", "create", "--role", "boss", "-w", str(workspace), "--json"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == USAGE_EXIT
    body = json.loads(capsys.readouterr().out.strip())
    assert body["ok"] is False and body["exit_code"] == USAGE_EXIT and "boss" in body["error"]
    assert "viewer" in body["error"]


def test_keys_is_in_the_top_level_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "keys" in result.stdout
    assert "API keys" in result.stdout
