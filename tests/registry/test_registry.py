"""Registering, resolving, promoting, challenging and rolling back versions, every change audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadops.errors import GateFailedError, NotFoundError
from leadops.registry import Registry, RegistryError
from leadops.registry.audit import champion_stack
from leadops.registry.cache import cache_file
from leadops.registry.store import tracking_uri

PASSED = {"auc_min": {"passed": True}, "lift_min": {"passed": True}}


def test_default_sqlite_uri_is_made_absolute_inside_the_workspace(registry: Registry, workspace: Path) -> None:
    assert registry.uri == f"sqlite:///{(workspace / 'mlflow.db').resolve()}"
    other = registry.settings.model_copy(update={"registry": registry.settings.registry.model_copy()})
    other.registry.uri = "http://mlflow.example:5000"
    assert tracking_uri(other) == "http://mlflow.example:5000"


def test_training_registers_a_version_with_scorer_tag_metrics_params_and_lineage(
    two_versions: Registry,
) -> None:
    versions = two_versions.list_versions()
    assert [(v.version, v.scorer) for v in versions] == [(1, "points"), (2, "predictive")]
    shown = two_versions.show(2)
    assert shown.tags["scorer"] == "predictive"
    assert shown.metrics["auc"] == pytest.approx(0.7101)
    assert shown.metrics["lift.top_decile"] == 2.5
    assert shown.params["scorer.type"] == "lightgbm"
    assert shown.lineage["training_set_rows"] == 101
    assert shown.lineage["feature_spec_hash"] == "f" * 64
    assert shown.lineage["manifest_scorer_type"] == "lightgbm"
    assert shown.lineage["leadops_version"] == "0.1.0"
    assert len(shown.lineage["config_hash"]) == 64
    assert shown.lineage["artifact_digest"] == shown.artifact_digest
    assert shown.to_dict()["created_at"]


def test_resolve_by_number_scorer_name_and_alias(two_versions: Registry) -> None:
    assert two_versions.resolve(1).version == 1
    assert two_versions.resolve("v2").version == 2
    assert two_versions.resolve("points").version == 1
    assert two_versions.resolve("predictive").version == 2
    two_versions.promote("points", gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    two_versions.set_challenger("predictive", "ana")
    assert two_versions.resolve("champion").version == 1
    assert two_versions.resolve("challenger").version == 2
    assert [v.version for v in two_versions.challengers()] == [2]


def test_scorer_name_resolves_to_its_latest_version(
    two_versions: Registry, tmp_path: Path, make_artifact: Any, lineage_for: Any
) -> None:
    two_versions.log_training(
        "points",
        make_artifact(tmp_path / "again", "points", {"a": 9.0}),
        params={},
        metrics={"auc": 0.8},
        lineage=lineage_for(300),
        report_path=None,
        actor="trainer",
        pyfunc=False,
    )
    assert two_versions.resolve("points").version == 3


def test_unknown_ref_names_the_ref_and_existing_versions(two_versions: Registry) -> None:
    with pytest.raises(NotFoundError) as err:
        two_versions.resolve("nonesuch")
    assert "'nonesuch'" in str(err.value)
    assert "v1 (points), v2 (predictive)" in str(err.value)
    with pytest.raises(NotFoundError, match="v1 \\(points\\)"):
        two_versions.resolve(9)


def test_promote_with_passed_gates_sets_champion_and_is_audited(two_versions: Registry) -> None:
    promoted = two_versions.promote(
        2, gates_passed=True, gate_detail=PASSED, force=False, reason="better lift", actor="ana"
    )
    assert promoted.is_champion
    assert two_versions.champion() is not None and two_versions.champion().version == 2  # type: ignore[union-attr]
    last = two_versions.history()[-1]
    assert (last.action, last.version, last.previous_version, last.actor) == ("promote", 2, None, "ana")
    again = two_versions.promote(2, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="bo")
    assert again.is_champion and two_versions.history()[-1] == last  # promoting the champion changes nothing
    assert last.reason == "better lift"
    assert last.detail["gate_detail"] == PASSED


def test_promote_is_refused_when_gates_failed_and_names_them(two_versions: Registry) -> None:
    before = len(two_versions.history())
    gates = {"auc_min": {"passed": False, "value": 0.61}, "lift_min": {"passed": True}, "calibration": False}
    with pytest.raises(GateFailedError) as err:
        two_versions.promote(2, gates_passed=False, gate_detail=gates, force=False, reason=None, actor="ana")
    assert "auc_min" in str(err.value) and "calibration" in str(err.value) and "lift_min" not in str(err.value)
    with pytest.raises(GateFailedError, match="no gate result"):
        two_versions.promote(2, gates_passed=None, gate_detail=None, force=False, reason=None, actor="ana")
    assert two_versions.champion() is None
    refused = two_versions.history()[before:]
    assert [e.action for e in refused] == ["promote_refused", "promote_refused"], "refusals are audited too"
    assert refused[0].version == 2 and refused[0].actor == "ana" and "auc_min" in (refused[0].reason or "")


def test_force_without_reason_is_refused(two_versions: Registry) -> None:
    for reason in (None, "", "   "):
        with pytest.raises(RegistryError, match="needs a reason"):
            two_versions.promote(2, gates_passed=False, gate_detail=None, force=True, reason=reason, actor="ana")
    assert two_versions.champion() is None


def test_force_with_reason_promotes_and_is_audited_as_force_promote(two_versions: Registry) -> None:
    two_versions.promote(1, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    gates = {"auc_min": {"passed": False}}
    two_versions.promote(2, gates_passed=False, gate_detail=gates, force=True, reason="CEO demo", actor="bo")
    assert two_versions.champion().version == 2  # type: ignore[union-attr]
    last = two_versions.history()[-1]
    assert (last.action, last.version, last.previous_version) == ("force_promote", 2, 1)
    assert (last.actor, last.reason, last.detail["forced"]) == ("bo", "CEO demo", True)


def test_promoting_the_challenger_takes_its_challenger_alias_away(two_versions: Registry) -> None:
    two_versions.promote(1, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    two_versions.set_challenger(2, "ana", reason="shadow it")
    assert two_versions.history()[-1].action == "set_challenger"
    two_versions.promote("challenger", gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    assert two_versions.challengers() == []
    assert two_versions.show(2).aliases == ["champion"]
    with pytest.raises(RegistryError, match="is the champion"):
        two_versions.set_challenger(2, "ana")


def test_rollback_restores_the_previous_champion_and_is_audited(
    two_versions: Registry, tmp_path: Path, make_artifact: Any, lineage_for: Any
) -> None:
    two_versions.log_training(
        "points",
        make_artifact(tmp_path / "v3", "points", {"a": 3.0}),
        params={},
        metrics={},
        lineage=lineage_for(3),
        report_path=None,
        actor="trainer",
        pyfunc=False,
    )
    for version in (1, 2, 3):
        two_versions.promote(version, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    restored = two_versions.rollback("cy", "v3 broke routing")
    assert restored.version == 2 and two_versions.champion().version == 2  # type: ignore[union-attr]
    last = two_versions.history()[-1]
    assert (last.action, last.version, last.previous_version, last.actor) == ("rollback", 2, 3, "cy")
    assert last.reason == "v3 broke routing"
    assert two_versions.rollback("cy", "again").version == 1
    with pytest.raises(NotFoundError, match="no previous champion"):
        two_versions.rollback("cy", "nothing left")
    assert champion_stack(two_versions.history()) == [1]


def test_history_lists_every_step_in_order_with_who_when_why(two_versions: Registry) -> None:
    two_versions.promote(1, gates_passed=True, gate_detail=PASSED, force=False, reason="first", actor="ana")
    two_versions.set_challenger(2, "bo", reason="try it")
    two_versions.promote(2, gates_passed=False, gate_detail=None, force=True, reason="urgent", actor="cy")
    two_versions.rollback("dee", "bad morning")
    log = two_versions.history()
    assert [(e.action, e.version, e.previous_version, e.actor, e.reason) for e in log] == [
        ("register", 1, None, "trainer", None),
        ("register", 2, None, "trainer", None),
        ("promote", 1, None, "ana", "first"),
        ("set_challenger", 2, None, "bo", "try it"),
        ("force_promote", 2, 1, "cy", "urgent"),
        ("rollback", 1, 2, "dee", "bad morning"),
    ]
    assert [e.seq for e in log] == sorted(e.seq for e in log)
    times = [e.recorded_at for e in log]
    assert times == sorted(times)
    assert json.loads(json.dumps(log[-1].to_dict()))["recorded_at"] == times[-1].isoformat()


def test_every_registry_command_rewrites_the_alias_cache(two_versions: Registry) -> None:
    two_versions.promote(1, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    two_versions.promote(2, gates_passed=True, gate_detail=PASSED, force=False, reason=None, actor="ana")
    data = json.loads(cache_file(two_versions.settings).read_text())
    snapshot = data["models"][two_versions.model_name]
    assert snapshot["aliases"] == {"champion": 2}
    assert snapshot["versions"]["1"]["scorer"] == "points"
    assert snapshot["tracking_uri"] == two_versions.uri
    two_versions.rollback("ana", "no")
    snapshot = json.loads(cache_file(two_versions.settings).read_text())["models"][two_versions.model_name]
    assert snapshot["aliases"] == {"champion": 1}


def test_training_refuses_missing_lineage_and_a_corrupt_artifact(
    registry: Registry, tmp_path: Path, make_artifact: Any, lineage_for: Any
) -> None:
    artifact = make_artifact(tmp_path / "a", "points", {"a": 1.0})
    with pytest.raises(RegistryError, match="training_set_digest"):
        registry.log_training("points", artifact, params={}, metrics={}, lineage={}, report_path=None, pyfunc=False)
    (artifact / "params.json").write_text("{}")
    with pytest.raises(RegistryError, match="failed its hash check"):
        registry.log_training(
            "points", artifact, params={}, metrics={}, lineage=lineage_for(1), report_path=None, pyfunc=False
        )
    assert registry.list_versions() == []
