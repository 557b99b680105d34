"""Browser tests of the dashboard: a real `leadops serve` on the simulated company, driven by Debian's chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import LiveServer, live_server
from ui_browser import Company
from ui_workspace import build

from leadops.serving.keys import KeyStore

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    """The simulated company with two versions and three monitored nightly runs."""
    ws = tmp_path_factory.mktemp("ui") / "company"
    runs, outputs = build(ws)
    store = KeyStore.for_workspace(ws)
    return Company(ws, runs, store.create("admin", "ana").key, store.create("viewer", "victor").key, outputs)


@pytest.fixture(scope="session")
def server(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`leadops serve` of the company (one worker), stopped at the end of the session."""
    with live_server(company.path, tmp_path_factory.mktemp("ui-logs")) as running:
        yield running


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """Debian's chromium under Playwright (Playwright's own browser download does not work here)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[list[Path]]:
    """Where this test's screenshots go; copied to $LEADOPS_SCREENSHOTS when it is set."""
    taken: list[Path] = []
    yield taken
    target = os.environ.get("LEADOPS_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for shot in taken:
            shutil.copy(shot, Path(target) / shot.name)
