"""Run every benchmarks/bench_*.py and print each ratio beside its goal (`python -m benchmarks [--quick]`)."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def discover(only: list[str]) -> list[str]:
    """Names of the benchmark modules beside this file, optionally filtered by substring."""
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    return [n for n in names if not only or any(o in n for o in only)]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print one table, optionally save the rows as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not tens of minutes)")
    parser.add_argument("--only", nargs="*", default=[], help="run only modules whose name contains these")
    parser.add_argument("--save", type=Path, help="write all rows as JSON to this file")
    args = parser.parse_args(argv)
    console = Console()
    rows: list[dict[str, Any]] = []
    for name in discover(args.only):
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        console.print(f"[bold]{name}[/] ...", highlight=False)
        try:
            got = module.run(args.quick)
        except Exception as exc:  # a broken benchmark is reported, the others still run
            got = [{"name": name, "note": f"FAILED: {exc}"}]
        for row in got:
            row.setdefault("module", name)
        rows.extend(got)
        console.print(f"  done in {time.perf_counter() - started:.1f}s", highlight=False)
    table = Table(title="leadops benchmarks" + (" (quick)" if args.quick else ""))
    for column in ("benchmark", "ours", "baseline", "ratio", "goal", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.get("name", "")),
            _fmt(row.get("ours"), row.get("unit")),
            _fmt(row.get("baseline"), row.get("unit")),
            _fmt(row.get("ratio"), "x"),
            str(row.get("goal", "")),
            str(row.get("note", "")),
        )
    console.print(table)
    if args.save:
        args.save.write_text(json.dumps(rows, indent=2, default=str))
    return 0


def _fmt(value: Any, unit: Any) -> str:
    if value is None or value == "":
        return ""
    text = str(value)
    if isinstance(value, float):
        text = f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}" if unit and unit != "x" else (f"{text}x" if unit == "x" else text)


if __name__ == "__main__":
    sys.exit(main())
