"""The Scorer protocol of every methodology: fit / score / explain / save, and pickle-free load_scorer."""

from __future__ import annotations

import importlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

import leadops
from leadops.errors import ScorerError
from leadops.scorers import artifacts
from leadops.scorers.calibration import Calibrator, stratified_folds
from leadops.scorers.frame import Frame, SmallFrame
from leadops.scorers.grades import GradeScale
from leadops.scorers.phrases import Levels, Phrasebook, fit_levels
from leadops.scorers.reasons import (
    ReasonMatrix,
    explanation_frame,
    join_texts,
    label_for,
    reason_rows,
    reasons_json,
    select_reasons,
)
from leadops.settings.models import (
    AnyScorerSpec,
    BlendComponent,
    BlendSpec,
    MatrixSpec,
    parse_scorer_spec,
)

SCORE_COLUMNS = ["score", "probability", "grade", "raw"]

_CLASSES: dict[str, str] = {
    "points": "leadops.scorers.points:PointsScorer",
    "icp_fit": "leadops.scorers.icp_fit:ICPFitScorer",
    "engagement": "leadops.scorers.engagement:EngagementScorer",
    "scorecard": "leadops.scorers.scorecard:ScorecardScorer",
    "lightgbm": "leadops.scorers.lightgbm_scorer:LightGBMScorer",
    "matrix": "leadops.scorers.combined:MatrixScorer",
    "blend": "leadops.scorers.combined:BlendScorer",
}


def _as_frame(X: Any, name: str) -> Frame:
    if not isinstance(X, pd.DataFrame | SmallFrame):
        raise ScorerError(f"{name}: expected a pandas DataFrame (or SmallFrame) of features, got {type(X).__name__}")
    return X


def frame_index(X: Frame) -> pd.Index:
    """X's row labels as a pandas Index (a SmallFrame keeps them as a list)."""
    return X.index if isinstance(X, pd.DataFrame) else pd.Index(X.index, name="lead_id")


@dataclass(frozen=True)
class Scores:
    """score (0..100), probability (NaN when none), grade and raw per row: score()'s columns as arrays."""

    score: np.ndarray
    probability: np.ndarray
    grade: np.ndarray
    raw: np.ndarray


def as_labels(y: Any, X: pd.DataFrame, name: str) -> np.ndarray:
    """0/1 int array aligned with X; anything else (NaN, 3 classes, wrong length) is an error."""
    aligned = isinstance(y, pd.Series) and len(y) == len(X) and not y.index.equals(X.index)
    if aligned and set(y.index) == set(X.index):
        y = y.reindex(X.index)
    arr = np.asarray(y)
    if arr.shape != (len(X),):
        raise ScorerError(f"{name}: expected {len(X)} labels (one per row of the features), got shape {arr.shape}")
    try:
        f = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise ScorerError(f"{name}: expected 0/1 or boolean labels, got dtype {arr.dtype}") from exc
    bad = ~np.isin(f, [0.0, 1.0])
    if bad.any():
        raise ScorerError(f"{name}: expected 0/1 labels, got {np.unique(arr[bad])[:5].tolist()}")
    return f.astype(int)


class Scorer(ABC):
    """Common protocol: parameters live in `spec` (the constructor argument); fitted state ends with `_`."""

    scorer_type: ClassVar[str]
    learns_from_labels: ClassVar[bool] = False
    contribution_unit: ClassVar[str] = "points of the raw score"

    def __init__(self, spec: AnyScorerSpec) -> None:
        if getattr(spec, "type", None) != self.scorer_type:
            raise ScorerError(f"{type(self).__name__}: expected a spec of type {self.scorer_type!r}, got {spec!r}")
        self.spec = spec

    # ---------------------------------------------------------------- public protocol

    @property
    def feature_labels(self) -> dict[str, str]:
        return dict(self.spec.feature_labels)

    def label(self, feature: str) -> str:
        """Human text for a feature (configured label or the column name)."""
        return label_for(feature, self.spec.feature_labels)

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | np.ndarray | None = None,
        *,
        X_val: pd.DataFrame | None = None,
        y_val: pd.Series | np.ndarray | None = None,
    ) -> Self:
        """Learn what the methodology learns (maybe nothing), then calibration and quantile grades."""
        X = _as_frame(X, "X")
        yv = as_labels(y, X, "y") if y is not None else None
        Xv: pd.DataFrame | None = None
        yvv: np.ndarray | None = None
        if X_val is not None:
            Xv = _as_frame(X_val, "X_val")
            if list(Xv.columns) != list(X.columns):
                Xv = self._match_columns(Xv, list(X.columns), "X_val")
            yvv = as_labels(y_val, Xv, "y_val") if y_val is not None else None
        if self.learns_from_labels and yv is None:
            raise ScorerError(f"{self.scorer_type} scorer: fit needs labels y (converted 0/1), got none")
        self.feature_names_in_ = [str(c) for c in X.columns]
        self.feature_dtypes_ = {str(c): str(X[c].dtype) for c in X.columns}
        self.n_features_in_ = len(self.feature_names_in_)
        self.feature_levels_ = fit_levels(X)
        self._fit(X, yv, Xv, yvv)
        self.calibrator_: Calibrator | None = None
        cal = self.spec.calibration
        held_out = Xv if Xv is not None and len(Xv) else X
        predicted = self._predict(held_out)  # once: calibration and the quantile grades share it
        if cal is not None and yv is not None:
            if Xv is not None and yvv is not None:
                self.calibrator_ = Calibrator.fit(cal.method, np.asarray(predicted[0], dtype=float), yvv)
            elif self.learns_from_labels:
                self.calibrator_ = Calibrator.fit(cal.method, self._out_of_fold_raw(X, yv, cal.cv), yv)
            else:
                self.calibrator_ = Calibrator.fit(cal.method, self._predict(X)[0], yv)
        # quantile grade cut-offs come from held-out scores when there are any
        raw, prob = self._raw_and_probability(held_out, predicted)
        score = self._final_score(raw, prob)
        self.grades_ = GradeScale.fit(self.spec.grades, score if self.spec.grades.basis == "score" else raw)
        self.is_fitted_ = True
        return self

    def _scored(self, X: Frame) -> tuple[Frame, np.ndarray, np.ndarray, np.ndarray]:
        """(checked X, raw, probability, score): what scores() and score() share."""
        X = self._check(X)
        raw, prob = self._raw_and_probability(X)
        return X, raw, prob, self._final_score(raw, prob)

    def scores(self, X: Frame) -> Scores:
        """score()'s columns as arrays, without building a frame (what scoring a few leads online reads)."""
        X, raw, prob, score = self._scored(X)
        return Scores(score, prob, self._grades(score, raw, X), raw)

    def score(self, X: Frame) -> pd.DataFrame:
        """Frame indexed like X: score (0..100), probability (NaN when none), grade, raw (native value)."""
        X, raw, prob, score = self._scored(X)
        grade = self._grade_column(score, raw, X)
        return pd.DataFrame({"score": score, "probability": prob, "grade": grade, "raw": raw}, index=frame_index(X))

    def explain(self, X: Frame, top_n: int = 3) -> pd.DataFrame:
        """Frame indexed like X: `reasons` (top positive, then negative dicts) and `reason_text`."""
        X = self._check(X)
        return explanation_frame(frame_index(X), select_reasons(self._reason_matrix(X, top_n), top_n))

    def explain_text(self, X: Frame, top_n: int = 3) -> pd.Series:
        """Only the `reason_text` of explain(), indexed like X: no per-row dicts are built (the fast path)."""
        X = self._check(X)
        top = select_reasons(self._reason_matrix(X, top_n), top_n)
        text = pd.array(join_texts(top.texts, top.ok), dtype="str")
        return pd.Series(text, index=frame_index(X), name="reason_text")

    def reasons(self, X: Frame, top_n: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """explain_json()'s two columns as object arrays of str: (reasons JSON, reason_text), one per row."""
        X = self._check(X)
        top = select_reasons(self._reason_matrix(X, top_n), top_n)
        return reasons_json(top), join_texts(top.texts, top.ok)

    def reason_rows(self, X: Frame, top_n: int = 3) -> list[list[tuple[str, float | None, float | None, str]]]:
        """Per row, the reasons of explain_json() as (feature, contribution, points, text) tuples, as its JSON
        reads back: what the API answers, without writing and parsing JSON per lead."""
        X = self._check(X)
        return reason_rows(select_reasons(self._reason_matrix(X, top_n), top_n))

    def explain_json(self, X: Frame, top_n: int = 3) -> pd.DataFrame:
        """explain() as stored by the job: `reasons` as compact JSON text and `reason_text`, indexed like X.

        `reasons` equals json.dumps(explain()'s list, separators=(",", ":"), ensure_ascii=False) with the
        contributions rounded to 6 places, built column-wise without per-row dicts.
        """
        js, text = self.reasons(X, top_n)
        return pd.DataFrame(
            {"reasons": pd.array(js, dtype="str"), "reason_text": pd.array(text, dtype="str")},
            index=frame_index(X),
        )

    def reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        """Every feature's contribution (and score points) per row: what /v1/explain shows in full."""
        return self._reason_matrix(self._check(X), top_n)

    def components(self, X: Frame) -> tuple[np.ndarray, np.ndarray] | None:
        """(fit score, engagement score) arrays (0..100) for scorers built from both; None here."""
        return None

    def component_scores(self, X: Frame) -> pd.DataFrame | None:
        """`fit_score` and `engagement_score` (0..100) indexed like X for scorers built from both; None here."""
        parts = self.components(X)
        if parts is None:
            return None
        return pd.DataFrame({"fit_score": parts[0], "engagement_score": parts[1]}, index=frame_index(X))

    def diagnose(self, X: pd.DataFrame) -> list[str]:
        """Warnings about how the fitted scorer meets these leads (a rule no lead matches); [] when none."""
        return self._diagnose(self._check(X))

    def save(self, path: Path | str, *, overwrite: bool = False) -> Path:
        """Write the artifact directory: spec.yaml, state.json, model files, manifest.json with sha256."""
        import yaml

        self._require_fitted()
        path = Path(path)
        artifacts.prepare_dir(path, overwrite=overwrite)
        spec_dict = self.spec.model_dump(mode="json", by_alias=True)
        (path / "spec.yaml").write_text(yaml.safe_dump(spec_dict, sort_keys=False), encoding="utf-8")
        state = {
            "levels": {f: lv.to_dict() for f, lv in self.feature_levels_.items()},
            "grades": self.grades_.to_dict(),
            "calibration": self.calibrator_.to_dict() if self.calibrator_ else None,
            "scorer": self._state(),
        }
        (path / "state.json").write_text(json.dumps(state, indent=1, allow_nan=False), encoding="utf-8")
        self._write_files(path)
        artifacts.write_manifest(
            path,
            {
                "scorer_type": self.scorer_type,
                "leadops_version": leadops.__version__,
                "feature_names": self.feature_names_in_,
                "feature_dtypes": self.feature_dtypes_,
            },
        )
        return path

    @classmethod
    def load(cls, path: Path | str) -> Scorer:
        """Same as load_scorer(path): verify hashes, rebuild from plain files, no pickle."""
        return load_scorer(path)

    # ---------------------------------------------------------------- hooks for each methodology

    @abstractmethod
    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        """Learn the methodology's own state (rules need none beyond checking their features exist)."""

    @abstractmethod
    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw native value per row and the scorer's own probability (None when it has none)."""

    @abstractmethod
    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        """0..100 score from the raw value (and the final probability, for predictive scorers)."""

    @abstractmethod
    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        """Contributions (n x k), feature names and a column-wise sentence builder, for reason codes."""

    @abstractmethod
    def _state(self) -> dict[str, Any]:
        """Fitted state as plain JSON-able data."""

    @abstractmethod
    def _restore(self, state: dict[str, Any], path: Path) -> None:
        """Set fitted state from `_state()` output (and files in `path`)."""

    def _write_files(self, path: Path) -> None:  # noqa: B027 - optional hook
        """Extra plain files of the artifact (LightGBM text model, scorecard CSV, sub-scorers)."""

    def _diagnose(self, X: Frame) -> list[str]:
        """The methodology's own warnings about X (none by default)."""
        return []

    def _fold_spec(self) -> AnyScorerSpec:
        """Spec for the clones fitted in cross-fitted calibration (no calibration of their own)."""
        return self.spec.model_copy(update={"calibration": None})

    def _grades(self, score: np.ndarray, raw: np.ndarray, X: Frame) -> np.ndarray:
        return self.grades_.assign(score if self.grades_.basis == "score" else raw)

    def _grade_column(self, score: np.ndarray, raw: np.ndarray, X: Frame) -> Any:
        """The `grade` column of score(): straight from the grade scale unless the methodology grades itself."""
        if type(self)._grades is not Scorer._grades:
            return pd.array(self._grades(score, raw, X), dtype=object)
        return self.grades_.assign_column(score if self.grades_.basis == "score" else raw)

    # ---------------------------------------------------------------- shared machinery

    def _raw_and_probability(
        self, X: Frame, predicted: tuple[np.ndarray, np.ndarray | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        raw, native = predicted if predicted is not None else self._predict(X)
        raw = np.asarray(raw, dtype=float)
        if self.calibrator_ is not None:
            prob = self.calibrator_.transform(raw)
        elif native is not None:
            prob = np.asarray(native, dtype=float)
        else:
            prob = np.full(len(raw), np.nan)
        return raw, prob

    def _final_score(self, raw: np.ndarray, prob: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(self._to_score(raw, prob), dtype=float), 0.0, 100.0)

    def _probability_of_raw(self, raw: np.ndarray) -> np.ndarray:
        """The scorer's own probability for a raw value (NaN when it has none; predictive scorers override)."""
        return np.full(np.shape(raw), np.nan)

    def _score_of_raw(self, raw: np.ndarray) -> np.ndarray:
        """The 0..100 score a raw value gets (calibration included): the scale reason points are on."""
        raw = np.asarray(raw, dtype=float)
        prob = self.calibrator_.transform(raw) if self.calibrator_ is not None else self._probability_of_raw(raw)
        return self._final_score(raw, prob)

    def _path_points(self, base: np.ndarray | float, raw: np.ndarray, contrib: np.ndarray) -> np.ndarray:
        """Points each contribution is worth on the lead's own 0..100 score (n x k).

        The score is g(base + sum of contributions) with g the raw -> score map (sigmoid and calibration,
        clamping, saturation). Each contribution gets its share of g's rise along the straight path from the
        base to the lead (Aumann-Shapley): c_j x (g(raw) - g(base)) / (raw - base). The points keep the
        contributions' signs and order and add up to the lead's score minus the base's.
        """
        raw = np.asarray(raw, dtype=float)
        c = np.asarray(contrib, dtype=float)
        b = np.broadcast_to(np.asarray(base, dtype=float), raw.shape)
        if c.size == 0:
            return np.zeros(c.shape)
        rise = raw - b
        flat = np.abs(rise) < 1e-9
        h = 1e-4 * np.maximum(1.0, np.abs(b))
        top = np.where(flat, b + h, raw)
        bottom = np.where(flat, b - h, b)
        slope = (self._score_of_raw(top) - self._score_of_raw(bottom)) / (top - bottom)
        return c * slope[:, None]

    def phrasebook(self) -> Phrasebook:
        """The words of this scorer's reasons: feature meanings and labels from the spec, training levels.

        Built once per (spec, fitted levels) and kept: every request's reasons reuse its inferred meanings.
        """
        levels = getattr(self, "feature_levels_", {})
        kept: tuple[Any, Any, Phrasebook] | None = getattr(self, "_phrasebook", None)
        if kept is not None and kept[0] is self.spec and kept[1] is levels:
            return kept[2]
        book = Phrasebook(self.spec.feature_meanings, self.spec.feature_labels, levels)
        self._phrasebook = (self.spec, levels, book)
        return book

    def _usable(self, X: Frame, features: list[str], book: Phrasebook) -> np.ndarray:
        """n x k: which cells hold a value that may be said to a rep (see Phrasebook.usable)."""
        out = np.ones((len(X), len(features)), dtype=bool)
        if isinstance(X, SmallFrame) and len(X) == 1:  # one lead online: the same rules on plain Python values
            row = out[0]
            for j, f, rule in book.one_row_rules(features, X):
                col = X[f]
                if rule == "finite" and col.dtype == np.float64:
                    row[j] = math.isfinite(col[0])
                else:
                    row[j] = book.usable(f, col)[0]
            return out
        for j, f in enumerate(features):
            out[:, j] = book.usable(f, X[f])
        return out

    def _out_of_fold_raw(self, X: pd.DataFrame, y: np.ndarray, k: int) -> np.ndarray:
        folds = stratified_folds(y, k)
        oof = np.empty(len(y))
        for f in range(k):
            tr, te = folds != f, folds == f
            clone = build_scorer(self._fold_spec())
            clone.feature_names_in_ = self.feature_names_in_
            clone._fit(X.loc[tr], y[tr], None, None)
            oof[te] = clone._predict(X.loc[te])[0]
        return oof

    def _require_fitted(self) -> None:
        if not getattr(self, "is_fitted_", False):
            raise ScorerError(f"{self.scorer_type} scorer is not fitted yet; call fit(X[, y]) before using it")

    def _match_columns(self, X: Frame, expected: list[str], name: str) -> Frame:
        got = [str(c) for c in X.columns]
        missing = [c for c in expected if c not in set(got)]
        extra = [c for c in got if c not in set(expected)]
        if missing or extra or len(set(got)) != len(got):
            raise ScorerError(
                f"{self.scorer_type} scorer: {name} columns do not match the features it was fitted on: "
                f"missing {missing}, unexpected {extra}; expected {expected}, got {got}"
            )
        return X[expected] if isinstance(X, pd.DataFrame) else X.select(expected)

    def _check(self, X: Frame) -> Frame:
        self._require_fitted()
        X = _as_frame(X, "X")
        if [str(c) for c in X.columns] == self.feature_names_in_:
            return X
        return self._match_columns(X, self.feature_names_in_, "X")

    def _require_features(self, X: Frame, needed: list[str], what: str) -> None:
        missing = sorted(set(needed) - set(map(str, X.columns)))
        if missing:
            raise ScorerError(
                f"{self.scorer_type} scorer: {what} use features {missing} that X does not have; "
                f"expected them among {list(map(str, X.columns))}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(type={self.scorer_type!r}, fitted={getattr(self, 'is_fitted_', False)})"


def scorer_class(scorer_type: str) -> type[Scorer]:
    """The class implementing a `type:` tag, imported on first use."""
    target = _CLASSES.get(scorer_type)
    if target is None:
        raise ScorerError(f"scorer type {scorer_type!r} is unknown; expected one of {sorted(_CLASSES)}")
    module, name = target.split(":")
    cls: type[Scorer] = getattr(importlib.import_module(module), name)
    return cls


def resolve_refs(
    spec: AnyScorerSpec, catalog: Mapping[str, Any] | None = None, _seen: tuple[str, ...] = ()
) -> AnyScorerSpec:
    """Replace sub-scorers given by name (matrix/blend) with the named models' specs, recursively."""

    def resolve(ref: Any, where: str) -> AnyScorerSpec:
        if isinstance(ref, str):
            if catalog is None or ref not in catalog:
                known = sorted(catalog) if catalog else []
                raise ScorerError(f"{where}: refers to model {ref!r}, expected one of the models {known}")
            if ref in _seen:
                raise ScorerError(f"{where}: model {ref!r} refers to itself through {list(_seen)}")
            return resolve_refs(parse_scorer_spec(catalog[ref], source=f"model {ref}"), catalog, (*_seen, ref))
        return resolve_refs(ref, catalog, _seen)

    if isinstance(spec, MatrixSpec):
        return spec.model_copy(
            update={
                "fit": resolve(spec.fit, "matrix.fit"),
                "engagement": resolve(spec.engagement, "matrix.engagement"),
            }
        )
    if isinstance(spec, BlendSpec):
        comps = {
            name: BlendComponent(weight=c.weight, scorer=resolve(c.scorer, f"blend.components.{name}"))
            for name, c in spec.components.items()
        }
        return spec.model_copy(update={"components": comps})
    return spec


def build_scorer(spec: AnyScorerSpec | Mapping[str, Any], *, catalog: Mapping[str, Any] | None = None) -> Scorer:
    """Unfitted scorer from its spec (or a mapping such as parsed YAML); `catalog` resolves named models."""
    parsed = resolve_refs(parse_scorer_spec(spec), catalog)
    return scorer_class(parsed.type)(parsed)


def load_scorer(path: Path | str, *, verify: bool = True) -> Scorer:
    """Load an artifact directory: verify sha256 of every file, rebuild from YAML/JSON/text; no pickle.

    verify=False is for callers that have just verified the same directory themselves (load_bundle)."""
    import yaml

    path = Path(path)
    manifest = artifacts.read_manifest(path, verify=verify)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster; the job loads every model
        spec_data = yaml.load((path / "spec.yaml").read_text(encoding="utf-8"), Loader=loader)
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ScorerError(f"load: cannot read spec.yaml/state.json in {path}: {exc}") from exc
    spec = parse_scorer_spec(spec_data, source=str(path / "spec.yaml"))
    if spec.type != manifest.scorer_type:
        raise ScorerError(
            f"load: {path}: manifest says scorer_type {manifest.scorer_type!r}, spec.yaml says {spec.type!r}"
        )
    scorer = scorer_class(spec.type)(spec)
    scorer.feature_names_in_ = list(manifest.feature_names)
    scorer.feature_dtypes_ = dict(manifest.feature_dtypes)
    scorer.n_features_in_ = len(scorer.feature_names_in_)
    scorer.grades_ = GradeScale.from_dict(state["grades"])
    scorer.feature_levels_ = {str(f): Levels.from_dict(v) for f, v in state.get("levels", {}).items()}
    scorer.calibrator_ = Calibrator.from_dict(state["calibration"]) if state.get("calibration") else None
    scorer._restore(state["scorer"], path)
    scorer.is_fitted_ = True
    return scorer
