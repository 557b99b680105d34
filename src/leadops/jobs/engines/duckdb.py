"""The one-machine engine: for each chunk, features -> champion + challengers -> staged rows in the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from leadops.jobs import select
from leadops.jobs.checkpoints import checkpoint
from leadops.jobs.inputs import FeatureSource
from leadops.jobs.model import ModelRef, ScorerLike, check_features
from leadops.jobs.scoring import score_chunk, shadow_chunk, with_run_id
from leadops.warehouse import Warehouse

Progress = Callable[[str, int, int], None]


def score_chunks(
    warehouse: Warehouse,
    features: FeatureSource,
    *,
    run_id: str,
    as_of: datetime,
    champion: tuple[ModelRef, ScorerLike],
    challengers: list[tuple[ModelRef, ScorerLike]],
    all_reasons: bool,
    top_n: int,
    total: int,
    progress: Progress | None = None,
) -> dict[int, str]:
    """Score every chunk of the run's open leads; return shadow problems (a challenger that could not score)."""
    ref, model = champion
    problems: dict[int, str] = {}
    live = list(challengers)
    done = 0
    for chunk in range(select.chunk_count(warehouse, run_id)):
        ids = select.chunk_lead_ids(warehouse, run_id, chunk)
        X = features.build(as_of, ids)
        check_features(ref, list(X.columns), {c: str(t) for c, t in X.dtypes.items()})
        rows = score_chunk(model, ref, X, with_reasons=all_reasons, top_n=top_n)
        shadows = []
        for cref, cmodel in list(live):
            try:
                check_features(cref, list(X.columns), {c: str(t) for c, t in X.dtypes.items()})
                shadows.append(shadow_chunk(cmodel, cref, X))
            except Exception as exc:  # a broken challenger never stops the champion's run
                problems[cref.version] = f"challenger v{cref.version}: {exc}"
                live.remove((cref, cmodel))
        with warehouse.transaction():
            warehouse.insert("score_stage", with_run_id(rows, run_id))
            for table in shadows:
                warehouse.insert("shadow_scores", with_run_id(table, run_id))
        done += len(ids)
        if progress is not None:
            progress("score", done, total)
        checkpoint(f"chunk {chunk} scored")
    dead = {cref.version for cref, _ in challengers} - {cref.version for cref, _ in live}
    if dead:
        warehouse.execute(
            f"DELETE FROM shadow_scores WHERE run_id = ? AND model_version IN ({', '.join('?' for _ in dead)})",
            [run_id, *sorted(dead)],
        )
    return problems
