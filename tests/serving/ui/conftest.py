"""Browser tests of the dashboard: a real `leadops serve` on the simulated company, driven by Debian's chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from live_server import LiveServer, live_server
from ui_workspace import build

from leadops.serving.keys import KeyStore

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@dataclass(frozen=True)
class Company:
    """The served workspace, its published runs and one key per role."""

    path: Path
    runs: list[str]
    admin: str
    viewer: str


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    """The simulated company with two versions and three monitored nightly runs."""
    ws = tmp_path_factory.mktemp("ui") / "company"
    runs = build(ws)
    store = KeyStore.for_workspace(ws)
    return Company(ws, runs, store.create("admin", "ana").key, store.create("viewer", "victor").key)


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


@dataclass
class Watch:
    """What went wrong in the browser: console errors, page errors, failed requests, error answers."""

    problems: list[str] = field(default_factory=list)
    allowed_status: set[int] = field(default_factory=set)

    def attach(self, page: object) -> None:
        """Listen on a Playwright page."""
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))  # type: ignore[attr-defined]
        page.on("crash", lambda p: self.problems.append(f"page crashed: {p.url}"))  # type: ignore[attr-defined]
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))  # type: ignore[attr-defined]
        page.on(  # type: ignore[attr-defined]
            "response",
            lambda r: (
                self.problems.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 and r.status not in self.allowed_status
                else None
            ),
        )


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
