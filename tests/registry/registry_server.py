"""A real `mlflow server` for tests: full MLflow in its own cached venv (it cannot share ours), started, killed, back.

Full mlflow would downgrade pyarrow in leadops' venv, so the server lives in a venv of its own, built once and
kept under ~/.cache/leadops-test/ (LEADOPS_TEST_CACHE moves it). The benchmarks' similar venv is reused when it
holds the same MLflow version. A venv that cannot be built skips the test locally and fails it under CI=true.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

MARKER = "leadops-test-installed.txt"


def in_ci() -> bool:
    """CI must run the server test, never skip it."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def client_version() -> str:
    """The MLflow version of our own (skinny) client: the server is pinned to it."""
    from importlib.metadata import version

    return version("mlflow-skinny")


def cache_root() -> Path:
    """Where test venvs are kept between sessions."""
    return Path(os.environ.get("LEADOPS_TEST_CACHE", Path.home() / ".cache" / "leadops-test"))


def _mlflow_of(python: Path) -> str | None:
    """The MLflow version a venv's python imports, None when it has no full MLflow server."""
    if not (python.parent / "mlflow").exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import mlflow.server, mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(python),
    )
    return done.stdout.strip() if done.returncode == 0 else None


def clean_env(python: Path) -> dict[str, str]:
    """Our environment without our source path or venv, the server venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def build_venv(venv: Path, spec: str) -> Path:
    """Create `venv` with `spec` installed (python -m venv + pip), marked done only when complete."""
    python = venv / "bin" / "python"
    shutil.rmtree(venv, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=1800, env=clean_env(python))
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(step)}` failed: {done.stderr[-1500:]}")
    (venv / MARKER).write_text(spec, encoding="utf-8")
    return python


def server_python() -> Path:
    """The python of a venv with full MLflow (same version as our client): reused, or built once and cached."""
    wanted = client_version()
    spec = f"mlflow=={wanted}"
    root = cache_root()
    own = root / "mlflow-server-venv"
    if (own / MARKER).exists() and (own / MARKER).read_text(encoding="utf-8") == spec:
        return own / "bin" / "python"
    bench = Path.home() / ".cache" / "leadops-bench" / "mlflow-venv" / "bin" / "python"
    if os.environ.get("LEADOPS_TEST_OWN_VENV") != "1" and _mlflow_of(bench) == wanted:
        return bench
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building the same venv: wait for it
        if (own / MARKER).exists() and (own / MARKER).read_text(encoding="utf-8") == spec:
            return own / "bin" / "python"
        return build_venv(own, spec)


def server_python_or_skip() -> Path:
    """server_python(), or a skip (a failure under CI=true) saying why the venv could not be made."""
    try:
        return server_python()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        message = f"cannot build the MLflow server venv under {cache_root()}: {exc}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class MlflowServer:
    """One `mlflow server` on loopback with a sqlite backend and a local artifact destination."""

    def __init__(self, python: Path, folder: Path) -> None:
        self.python = python
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "server.log"

    @property
    def url(self) -> str:
        """The server's URL without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> None:
        """Start the server (its own process group) and wait until /health answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.python.parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'server.db'}",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(self.python),
                cwd=self.folder,
                start_new_session=True,  # uvicorn runs as a child: the whole group is killed together
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mlflow server exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.kill()
        raise AssertionError(f"mlflow server did not answer /health within {timeout:.0f}s: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL the server's process group (the server and its uvicorn worker) and reap it."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def tail(self) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-1500:]
        except OSError:
            return ""
