"""A registry outage is told apart from an empty registry: bounded, quiet, the cache kept, the champion cached."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from leadops.config import Settings
from leadops.jobs.errors import NoChampionError
from leadops.jobs.model import RegistryModels, resolve_champion
from leadops.registry import Registry, RegistryUnavailableError, store
from leadops.registry.cache import cache_file, new_snapshot, version_dir, write_snapshot
from leadops.registry.errors import RegistryError
from leadops.registry.integrity import tree_digest
from leadops.warehouse import Warehouse

SECRET = "s3cret-pw"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def offline(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose registry is an MLflow server that is down, credentials in its URI; one try per request."""
    for name in store.mlflow_environment(Settings().registry):
        monkeypatch.delenv(name, raising=False)  # restored after the test: other tests keep MLflow's defaults
    uri = f"http://ana:{SECRET}@127.0.0.1:{closed_port()}"
    made = Settings.model_validate(
        {"registry": {"uri": uri, "model_name": f"offline_{os.getpid()}_{time.monotonic_ns()}", "max_retries": 0}}
    )
    made.workspace = workspace
    return made


def cache_champion(settings: Settings, make_artifact: Any, *, challenger: bool = False) -> Path:
    """What a full read of the registry left in the workspace: champion v1 (and challenger v2), verified copies."""
    snapshot = new_snapshot(store.cache_key(store.tracking_uri(settings)), settings.registry.model_name)
    snapshot["aliases"] = {"champion": 1, **({"challenger": 2} if challenger else {})}
    for version in (1, 2) if challenger else (1,):
        path = make_artifact(version_dir(settings, settings.registry.model_name, version), "points", {"a": 1.0})
        snapshot["versions"][str(version)] = {
            "scorer": "points",
            "run_id": f"run{version}",
            "artifact_path": "scorer",
            "artifact_digest": tree_digest(path),
        }
    write_snapshot(settings, snapshot)
    return version_dir(settings, settings.registry.model_name, 1)


def test_an_unreachable_server_is_registry_unavailable_within_seconds_and_masks_the_password(
    offline: Settings, warehouse: Warehouse
) -> None:
    started = time.perf_counter()
    with pytest.raises(RegistryUnavailableError) as caught:
        Registry(offline, warehouse).list_versions()
    assert time.perf_counter() - started < 30
    assert caught.value.exit_code == 22 and caught.value.http_status == 503
    assert "unreachable" in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert SECRET not in str(caught.value) and "ana:***@" in str(caught.value)


def test_an_outage_leaves_the_alias_cache_exactly_as_the_last_full_read_wrote_it(
    offline: Settings, warehouse: Warehouse, make_artifact: Any
) -> None:
    cache_champion(offline, make_artifact)
    before = cache_file(offline).read_bytes()
    for call in ("list_versions", "champion", "challengers"):
        with pytest.raises(RegistryUnavailableError):
            getattr(Registry(offline, warehouse), call)()
    with pytest.raises(RegistryUnavailableError):
        Registry(offline, warehouse).resolve("champion")
    assert cache_file(offline).read_bytes() == before


def test_the_job_scores_with_the_verified_cached_champion_and_says_the_registry_is_down(
    offline: Settings, warehouse: Warehouse, make_artifact: Any
) -> None:
    path = cache_champion(offline, make_artifact, challenger=True)
    source = RegistryModels(offline, warehouse)
    champion = resolve_champion(source, offline.registry.model_name)
    assert (champion.version, champion.path, champion.feature_names) == (1, path, ("a",))
    assert [c.version for c in source.challengers()] == [2]
    assert len(source.warnings) == 1
    warning = source.warnings[0]
    assert "unreachable" in warning and "last verified champion v1" in warning and SECRET not in warning


def test_without_a_verified_cached_copy_an_outage_is_registry_unavailable_never_no_champion(
    offline: Settings, warehouse: Warehouse, make_artifact: Any
) -> None:
    path = cache_champion(offline, make_artifact)
    (path / "params.json").write_text('{"weights": {"a": 99}}', encoding="utf-8")  # the copy no longer matches
    with pytest.raises(RegistryUnavailableError, match="has no verified local copy") as caught:
        resolve_champion(RegistryModels(offline, warehouse), offline.registry.model_name)
    assert not isinstance(caught.value, NoChampionError)
    cache_file(offline).unlink()
    with pytest.raises(RegistryUnavailableError, match="never cached this registry"):
        RegistryModels(offline, warehouse).champion()


def test_what_mlflow_prints_during_a_registry_call_goes_to_stderr_masked(capsys: pytest.CaptureFixture[str]) -> None:
    with store.guarded("http://127.0.0.1:1"):
        print(f"View run train-points at: http://ana:{SECRET}@127.0.0.1:5000/#/experiments/1/runs/abc")
    got = capsys.readouterr()
    assert got.out == ""
    assert "View run train-points" in got.err and "ana:***@127.0.0.1" in got.err and SECRET not in got.err


def test_mlflow_request_bounds_come_from_the_registry_section(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
        MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT,
    )

    section = Settings.model_validate({"registry": {"timeout_seconds": 7, "max_retries": 1}}).registry
    for name in store.mlflow_environment(section):
        monkeypatch.delenv(name, raising=False)
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 120  # MLflow's own default: two minutes a request, 7 retries
    store.apply_environment(section)
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 7
    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 1
    assert MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT.get() is True
    defaults = Settings().registry
    assert (defaults.timeout_seconds, defaults.max_retries) == (5, 2)


def test_an_answer_from_the_server_is_not_an_outage() -> None:
    import requests
    from mlflow.exceptions import MlflowException

    answered = MlflowException("Registered Model with name=x not found", "RESOURCE_DOES_NOT_EXIST")
    assert not store.is_unavailable(answered)
    assert not store.is_unavailable(ValueError("bad version"))
    assert store.is_unavailable(MlflowException("API request to http://h/api failed with exception Max retries"))
    try:
        try:
            raise requests.exceptions.ConnectionError("refused")
        except requests.exceptions.ConnectionError:
            raise MlflowException("wrapped") from None
    except MlflowException as exc:
        assert store.is_unavailable(exc)  # the cause is kept as the exception's context


def test_a_moved_sqlite_store_finds_its_artifacts_beside_the_database(tmp_path: Path) -> None:
    new_db = tmp_path / "moved" / "mlflow.db"
    run = new_db.parent / "mlartifacts" / "abc123" / "artifacts"
    (run / "scorer").mkdir(parents=True)
    recorded = "/old/place/ws/mlartifacts/abc123/artifacts"  # what mlflow.db still says after the move
    assert store.local_run_artifacts(f"sqlite:///{new_db}", tmp_path, recorded, "abc123") == run
    assert store.local_run_artifacts(f"sqlite:///{new_db}", tmp_path, recorded.replace("abc123", "zzz"), "zzz") is None
    assert store.local_run_artifacts("http://127.0.0.1:5000", tmp_path, recorded, "abc123") is None


def test_a_postgres_registry_uri_opens_with_psycopg_3_in_its_schema() -> None:
    made = store.postgres_store_uri("postgresql://ana:pw@db:5432/sales?schema=mlflow&sslmode=require")
    assert made == "postgresql+psycopg://ana:pw@db:5432/sales?sslmode=require&options=-csearch_path%3Dmlflow"
    assert store.postgres_store_uri("postgresql+psycopg2://ana@db/sales") == "postgresql+psycopg2://ana@db/sales"
    assert store.is_database(made) and store.is_postgres(made) and not store.is_database("http://h:5000")
    with pytest.raises(RegistryError, match="schema 'a;b'"):
        store.postgres_store_uri("postgresql://db/sales?schema=a;b")


def test_a_postgres_registry_that_is_down_is_unavailable_within_its_timeout() -> None:
    uri = store.postgres_store_uri(f"postgresql://ana:{SECRET}@127.0.0.1:{closed_port()}/sales?schema=mlflow")
    started = time.monotonic()
    with pytest.raises(RegistryUnavailableError) as caught:
        store.prepare_postgres(uri, Settings().registry)
    assert time.monotonic() - started < Settings().registry.timeout_seconds + 1
    assert SECRET not in str(caught.value) and "unreachable" in str(caught.value)
