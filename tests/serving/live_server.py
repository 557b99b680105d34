"""A real `leadops serve` process on a free loopback port, for the tests that need uvicorn and its workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_argv(ws: Path, port: int, workers: int) -> list[str]:
    """`leadops serve` of this tree's source."""
    where = ["--workspace", str(ws), "--port", str(port), "--workers", str(workers)]
    return [sys.executable, "-m", "leadops.cli", "serve", *where]


def serve_env(extra: Mapping[str, str] = {}) -> dict[str, str]:
    """This environment with the tree's source first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


@dataclass
class LiveServer:
    """A running server: its URL, its process, where its stderr goes."""

    url: str
    proc: subprocess.Popen[bytes]
    stderr: Path

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a supervisor would; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def log(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr.read_text(errors="replace")


@contextmanager
def live_server(
    ws: Path, log_dir: Path, *, workers: int = 1, env: Mapping[str, str] = {}, start_seconds: float = 180.0
) -> Iterator[LiveServer]:
    """Start `leadops serve`, wait until /health answers; always stopped (and its group killed if it hangs)."""
    port = free_port()
    stderr = log_dir / f"serve-{port}.stderr"
    with stderr.open("wb") as err, (log_dir / f"serve-{port}.stdout").open("wb") as out:
        proc = subprocess.Popen(
            serve_argv(ws, port, workers), stdout=out, stderr=err, env=serve_env(env), start_new_session=True
        )
    server = LiveServer(f"http://127.0.0.1:{port}", proc, stderr)
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"leadops serve exited with {proc.returncode} at start: {server.log()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"leadops serve did not answer /health in {start_seconds} s: {server.log()[-2000:]}"
                )
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
