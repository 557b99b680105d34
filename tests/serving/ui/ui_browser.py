"""What the dashboard's browser tests share: the served company and a watch on what goes wrong in a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Company:
    """The served workspace, its published runs and one key per role."""

    path: Path
    runs: list[str]
    admin: str
    viewer: str
    outputs: dict[str, Any] = field(default_factory=dict)
    """What the report-writing commands printed (--json): train and evaluate per version, compare, the latest
    monitor and experiment report."""


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
