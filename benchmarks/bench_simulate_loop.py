"""The closed loop (`leadops simulate --closed-loop`): a year of 50k leads end to end, and one night in process.

`python -m benchmarks --only simulate_loop` (a year at 137 leads a day) or `--quick` (30 days); the one-pass
generator writing the same leads is the baseline of the first row, a `leadops score` subprocess of the second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_simulate import _child

LOOP_CHILD = r"""
import json, os, sys, time
from datetime import timedelta
from pathlib import Path
from leadops import config
from leadops.closed_loop import run_closed_loop
from leadops.warehouse import open_warehouse
from leadops.workspace import init_workspace
ws, days, per_day = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
init_workspace(ws)
settings = config.load(ws)
warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
result = run_closed_loop(settings, warehouse, days=days, leads_per_day=per_day, seed=42)
warehouse.close()
print(json.dumps(result.to_dict() | {"load": os.getloadavg()[0]}))
"""

NIGHT_CHILD = r"""
import json, sys, time
from datetime import datetime
from pathlib import Path
from leadops import config
from leadops.jobs.run import score_job
from leadops.warehouse import open_warehouse
ws, as_of = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
settings = config.load(ws)
warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
began = time.perf_counter()
score_job(settings, warehouse, as_of=as_of)
print(json.dumps({"seconds": time.perf_counter() - began}))
"""


def _loop(days: int, per_day: float) -> list[dict[str, Any]]:
    """The closed loop for `days` days at `per_day` leads a day (a one-pass history first, trained: not timed).

    Baselines: the one-pass generator writing the same leads (rows 1), and one night's job as a `leadops score`
    subprocess against the same job in a warm process (row 2, interleaved, best of 3): why the loop runs the job
    in process.
    """
    import os

    with tempfile.TemporaryDirectory(prefix="bench_loop_") as tmp:
        ws = Path(tmp) / "ws"
        done = subprocess.run([sys.executable, "-c", LOOP_CHILD, str(ws), str(days), str(per_day)], check=True,
                              capture_output=True, text=True)  # fmt: skip
        loop = json.loads(done.stdout.strip().splitlines()[-1])
        timing = loop["timing"]
        loop_s = sum(timing[k] for k in ("world", "score", "sales", "export", "ingest", "monitor", "retrain"))
        leads = int(loop["leads"])
        one_pass = _child("simulate", Path(tmp) / "one_pass", leads)
        end = loop["end"]
        warm, cold = [], []
        for k in range(3):
            hour = f"{end}T{6 + 2 * k:02d}:00:00"
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "leadops.cli", "score", "--workspace", str(ws), "--as-of", hour,
                            "--json"], check=True, capture_output=True, text=True)  # fmt: skip
            cold.append(time.perf_counter() - began)
            night = subprocess.run([sys.executable, "-c", NIGHT_CHILD, str(ws), f"{end}T{7 + 2 * k:02d}:00:00"],
                                   check=True, capture_output=True, text=True)  # fmt: skip
            warm.append(json.loads(night.stdout.strip().splitlines()[-1])["seconds"])
    load = f"load {loop['load']:.1f} (1-min, end of loop), {os.getloadavg()[0]:.1f} (end of bench)"
    per_night = loop_s / days
    return [
        {
            "name": f"closed loop: {days} days, {leads:,} leads ({per_day:g}/day), nightly job in process",
            "ours": round(loop_s, 1),
            "baseline": round(one_pass["seconds"], 1),
            "ratio": round(loop_s / one_pass["seconds"], 1),
            "goal": "a year of 50k leads in minutes",
            "unit": "s",
            "note": f"{per_night:.2f} s a simulated day (score {timing['score']:.0f} s, "
            f"ingest {timing['ingest']:.0f} s, world+export {timing['world'] + timing['export']:.0f} s); "
            f"CPU {timing['cpu_days']:.0f} s; {loop['runs_published']} runs, "
            f"{loop['contacts']:,} contacts, {loop['conversions']} conversions; baseline = the one-pass generator "
            f"writing the same number of leads (no leadops in it); history + training {timing['bootstrap']:.0f} s "
            f"not counted; {load}",
        },
        {
            "name": "closed loop: one night's job in a warm process vs a `leadops score` subprocess",
            "ours": round(min(warm), 2),
            "baseline": round(min(cold), 2),
            "ratio": round(min(warm) / min(cold), 2),
            "goal": "in process: no interpreter start, imports, registry connection per simulated night",
            "unit": "s",
            "note": f"best of 3, interleaved, on the loop's final warehouse ({leads:,} loop leads); {load}",
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """The closed loop for 30 days (quick) or a year of 50k leads (137 a day)."""
    return _loop(30 if quick else 365, 137.0)


if __name__ == "__main__":  # pragma: no cover - manual use
    print(json.dumps(run("--quick" in sys.argv), indent=1))
