"""`leadops retrain`: skipped when no trigger fires, else a new version promoted through the gates or kept a
challenger, every decision in the audit log."""

from __future__ import annotations

from pathlib import Path

from conftest import cli


def _history(ws: Path) -> list[dict]:  # type: ignore[type-arg]
    return cli("models", "history", "--workspace", str(ws))["entries"]  # type: ignore[no-any-return]


def test_no_trigger_no_training_and_the_skip_is_audited(monitored: Path) -> None:
    before = cli("models", "list", "--workspace", str(monitored))["versions"]
    out = cli("retrain", "--workspace", str(monitored), "--as-of", "2025-09-08")
    assert out["decision"] == "skipped" and out["version"] is None and out["triggers"] == []
    assert cli("models", "list", "--workspace", str(monitored))["versions"] == before
    last = _history(monitored)[-1]
    assert last["action"] == "retrain" and last["reason"].startswith("skipped")


def test_an_old_champion_is_retrained_and_kept_as_a_challenger_for_review(monitored: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEADOPS_RETRAINING__EVERY_DAYS", "30")
    out = cli("retrain", "--workspace", str(monitored), "--as-of", "2026-06-01")
    assert out["decision"] == "challenger" and out["version"] is not None
    assert any("every_days: 30" in t for t in out["triggers"])
    listed = cli("models", "list", "--workspace", str(monitored))["versions"]
    new = next(v for v in listed if v["version"] == out["version"])
    assert "challenger" in new["aliases"] and out["champion_version"] != out["version"]
    actions = [(e["action"], e["version"]) for e in _history(monitored)]
    assert ("register", out["version"]) in actions and ("set_challenger", out["version"]) in actions
    assert actions[-1] == ("retrain", out["version"])


def test_with_action_promote_a_version_that_passes_every_gate_becomes_champion(monitored: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEADOPS_RETRAINING__ACTION", "promote")
    out = cli("retrain", "--workspace", str(monitored), "--force")
    assert "forced (--force)" in out["triggers"]
    champion = [
        v["version"]
        for v in cli("models", "list", "--workspace", str(monitored))["versions"]
        if "champion" in v["aliases"]
    ]
    if out["gates_passed"]:
        assert out["decision"] == "promoted" and champion == [out["version"]]
    else:
        assert (
            out["decision"] == "challenger"
            and champion == [out["champion_version"]]
            and "failed gates" in out["reason"]
        )
