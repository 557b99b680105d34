"""Served workspaces: the fictional company with a LightGBM champion, the textbook tutorial with its points table."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from leadops.cli import app as cli_app
from leadops.config import load
from leadops.serving.app import create_app
from leadops.serving.keys import KeyStore

ROOT = Path(__file__).resolve().parents[2]
THREADS = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2"}
runner = CliRunner()


def cli(*args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    """Run a leadops command with --json; the parsed object."""
    result = runner.invoke(cli_app, [*args, "--json"], env=THREADS)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Keys:
    """One API key per role."""

    viewer: str
    scorer: str
    admin: str


def make_keys(ws: Path) -> Keys:
    """Create a viewer, a scorer and an admin key in the workspace."""
    store = KeyStore.for_workspace(ws)
    return Keys(*(store.create(role).key for role in ("viewer", "scorer", "admin")))


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fictional company, 3,000 leads, a LightGBM model promoted to champion (version 1)."""
    ws = tmp_path_factory.mktemp("serve") / "company"
    cli("init", str(ws))
    cli("simulate", "--workspace", str(ws), "--leads", "3000", "--seed", "11")
    cli("ingest", "--workspace", str(ws))
    trained = cli("train", "--model", "predictive", "--workspace", str(ws))
    cli("models", "promote", str(trained["version"]), "--workspace", str(ws), "--force", "--reason", "tests")
    return ws


@pytest.fixture(scope="session")
def rivals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two versions to swap and shadow: points rules (v1, champion) and a learned ICP fit (v2), 2,000 leads."""
    ws = tmp_path_factory.mktemp("serve") / "rivals"
    cli("init", str(ws))
    cli("simulate", "--workspace", str(ws), "--leads", "2000", "--seed", "5")
    cli("ingest", "--workspace", str(ws))
    for model in ("points", "icp_fit"):
        cli("train", "--model", model, "--workspace", str(ws))
    cli("models", "promote", "1", "--workspace", str(ws), "--force", "--reason", "tests")
    return ws


@pytest.fixture(scope="session")
def rivals_keys(rivals: Path) -> Keys:
    """Keys of the rivals workspace."""
    return make_keys(rivals)


@pytest.fixture(scope="session")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The textbook tutorial's 2,000 leads with the book's points table as champion."""
    ws = tmp_path_factory.mktemp("serve") / "tutorial"
    (ws / "source").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "tutorial" / "leadops.yaml", ws / "leadops.yaml")
    cli("simulate", "--workspace", str(ws), "--scenario", "tutorial", "--leads", "2000")
    cli("ingest", "--workspace", str(ws))
    trained = cli("train", "--model", "textbook", "--workspace", str(ws))
    cli("models", "promote", str(trained["version"]), "--workspace", str(ws), "--force", "--reason", "tests")
    return ws


@pytest.fixture(scope="session")
def company_keys(company: Path) -> Keys:
    """Keys of the company workspace."""
    return make_keys(company)


@pytest.fixture(scope="session")
def tutorial_keys(tutorial: Path) -> Keys:
    """Keys of the tutorial workspace."""
    return make_keys(tutorial)


@pytest.fixture
def client(company: Path) -> Iterator[TestClient]:
    """The company's app, in-process (no follower thread: tests move the champion explicitly)."""
    with TestClient(create_app(load(company), follow=False)) as c:
        yield c


@pytest.fixture
def book_client(tutorial: Path) -> Iterator[TestClient]:
    """The tutorial's app, in-process."""
    with TestClient(create_app(load(tutorial), follow=False)) as c:
        yield c
