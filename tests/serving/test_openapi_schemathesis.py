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
CONFIG = """request-timeout = 30

[[operations]]
include-path = "/v1/leads"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "409", "422"]
"""
"""Seconds a request may take: /v1/admin/reload asks MLflow, which is slow on a loaded machine. POST /v1/leads:
a schema-valid lead may still break the workspace's data contracts (a time in the future, a category the
workspace does not allow), and is then quarantined and answered 422 by design."""


def _schemathesis(ws: Path, key: str, tmp_path: Path, *options: str) -> tuple[int, str, int]:
    """Run `st run` against a fresh `leadops serve` of `ws`: the operations in the document, the output, the count."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with live_server(ws, tmp_path) as server:
        spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
        operations = sum(len(ops) for ops in spec["paths"].values())
        st = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"]
        where = [f"{server.url}/openapi.json", "-H", f"X-API-Key: {key}", "--report-dir", str(tmp_path / "report")]
        done = subprocess.run(
            [
                *st,
                "--config-file",
                str(config),
                "--no-color",
                "run",
                *where,
                "--seed",
                SEED,
                "--workers",
                "1",
                *options,
            ],
            capture_output=True,
            cwd=tmp_path,
            timeout=480,
            check=False,
        )
        log = server.log()
    out = done.stdout.decode(errors="replace")
    assert done.returncode == 0, out[-6000:]
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]
    tested = re.search(r"Tested:\s+(\d+)", out)
    assert tested is not None, out[-3000:]
    return operations, out, int(tested.group(1))


def test_every_operation_answers_as_its_openapi_document_says(rivals: Path, rivals_keys: Keys, tmp_path: Path) -> None:
    operations, out, tested = _schemathesis(rivals, rivals_keys.admin, tmp_path, "--max-examples", EXAMPLES)
    assert tested == operations >= 10, out[-3000:]


def test_the_books_api_takes_any_lead_its_document_allows_for_a_model_with_attribute_fields(
    tutorial: Path, tutorial_keys: Keys, tmp_path: Path
) -> None:
    _, out, tested = _schemathesis(
        tutorial, tutorial_keys.scorer, tmp_path, "--include-tag", "textbook", "--max-examples", EXAMPLES
    )
    assert tested == 2, out[-3000:]
