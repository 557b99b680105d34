"""How fast the fictional company is simulated and written, against pandas writing the same rows."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, out, leads = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
began = time.perf_counter()
if mode == "simulate":
    from leadops.simulate import simulate
    s = simulate(out, leads=leads, seed=42)
    rows = s.accounts + s.leads + s.activities + s.outcomes
else:
    import pandas as pd
    src = out / "source"
    rows = 0
    for name in ("accounts.csv", "leads.csv", "activities.csv", "outcomes.csv"):
        frame = pd.read_csv(src / name, dtype=str, keep_default_na=False)
        began_write = time.perf_counter() if name == "accounts.csv" else began_write
        frame.to_csv(out / ("pandas_" + name), index=False)
        rows += len(frame)
        del frame
    began = began_write
seconds = time.perf_counter() - began
peak_mb = int(next(ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:'))) / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak_mb}))
"""


def _child(mode: str, out: Path, leads: int) -> dict[str, Any]:
    """Run one measurement in a fresh process so peak RSS is its own."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(out), str(leads)], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _measure(leads: int) -> list[dict[str, Any]]:
    """Simulate `leads` leads; baseline: pandas.DataFrame.to_csv of the same four files (read excluded)."""
    with tempfile.TemporaryDirectory(prefix="bench_simulate_") as tmp:
        out = Path(tmp)
        began = time.perf_counter()
        ours = _child("simulate", out, leads)
        wall = time.perf_counter() - began
        base = _child("pandas", out, leads)
    ours_rate = ours["rows"] / ours["seconds"]
    base_rate = base["rows"] / base["seconds"]
    label = f"{leads // 1000}k" if leads < 1_000_000 else f"{leads // 1_000_000}M"
    return [
        {
            "name": f"simulate {label} leads: rows/s (all four files, generation included)",
            "ours": round(ours_rate),
            "baseline": round(base_rate),
            "ratio": round(ours_rate / base_rate, 2),
            "goal": "1M leads in minutes; >= pandas to_csv throughput while also generating",
            "unit": "rows/s",
            "note": f"{ours['rows']:,} rows in {ours['seconds']:.1f} s (process wall {wall:.1f} s); "
            "baseline = pandas.DataFrame.to_csv of the same rows, write only",
        },
        {
            "name": f"simulate {label} leads: peak memory",
            "ours": round(ours["peak_mb"]),
            "baseline": round(base["peak_mb"]),
            "ratio": round(ours["peak_mb"] / base["peak_mb"], 2),
            "goal": "bounded by one 100k-lead chunk (a few GB at most at 1M)",
            "unit": "MB peak RSS",
            "note": "peak RSS (VmHWM) of a fresh process; baseline holds one file as a DataFrame at a time",
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """100k leads always; 1M leads unless quick (the closed loop is bench_simulate_loop's)."""
    rows = _measure(100_000)
    if not quick:
        rows += _measure(1_000_000)
    return rows


if __name__ == "__main__":  # pragma: no cover - manual use
    print(json.dumps(run("--quick" in sys.argv), indent=1))
