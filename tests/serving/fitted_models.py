"""Models fitted on a served workspace's training set and loaded as the API loads them (the parity tests' set-up)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from leadops.bundle import save_bundle
from leadops.config import load
from leadops.jobs.routing import declared_activity_types, plan
from leadops.modeling.context import build_context
from leadops.modeling.train import fit_scorer
from leadops.serving.model import ServedModel
from leadops.warehouse.connection import open_warehouse


def served_models(
    ws: Path, names: Sequence[str], root: Path, extra: Mapping[str, Any] | None = None
) -> dict[str, ServedModel]:
    """Each named model (configured, or a spec in `extra`) fitted, saved under `root` and loaded: versions 1, 2, ..."""
    settings = load(ws)
    settings.models.update(extra or {})
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        context = build_context(settings, wh)
    routing = plan(
        settings.routing, settings.business, None, declared_activity_types(settings.contracts, settings.sources)
    )
    out = {}
    for i, name in enumerate(names):
        scorer = fit_scorer(settings, name, context)
        path = save_bundle(root / name, scorer, context.training.spec)
        out[name] = ServedModel(i + 1, path, routing, top_n=settings.scoring.top_reasons)
    return out
