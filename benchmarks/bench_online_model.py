"""One lead scored in-process the way POST /v1/score does (ServedModel.score: raw records -> features -> score,
grade, reasons) beside raw LightGBM `Booster.predict` on one ready-made numpy row of the same model.

A simulated workspace is trained once (the fictional company, a LightGBM model and the points and scorecard
models); ours and the baseline are timed interleaved, best of N rounds, in microseconds per lead.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 11
MODELS = ("predictive", "scorecard", "points")


def _cli(*args: str) -> dict[str, Any]:
    """Run a leadops command with --json in-process; its parsed answer."""
    from typer.testing import CliRunner

    from leadops.cli import app

    result = CliRunner().invoke(app, [*args, "--json"])
    if result.exit_code != 0:
        raise RuntimeError(f"leadops {' '.join(args)} failed: {result.output[-500:]}")
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _workspace(root: Path, leads: int) -> tuple[Path, dict[str, int]]:
    """A simulated company with the benchmarked models trained (not promoted); their versions by model name."""
    ws = root / "company"
    _cli("init", str(ws))
    _cli("simulate", "--workspace", str(ws), "--leads", str(leads), "--seed", str(SEED))
    _cli("ingest", "--workspace", str(ws))
    return ws, {m: int(_cli("train", "--model", m, "--workspace", str(ws))["version"]) for m in MODELS}


def _served(ws: Path, version: int) -> Any:
    """The version loaded as the API loads it (bundle, routing plan)."""
    from leadops.config import load
    from leadops.jobs.model import mql_threshold_of, read_model_manifest
    from leadops.jobs.routing import declared_activity_types, plan
    from leadops.registry.loading import load_artifact_dir
    from leadops.serving.model import ServedModel

    settings = load(ws)
    path = load_artifact_dir(settings, version)
    routing = plan(
        settings.routing,
        settings.business,
        mql_threshold_of(read_model_manifest(path)),
        declared_activity_types(settings.contracts, settings.sources),
    )
    return ServedModel(version, path, routing, top_n=settings.scoring.top_reasons)


def _leads(ws: Path, n: int) -> tuple[list[Any], Any]:
    """n leads of the warehouse with their account and activities, as the API receives them, and the as-of."""
    from leadops.config import load
    from leadops.serving.model import LeadRecords
    from leadops.warehouse.connection import open_warehouse

    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        as_of = wh.rows("SELECT max(created_at) FROM leads")[0][0]
        leads = wh.rows("SELECT * FROM leads WHERE created_at < ? ORDER BY lead_id LIMIT ?", [as_of, n])
        lead_names, account_names = _names(wh, "leads"), _names(wh, "accounts")
        out = []
        for row in leads:
            lead = dict(zip(lead_names, row, strict=True))
            account = wh.rows("SELECT * FROM accounts WHERE account_id = ?", [lead.get("account_id")])
            acts = wh.rows(
                "SELECT occurred_at, activity_type, channel, value, properties FROM activities WHERE lead_id = ?",
                [lead["lead_id"]],
            )
            fields = ("occurred_at", "activity_type", "channel", "value", "properties")
            activities = [dict(zip(fields, a, strict=True)) for a in acts]
            acc = dict(zip(account_names, account[0], strict=True)) if account else None
            out.append(LeadRecords(lead, acc, activities))
    return out, as_of


def _names(wh: Any, table: str) -> list[str]:
    """A table's column names, in order."""
    sql = "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position"
    return [str(r[0]) for r in wh.rows(sql, [table])]


def _best_us(fn: Callable[[Any], Any], items: list[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - started) / len(items) * 1e6


def run(quick: bool) -> list[dict[str, Any]]:
    """Per-lead microseconds of ServedModel.score (LightGBM, scorecard, points) vs Booster.predict on one row."""
    import numpy as np

    n_leads, rounds, sample = (2_000, 5, 30) if quick else (3_000, 9, 100)
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ws, versions = _workspace(Path(tmp), n_leads)
        leads, as_of = _leads(ws, sample)
        models = {m: _served(ws, v) for m, v in versions.items()}
        lgbm = models["predictive"]
        booster = lgbm.scorer.booster_
        matrices = [np.ascontiguousarray(lgbm.scorer.matrix(lgbm.rows([r], as_of))) for r in leads]

        def raw_predict(M: Any) -> Any:
            return booster.predict(M, num_threads=1)

        best: dict[str, float] = {"baseline": float("inf"), **{m: float("inf") for m in models}}
        for served in models.values():  # warm: first calls build caches and load code paths
            for r in leads[:5]:
                served.score([r], as_of)
        for _ in range(rounds):
            best["baseline"] = min(best["baseline"], _best_us(raw_predict, matrices))
            for name, served in models.items():
                best[name] = min(best[name], _best_us(lambda r, s=served: s.score([r], as_of), leads))
    base = best["baseline"]
    for name in models:
        rows.append(
            {
                "name": f"one lead in-process, ServedModel.score ({name}) vs Booster.predict on a numpy row",
                "ours": round(best[name], 1),
                "baseline": round(base, 1),
                "ratio": round(best[name] / base, 1),
                "goal": "<= 1000 us (the 2 ms p99 HTTP budget minus the HTTP stack)",
                "unit": "us",
                "note": f"features from raw records + score + grade + reasons; best of {rounds}; load {load:.1f}",
            }
        )
    return rows
