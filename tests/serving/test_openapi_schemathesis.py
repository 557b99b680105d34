"""schemathesis over the service's own OpenAPI document, against a real `leadops serve`: no 5xx, no lie in the spec."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from live_server import live_server

from conftest import Keys

pytestmark = pytest.mark.slow

SEED = "20261201"
EXAMPLES = "40"
# Every check schemathesis has (server errors, response schemas and headers, status codes and content types as
# documented, invalid data refused, valid data accepted, auth not ignored), on every operation.
CONFIG = "request-timeout = 30\n"
"""Seconds a request may take: /v1/admin/reload asks MLflow, which is slow on a loaded machine."""


def test_every_operation_answers_as_its_openapi_document_says(rivals: Path, rivals_keys: Keys, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with live_server(rivals, tmp_path) as server:
        spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
        operations = sum(len(ops) for ops in spec["paths"].values())
        st = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"]
        done = subprocess.run(
            [
                *st,
                "--config-file",
                str(config),
                "--no-color",
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"X-API-Key: {rivals_keys.admin}",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            cwd=tmp_path,
            timeout=480,
            check=False,
        )
        log = server.log()
    out = done.stdout.decode(errors="replace")
    assert done.returncode == 0, out[-6000:]
    tested = re.search(r"Tested:\s+(\d+)", out)
    assert tested is not None and int(tested.group(1)) == operations >= 10, out[-3000:]
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]
