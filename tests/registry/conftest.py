"""Shared fixtures: one MLflow sqlite store and one DuckDB warehouse per module, hand-made artifacts."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadops.config import Settings
from leadops.registry import Registry
from leadops.registry.store import open_client
from leadops.warehouse import Warehouse, open_warehouse

_names = itertools.count(1)


def make_artifact(path: Path, scorer_type: str, weights: dict[str, float]) -> Path:
    """A tiny scorer-like artifact: params.json plus a manifest.json listing its sha256, as scorers do."""
    path.mkdir(parents=True, exist_ok=True)
    params = json.dumps({"weights": weights}, sort_keys=True).encode()
    (path / "params.json").write_bytes(params)
    manifest = {
        "format": "leadops-scorer",
        "format_version": 1,
        "scorer_type": scorer_type,
        "feature_names": sorted(weights),
        "files": {"params.json": hashlib.sha256(params).hexdigest()},
    }
    (path / "manifest.json").write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    return path


def lineage_for(rows: int) -> dict[str, Any]:
    """Lineage facts a training run hands the registry."""
    return {
        "training_set_digest": f"sha256:{rows:064x}",
        "training_set_rows": rows,
        "feature_spec_hash": "f" * 64,
    }


@pytest.fixture(name="make_artifact")
def make_artifact_fixture() -> Any:
    """The artifact maker, for tests (test files cannot import conftest)."""
    return make_artifact


@pytest.fixture(name="lineage_for")
def lineage_for_fixture() -> Any:
    """The lineage maker, for tests."""
    return lineage_for


@pytest.fixture(scope="session")
def mlflow_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite database; MLflow takes 6-20 s to create one, so it is kept in pytest's cache."""
    import mlflow
    import sqlalchemy

    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    folder = Path(cache.mkdir("leadops-registry")) if cache else tmp_path_factory.mktemp("leadops-registry")
    db = folder / f"mlflow-{mlflow.__version__}-sqlalchemy-{sqlalchemy.__version__}.db"
    if not db.exists():
        fresh = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
        open_client(f"sqlite:///{fresh}").search_registered_models()
        shutil.copy(fresh, folder / f".{db.name}.{os.getpid()}")
        os.replace(folder / f".{db.name}.{os.getpid()}", db)
    return db


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Path:
    """A workspace folder with leadops.yaml and a ready MLflow store, shared by one test module."""
    root = tmp_path_factory.mktemp("ws")
    (root / "leadops.yaml").write_text("name: registry tests\n", encoding="utf-8")
    shutil.copy(mlflow_template, root / "mlflow.db")
    return root


@pytest.fixture(scope="module")
def warehouse(workspace: Path) -> Iterator[Warehouse]:
    """The module's DuckDB warehouse, migrated (so it has registry_audit)."""
    wh = open_warehouse("duckdb:///warehouse.duckdb", base_dir=workspace)
    yield wh
    wh.close()


@pytest.fixture
def settings(workspace: Path) -> Settings:
    """Settings for one test: its own registered model name, so tests never share aliases or history."""
    made = Settings.model_validate({"registry": {"model_name": f"lead_score_t{next(_names)}"}})
    made.workspace = workspace
    return made


@pytest.fixture
def registry(settings: Settings, warehouse: Warehouse) -> Registry:
    """A registry on the module's store and warehouse."""
    return Registry(settings, warehouse)


@pytest.fixture
def two_versions(registry: Registry, tmp_path: Path) -> Registry:
    """v1 from scorer `points`, v2 from scorer `predictive`, both registered (no pyfunc, for speed)."""
    for rows, (name, kind) in enumerate([("points", "points"), ("predictive", "lightgbm")], start=100):
        registry.log_training(
            name,
            make_artifact(tmp_path / name, kind, {"a": rows / 100, "b": 2.0}),
            params={"scorer": {"type": kind, "seed": 7}},
            metrics={"auc": 0.7 + rows / 10_000, "lift": {"top_decile": 2.5}},
            lineage=lineage_for(rows),
            report_path=None,
            actor="trainer",
            pyfunc=False,
        )
    return registry
