"""kill -9 at any point, rerun: the published result equals an uninterrupted run's."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jobs_fakes import AS_OF, HERE, FakeFeatures, FakeModels, fill_warehouse, make_settings

from leadops.jobs import checkpoints, score_job
from leadops.warehouse import open_warehouse

CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {here!r})
from jobs_fakes import AS_OF, FakeFeatures, FakeModels, make_settings
from leadops.jobs import score_job
from leadops.warehouse import open_warehouse
root = Path(sys.argv[1])
with open_warehouse("duckdb:///warehouse.duckdb", root) as wh:
    settings = make_settings(root, scoring={{"chunk_size": 50}}, business={{"mql_threshold": 40}})
    score_job(settings, wh, as_of=AS_OF, models=FakeModels(root / "models", challengers=[2]),
              features=FakeFeatures(wh))
"""

TABLES = {
    "lead_scores": "SELECT * EXCLUDE (run_id) FROM current_scores ORDER BY lead_id",
    "sales": "SELECT * EXCLUDE (run_id) FROM current_sales_queue ORDER BY lead_id",
    "nurture": "SELECT * EXCLUDE (run_id) FROM current_nurture_queue ORDER BY lead_id",
    "shadow": "SELECT * EXCLUDE (run_id) FROM current_shadow_scores ORDER BY lead_id",
    "runs": "SELECT run_id, status, leads_scored, routed_sales, routed_nurture, shadow_versions FROM score_runs",
}


def _child(root: Path, kill_at: int | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    env.pop(checkpoints.KILL_ENV, None)
    if kill_at is not None:
        env[checkpoints.KILL_ENV] = str(kill_at)
    code = CHILD.format(here=str(HERE))
    return subprocess.Popen([sys.executable, "-c", code, str(root)], env=env, stderr=subprocess.PIPE)


def _published(root: Path) -> dict[str, object]:
    with open_warehouse("duckdb:///warehouse.duckdb", root) as wh:
        state: dict[str, object] = {name: wh.rows(sql) for name, sql in TABLES.items()}
    state["csv"] = (root / "exports" / "2026-03-10" / "lead_scores.csv").read_bytes()
    return state


def _rerun(root: Path) -> None:
    with open_warehouse("duckdb:///warehouse.duckdb", root) as wh:
        settings = make_settings(root, scoring={"chunk_size": 50}, business={"mql_threshold": 40})
        result = score_job(
            settings, wh, as_of=AS_OF, models=FakeModels(root / "models", challengers=[2]), features=FakeFeatures(wh)
        )
        assert result.status in ("published", "already published")


@pytest.mark.slow
def test_sigkill_at_20_random_points_then_rerun_publishes_the_uninterrupted_result(tmp_path: Path) -> None:
    base = tmp_path / "base"
    with open_warehouse("duckdb:///warehouse.duckdb", base) as wh:
        fill_warehouse(wh, n=300)
    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    started = time.perf_counter()
    proc = _child(reference)
    assert proc.wait(120) == 0, proc.stderr.read().decode() if proc.stderr else ""
    duration = time.perf_counter() - started
    expected = _published(reference)
    assert expected["runs"][0][1] == "published"  # type: ignore[index]

    names: list[str] = []
    checkpoints.set_hook(names.append)
    try:
        _rerun(shutil.copytree(base, tmp_path / "count"))
    finally:
        checkpoints.set_hook(None)
    total = len(names)
    assert total >= 10, names

    rng = random.Random(20260310)
    plans: list[tuple[str, float]] = [("checkpoint", float(rng.randint(1, total))) for _ in range(15)]
    plans += [("delay", rng.uniform(0.3, duration)) for _ in range(5)]
    killed = 0
    for i, (kind, where) in enumerate(plans):
        root = shutil.copytree(base, tmp_path / f"try{i}")
        if kind == "checkpoint":
            proc = _child(root, kill_at=int(where))
            code = proc.wait(120)
            assert code == -9, f"checkpoint {int(where)} ({names[int(where) - 1]}): exit {code}"
        else:
            proc = _child(root)
            time.sleep(where)
            proc.kill()
            code = proc.wait(120)
        killed += code == -9
        _rerun(root)
        assert _published(root) == expected, f"try {i}: killed at {kind} {where}"
        shutil.rmtree(root)
    assert killed >= 15
