"""`leadops serve`: check the workspace can serve, then run uvicorn with N workers on the app factory."""

from __future__ import annotations

import logging
import os
import signal
from types import FrameType

from leadops.config import Settings
from leadops.errors import ConfigError
from leadops.serving import metrics
from leadops.serving.app import WORKSPACE_ENV
from leadops.serving.slot import ModelSlot

METRICS_DIR = ".leadops/metrics"


def serve(settings: Settings, *, host: str | None = None, port: int | None = None, workers: int | None = None) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM); a workspace with no champion fails here, before listening."""
    host = host or settings.serving.host
    port = port or settings.serving.port
    workers = workers or settings.serving.workers
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port: expected 1..65535, got {port}")
    if workers < 1:
        raise ConfigError(f"--workers: expected at least 1, got {workers}")
    probe = ModelSlot(settings, shadow=False)
    probe.refresh()
    probe.models()  # NoModelError with what to do, before any worker starts
    os.environ[WORKSPACE_ENV] = str(settings.workspace.resolve())
    metrics.prepare_multiprocess_dir(settings.path(METRICS_DIR))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # uvicorn re-raises the SIGTERM it stopped on once it has shut down; this handler makes that a clean exit 0
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _run(host, port, workers)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "leadops.serving.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        http="httptools",
        loop="uvloop",
        timeout_graceful_shutdown=10,
    )


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM outside uvicorn's own handling (before it starts, or re-raised after its shutdown): exit 0."""
    raise SystemExit(0)
