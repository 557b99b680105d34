"""Against a real `mlflow server`: train/promote/score, the server SIGKILLed, scoring on the cached champion, back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from registry_server import MlflowServer, server_python_or_skip
from typer.testing import CliRunner

import leadops
from leadops.cli import app
from leadops.warehouse import open_warehouse

SECRET = "pw-9f3c1e"
SRC = Path(leadops.__file__).resolve().parents[1]
MAIN = "import sys; from leadops.cli import main; sys.argv[0] = 'leadops'; main()"


@dataclass
class Done:
    """One finished `leadops` process."""

    code: int
    out: str
    err: str
    seconds: float

    def json(self) -> dict[str, Any]:
        """stdout as exactly one JSON object (anything else on stdout fails here)."""
        lines = [line for line in self.out.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one JSON line on stdout, got {len(lines)}: {self.out[:600]!r}"
        data: dict[str, Any] = json.loads(lines[0])
        return data


def leadops_cli(*args: str, timeout: float = 900) -> Done:
    """Run `leadops ARGS` as its own process, as cron would: real stdout and stderr, timed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADOPS_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(SRC)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MAIN, *args], capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.perf_counter() - started
    for stream in (done.stdout, done.stderr):
        assert SECRET not in stream, f"the registry password leaked in `leadops {' '.join(args)}`: {stream[-800:]}"
    return Done(done.returncode, done.stdout, done.stderr, seconds)


def run_warnings(workspace: Path, run_id: str) -> str:
    """The ledger's warnings column of one run."""
    warehouse = open_warehouse("duckdb:///warehouse.duckdb", workspace, read_only=True)
    try:
        return str(warehouse.scalar("SELECT warnings FROM score_runs WHERE run_id = ?", [run_id]) or "")
    finally:
        warehouse.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A small simulated, ingested workspace (in-process: setup is not what this test is about)."""
    ws = tmp_path / "ws"
    runner = CliRunner()
    for args in (["init", str(ws)], ["simulate", "-w", str(ws), "--leads", "2000", "--seed", "5"]):
        assert runner.invoke(app, [*args, "--json"]).exit_code == 0
    done = runner.invoke(app, ["ingest", "-w", str(ws), "--json"])
    assert done.exit_code == 0, done.output
    return ws


def point_registry_at(workspace: Path, url: str) -> None:
    """registry.uri -> the server, with user:password in the URI (to prove it never shows)."""
    config = workspace / "leadops.yaml"
    text = config.read_text(encoding="utf-8")
    assert "uri: sqlite:///mlflow.db" in text
    config.write_text(text.replace("uri: sqlite:///mlflow.db", f"uri: {url}"), encoding="utf-8")


@pytest.mark.slow
def test_a_real_mlflow_server_up_then_killed_then_back(workspace: Path, tmp_path: Path) -> None:
    python = server_python_or_skip()
    server = MlflowServer(python, tmp_path / "server")
    server.start()
    try:
        point_registry_at(workspace, f"http://ana:{SECRET}@127.0.0.1:{server.port}")
        ws = str(workspace)

        trained = leadops_cli("train", "--model", "points", "-w", ws, "--json")
        assert trained.code == 0, trained.err[-1500:]
        version = trained.json()["version"]  # one JSON object although MLflow logged a run on a server
        assert "View run" not in trained.out
        promoted = leadops_cli("models", "promote", str(version), "-w", ws, "--force", "--reason", "test", "--json")
        assert promoted.code == 0 and promoted.json()["champion"]["version"] == version, promoted.out[-800:]

        healthy = leadops_cli("score", "-w", ws, "--as-of", "2026-01-01", "--json")
        assert healthy.code == 0, healthy.out[-800:]
        assert healthy.json()["status"] == "published"
        assert not [w for w in healthy.json()["warnings"] if "registry" in w]
        cache = workspace / ".leadops" / "registry.json"
        cached_before = cache.read_bytes()

        server.kill()  # SIGKILL: no goodbye, the port simply refuses
        outage = leadops_cli("score", "-w", ws, "--as-of", "2026-01-02", "--json", timeout=300)
        assert outage.code == 0, outage.out[-800:]
        result = outage.json()
        assert result["status"] == "published" and result["model_version"] == version
        said = [w for w in result["warnings"] if "unreachable" in w]
        assert said and f"last verified champion v{version}" in said[0] and "ana:***@127.0.0.1" in said[0]
        assert "warning:" in outage.err and "unreachable" in outage.err
        assert outage.seconds < healthy.seconds + 30, (outage.seconds, healthy.seconds)
        assert "unreachable" in run_warnings(workspace, result["run_id"])
        assert cache.read_bytes() == cached_before  # the outage wiped nothing

        listed = leadops_cli("models", "list", "-w", ws)
        assert listed.code == 22 and "unreachable" in listed.err and "CACHED" in listed.out
        listed_json = leadops_cli("models", "list", "-w", ws, "--json").json()
        assert listed_json["ok"] is False and listed_json["exit_code"] == 22
        assert [(v["version"], v["aliases"]) for v in listed_json["cached"]["versions"]] == [(version, ["champion"])]
        shown = leadops_cli("models", "show", "champion", "-w", ws, "--json")
        assert shown.code == 22 and shown.json()["cached"]["version"] == version

        bare = tmp_path / "no-cache"
        shutil.copytree(workspace, bare, ignore=shutil.ignore_patterns(".leadops"))
        refused = leadops_cli("score", "-w", str(bare), "--as-of", "2026-01-02", "--json", timeout=300)
        assert refused.code == 22, refused.out[-800:]
        assert "unreachable" in refused.json()["error"] and "no champion version" not in refused.json()["error"]

        server.start()  # same database, same port: everything works again
        back = leadops_cli("models", "list", "-w", ws, "--json")
        assert back.code == 0 and [v["version"] for v in back.json()["versions"]] == [version]
        again = leadops_cli("score", "-w", ws, "--as-of", "2026-01-03", "--json")
        assert again.code == 0 and not [w for w in again.json()["warnings"] if "unreachable" in w]
        assert "unreachable" not in run_warnings(workspace, again.json()["run_id"])

        assert server.proc is not None
        os.killpg(server.proc.pid, signal.SIGSTOP)  # a hung server: connections accepted, nothing answered
        try:
            hung = leadops_cli("score", "-w", ws, "--as-of", "2026-01-04", "--json", timeout=300)
        finally:
            os.killpg(server.proc.pid, signal.SIGCONT)
        assert hung.code == 0, hung.out[-800:]
        assert [w for w in hung.json()["warnings"] if "unreachable" in w]
        assert hung.seconds < healthy.seconds + 45, (hung.seconds, healthy.seconds)
    finally:
        server.kill()
