"""A worker's first POST /v1/score costs what later ones do: nothing is imported on the request path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import Keys

PROBE = """
import asyncio, json, sys
import httpx
from leadops.config import load
from leadops.serving.app import create_app

BODY = {"leads": [{"lead_id": "f-1", "lead_source": "demo_form", "job_level": "vp"}], "as_of": "2026-06-01T00:00:00"}

async def main() -> None:
    app = create_app(load(sys.argv[1]), follow=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            await client.get("/health")  # the client's own lazy imports happen here, not in the measured request
            before = set(sys.modules)
            r = await client.post("/v1/score", json=BODY, headers={"X-API-Key": sys.argv[2]})
            new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("leadops", "scipy", "sklearn"))
            print(json.dumps({"status": r.status_code, "imported": new}))

asyncio.run(main())
"""


def test_the_first_score_request_imports_nothing_so_a_web_form_lead_right_after_start_is_not_slow(
    rivals: Path, rivals_keys: Keys
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(rivals), rivals_keys.scorer], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["status"] == 200
    assert out["imported"] == [], "imported by the first request (SciPy costs 1-2 s): " + ", ".join(out["imported"])
