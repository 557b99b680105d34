"""The one-machine engine: for each chunk, features -> champion + challengers -> staged rows in the warehouse."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import pandas as pd

from leadops.jobs import select
from leadops.jobs.candidates import SalesCandidates
from leadops.jobs.checkpoints import checkpoint
from leadops.jobs.coverage import CoverageTally
from leadops.jobs.inputs import FeatureSource
from leadops.jobs.model import ModelRef, ScorerLike, check_features
from leadops.jobs.scoring import model_matrix, score_chunk, shadow_chunk, with_run_id
from leadops.warehouse import Warehouse

Progress = Callable[[str, int, int], None]


def score_chunks(
    warehouse: Warehouse,
    features: Mapping[int, FeatureSource],
    *,
    run_id: str,
    as_of: datetime,
    champion: tuple[ModelRef, ScorerLike],
    challengers: list[tuple[ModelRef, ScorerLike]],
    all_reasons: bool,
    top_n: int,
    total: int,
    progress: Progress | None = None,
    tally: CoverageTally | None = None,
    kept: SalesCandidates | None = None,
) -> dict[int, str]:
    """Score every chunk of the run's open leads; return shadow problems (a challenger that could not score).

    `features` maps each model version to the source of its own rows; models sharing a source (the same
    fitted spec) share one build per chunk; `kept` holds on to the rows of the leads likely routed to Sales."""
    ref, model = champion
    problems: dict[int, str] = {}
    live = list(challengers)
    done = 0
    for chunk in range(select.chunk_count(warehouse, run_id)):
        ids = select.chunk_lead_ids(warehouse, run_id, chunk)
        built: dict[int, pd.DataFrame] = {}

        def rows_for(version: int, ids: list[str] = ids, built: dict[int, pd.DataFrame] = built) -> pd.DataFrame:
            source = features[version]
            if id(source) not in built:
                built[id(source)] = source.build(as_of, ids)
            return built[id(source)]

        X = rows_for(ref.version)
        check_features(ref, list(X.columns), {c: str(t) for c, t in X.dtypes.items()})
        if tally is not None:
            tally.add(model_matrix(ref, X))
        rows = score_chunk(model, ref, X, with_reasons=all_reasons, top_n=top_n)
        if kept is not None:
            kept.add(X, rows)
        shadows = []
        for cref, cmodel in list(live):
            try:
                CX = rows_for(cref.version)
                check_features(cref, list(CX.columns), {c: str(t) for c, t in CX.dtypes.items()})
                shadows.append(shadow_chunk(cmodel, cref, CX))
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
