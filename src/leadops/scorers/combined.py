"""Combined scorers: the fit x engagement grade matrix (A1..D4) and a weighted blend of any scorers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import ScorerError
from leadops.scorers.base import Scorer, build_scorer, load_scorer
from leadops.scorers.frame import Frame
from leadops.scorers.reasons import ReasonMatrix, merged_matrix
from leadops.settings.models import AnyScorerSpec, BlendSpec, MatrixSpec


def _built(ref: Any, where: str, parent: AnyScorerSpec) -> Scorer:
    """A sub-scorer, worded with the parent's feature labels and meanings where it declares none of its own."""
    if isinstance(ref, str):
        raise ScorerError(f"{where}: model {ref!r} is a name; build with build_scorer(spec, catalog=models)")
    words = {
        "feature_labels": {**parent.feature_labels, **ref.feature_labels},
        "feature_meanings": {**parent.feature_meanings, **ref.feature_meanings},
    }
    return build_scorer(ref.model_copy(update=words))


class _Composite(Scorer):
    """Sub-scorers fitted on the same X and saved in components/<name>/ as full artifacts of their own."""

    components_: dict[str, Scorer]

    @property
    def learns_from_labels(self) -> bool:  # type: ignore[override]
        return any(s.learns_from_labels for s in self.components_.values())

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        for scorer in self.components_.values():
            scorer.fit(X, y, X_val=X_val, y_val=y_val)

    def _shares(self) -> dict[str, float]:
        """Each component's weight in the overall reasons (equal shares: the matrix cell weighs fit and engagement)."""
        return {name: 1.0 / len(self.components_) for name in self.components_}

    def _diagnose(self, X: Frame) -> list[str]:
        return [f"{name}: {w}" for name, s in self.components_.items() for w in s.diagnose(X)]

    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        """Sub-scorers' own top_n reasons, tagged with their component name and weighted by their share."""
        shares = self._shares()
        parts = [(name, shares[name], s._reason_matrix(s._check(X), top_n)) for name, s in self.components_.items()]
        return merged_matrix(parts, len(X), top_n)

    def components(self, X: Frame) -> tuple[np.ndarray, np.ndarray] | None:
        """The `fit` and `engagement` sub-scores when this scorer has both components, else None."""
        fit, eng = self.components_.get("fit"), self.components_.get("engagement")
        if fit is None or eng is None:
            return None
        X = self._check(X)
        return np.asarray(fit.scores(X).score, dtype=float), np.asarray(eng.scores(X).score, dtype=float)

    def _state(self) -> dict[str, Any]:
        return {"components": list(self.components_)}

    def _write_files(self, path: Path) -> None:
        for name, scorer in self.components_.items():
            scorer.save(path / "components" / name)

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        self.components_ = {name: load_scorer(path / "components" / name) for name in state["components"]}


class MatrixScorer(_Composite):
    """Cell = fit grade letter + engagement digit (e.g. A1); score = the configured cell value."""

    scorer_type = "matrix"
    spec: MatrixSpec

    def __init__(self, spec: MatrixSpec) -> None:
        super().__init__(spec)
        fit, eng = _built(spec.fit, "matrix.fit", spec), _built(spec.engagement, "matrix.engagement", spec)
        self.components_ = {"fit": fit, "engagement": eng}
        fit_labels, eng_labels = fit.spec.grades.labels(), eng.spec.grades.labels()
        missing = [f + e for f in fit_labels for e in eng_labels if f + e not in spec.cells]
        if missing:
            raise ScorerError(
                f"matrix.cells: expected a score for every fit x engagement grade pair, missing {missing} "
                f"(fit grades {fit_labels}, engagement grades {eng_labels})"
            )

    def cells(self, X: Frame) -> np.ndarray:
        """Cell label per row, e.g. 'A1'."""
        fit = np.asarray([str(g) for g in self.components_["fit"].scores(X).grade.tolist()], dtype=object)
        eng = np.asarray([str(g) for g in self.components_["engagement"].scores(X).grade.tolist()], dtype=object)
        return np.char.add(fit.astype(str), eng.astype(str)).astype(object)

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        cells = self.spec.cells
        return np.array([cells[c] for c in self.cells(X)], dtype=float), None

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        return raw

    def _grades(self, score: np.ndarray, raw: np.ndarray, X: Frame) -> np.ndarray:
        return self.cells(X)

    def _fold_spec(self) -> AnyScorerSpec:
        return self.spec.model_copy(update={"calibration": None})


class BlendScorer(_Composite):
    """score = sum(weight * component score) / sum(weight); probability blended likewise when all have one."""

    scorer_type = "blend"
    spec: BlendSpec

    def __init__(self, spec: BlendSpec) -> None:
        super().__init__(spec)
        self.components_ = {n: _built(c.scorer, f"blend.components.{n}", spec) for n, c in spec.components.items()}

    def _shares(self) -> dict[str, float]:
        total = sum(c.weight for c in self.spec.components.values())
        return {n: c.weight / total for n, c in self.spec.components.items()}

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        shares = self._shares()
        raw = np.zeros(len(X))
        prob = np.zeros(len(X))
        for name, scorer in self.components_.items():
            out = scorer.scores(X)
            raw += shares[name] * np.asarray(out.score, dtype=float)
            prob += shares[name] * np.asarray(out.probability, dtype=float)
        return raw, (prob if np.isfinite(prob).all() and len(X) else None)

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        return raw
