"""LightGBM scorer: trees saved as LightGBM text, SHAP reasons, class weights undone before calibration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import ScorerError
from leadops.scorers import shap_memo
from leadops.scorers.base import Scorer
from leadops.scorers.calibration import stratified_folds
from leadops.scorers.conditions import as_float, as_text
from leadops.scorers.encoding import category_codes, row_major, split_kinds
from leadops.scorers.frame import Frame, SmallFrame
from leadops.scorers.lightgbm_row import CONTRIB, RAW_SCORE, SingleRow
from leadops.scorers.reasons import ReasonMatrix
from leadops.settings.models import AnyScorerSpec, LightGBMSpec

_SEARCH_SPACE: dict[str, list[float]] = {
    "num_leaves": [15, 31, 63],
    "learning_rate": [0.03, 0.05, 0.08],
    "min_child_samples": [20, 50, 100],
    "feature_fraction": [0.7, 0.9, 1.0],
    "lambda_l2": [0.0, 1.0, 5.0],
}


SMALL_INPUT = 1_000  # rows below which prediction runs on one thread
SMALL_SHAP = 16  # rows below which TreeSHAP runs on one thread (it costs tens of predicts a row)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def _unique_rows(M: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(distinct rows, index of each row's distinct row) when duplicates save >= 10% of rows, else (None, None).

    Rows compare by their bytes, so a duplicate is bit-identical and gets bit-identical SHAP values.
    """
    if len(M) < 64:
        return None, None
    rows = np.ascontiguousarray(M)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if len(first) > 0.9 * len(M):
        return None, None
    return rows[first], inverse.ravel()


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class LightGBMScorer(Scorer):
    """Gradient boosting on a float matrix (categoricals as saved integer codes, handled natively)."""

    scorer_type = "lightgbm"
    contribution_unit = "log-odds"
    learns_from_labels = True
    spec: LightGBMSpec

    def matrix(self, X: Frame) -> np.ndarray:
        """C-contiguous float64 matrix in training column order (what LightGBM reads without a copy).

        Unseen or missing categories become NaN. A SmallFrame keeps it, so scoring and reasons build it once.
        """
        if isinstance(X, SmallFrame):
            key = ("lightgbm.matrix", id(self))
            found = X.memo.get(key)
            if found is None:
                found = X.memo[key] = self._matrix(X)
            return found
        return self._matrix(X)

    def _matrix(self, X: Frame) -> np.ndarray:
        if isinstance(X, SmallFrame) and len(X) == 1:  # one lead: the row straight from Python values
            return self._one_row(X)
        cols = [
            category_codes(X[f], self.categories_[f]) if f in self.categories_ else as_float(X[f])
            for f in self.columns_
        ]
        return row_major(cols, len(X))

    def _one_row(self, X: SmallFrame) -> np.ndarray:
        """matrix() of a one-lead SmallFrame: category codes from a lookup kept per fitted category list."""
        kept: tuple[Any, dict[str, dict[str, float]]] | None = getattr(self, "_code_lookup", None)
        if kept is None or kept[0] is not self.categories_:
            lookups = {f: {c: float(i) for i, c in enumerate(cats)} for f, cats in self.categories_.items()}
            kept = self._code_lookup = (self.categories_, lookups)
        lookups = kept[1]
        row = np.empty((1, len(self.columns_)), dtype=np.float64)
        for j, f in enumerate(self.columns_):
            col = X[f]
            value = col[0]
            lookup = lookups.get(f)
            if lookup is not None:
                # a SmallFrame text column holds str or None already (what as_text would give back)
                text = value if (value is None or type(value) is str) and col.dtype == object else as_text(col)[0]
                row[0, j] = np.nan if text is None else lookup.get(text, np.nan)
            else:
                row[0, j] = value if col.dtype == np.float64 else as_float(col)[0]
        return row

    def _threads(self, rows: int | None = None, small: int = SMALL_INPUT) -> int:
        """Prediction threads: the spec's num_threads when set, else every core this process may use.

        Fewer than `small` rows get one thread: starting OpenMP's team costs more than the trees, and a
        row's prediction is the same whichever thread computes it.
        """
        if rows is not None and rows < small:
            return 1
        return int(self.spec.num_threads) or available_cores()

    def _params(self, spec: LightGBMSpec) -> dict[str, Any]:
        return {
            "objective": "binary",
            "learning_rate": spec.learning_rate,
            "num_leaves": spec.num_leaves,
            "min_data_in_leaf": spec.min_child_samples,
            "feature_fraction": spec.feature_fraction,
            "bagging_fraction": spec.bagging_fraction,
            "bagging_freq": 1 if spec.bagging_fraction < 1 else 0,
            "lambda_l2": spec.lambda_l2,
            "seed": spec.seed,
            "num_threads": spec.num_threads,
            "verbosity": -1,
            "metric": "binary_logloss",
        }

    def _train(
        self, spec: LightGBMSpec, M: np.ndarray, y: np.ndarray, Mv: np.ndarray | None, yv: np.ndarray | None
    ) -> tuple[Any, int, float]:
        """(booster, best iteration, validation logloss or NaN)."""
        import lightgbm as lgb

        params = self._params(spec)
        if spec.class_weight == "balanced":
            params["scale_pos_weight"] = self.scale_pos_weight_
        cat_idx = [j for j, f in enumerate(self.columns_) if f in self.categories_]
        dtrain = lgb.Dataset(M, label=y, categorical_feature=cat_idx, free_raw_data=True)
        if Mv is None or yv is None:
            booster = lgb.train(params, dtrain, num_boost_round=spec.n_estimators)
            return booster, spec.n_estimators, float("nan")
        dval = lgb.Dataset(Mv, label=yv, categorical_feature=cat_idx, reference=dtrain)
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=spec.n_estimators,
            valid_sets=[dval],
            callbacks=[lgb.early_stopping(spec.early_stopping_rounds, verbose=False)],
        )
        best = int(booster.best_iteration) or spec.n_estimators
        return booster, best, float(booster.best_score["valid_0"]["binary_logloss"])

    search_results_: dict[str, Any]

    def _search(
        self, M: np.ndarray, y: np.ndarray, Mv: np.ndarray | None, yv: np.ndarray | None
    ) -> tuple[LightGBMSpec, int]:
        """Small random search on the validation split (carved from train when none): best spec, its trees."""
        if Mv is None or yv is None:
            hold = stratified_folds(y, 5, self.spec.seed) == 0
            M, Mv, y, yv = M[~hold], M[hold], y[~hold], y[hold]
        rng = np.random.default_rng(self.spec.seed)
        candidates = [self.spec]
        for _ in range(self.spec.search_iterations - 1):
            pick = {k: vals[int(rng.integers(len(vals)))] for k, vals in _SEARCH_SPACE.items()}
            pick["num_leaves"] = int(pick["num_leaves"])
            pick["min_child_samples"] = int(pick["min_child_samples"])
            candidates.append(self.spec.model_copy(update=pick))
        best: tuple[float, LightGBMSpec, int] | None = None
        for cand in candidates:
            _, iters, loss = self._train(cand, M, y, Mv, yv)
            if best is None or loss < best[0]:
                best = (loss, cand, iters)
        assert best is not None
        self.search_results_ = {"best_logloss": best[0], "tried": len(candidates)}
        return best[1], best[2]

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        import lightgbm as lgb

        assert y is not None
        n1 = float(y.sum())
        if n1 in (0.0, float(len(y))):
            raise ScorerError("lightgbm: expected both converted and non-converted leads in y, got one class")
        _, cat = split_kinds(X, None, self.spec.categorical, "lightgbm")
        self.columns_ = [str(c) for c in X.columns]
        self.categories_ = {f: sorted({v for v in as_text(X[f]) if v is not None}) for f in cat}
        self.scale_pos_weight_ = (len(y) - n1) / n1
        self.offset_ = -float(np.log(self.scale_pos_weight_)) if self.spec.class_weight == "balanced" else 0.0
        M = self.matrix(X)
        Mv = self.matrix(X_val) if X_val is not None and y_val is not None else None
        spec = self.spec
        self.search_results_ = {}
        if spec.search:
            spec, iters = self._search(M, y, Mv, y_val)
            if Mv is None:
                spec = spec.model_copy(update={"n_estimators": iters})
        self.best_spec_ = spec.model_copy(update={"search": False, "calibration": None})
        booster, best, _ = self._train(spec, M, y, Mv, y_val)
        self.best_iteration_ = best
        if best >= booster.current_iteration():
            self.booster_ = booster.free_dataset()  # every tree is kept: no text round trip, the data is let go
        else:
            self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))

    def _fold_spec(self) -> AnyScorerSpec:
        return self.best_spec_.model_copy(update={"n_estimators": self.best_iteration_})

    def single_row(self) -> SingleRow:
        """LightGBM's prepared one-row predictors for the current booster (made on first use, kept with it)."""
        found: SingleRow | None = getattr(self, "_single_row", None)
        if found is None or found.booster is not self.booster_:
            found = self._single_row = SingleRow(self.booster_, len(self.columns_))
        return found

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        M = self.matrix(X)
        if len(M) == 1:  # one lead online: the fast C path, the same trees and numbers as predict()
            raw = self.single_row().predict(M[0], RAW_SCORE)
        else:
            raw = np.asarray(self.booster_.predict(M, raw_score=True, num_threads=self._threads(len(M))), dtype=float)
        raw += self.offset_
        return raw, _sigmoid(raw)

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        return 100.0 * probability

    def _shap(self, X: Frame) -> np.ndarray:
        """TreeSHAP (pred_contrib) matrix: one column per feature, then the expected value; log-odds.

        TreeSHAP costs tens of predicts per row, so rows that take every split alike (common in lead data:
        counts, flags, categories; and the same Sales leads night after night) are explained once
        (`shap_memo`) and the result is copied to the others.
        """
        if len(X) == 0:
            return np.zeros((0, len(self.columns_) + 1))
        M = self.matrix(X)
        pattern = self.split_pattern() if len(M) >= shap_memo.MIN_ROWS else None
        if pattern is not None and pattern.exact:
            return shap_memo.contributions(pattern, M, self._tree_shap)
        uniq, inverse = _unique_rows(M)
        rows = M if uniq is None else uniq
        c = self._tree_shap(rows)
        return c if inverse is None else c[inverse]

    def _tree_shap(self, rows: np.ndarray) -> np.ndarray:
        """LightGBM's TreeSHAP of these rows (one row: the single-row C path, the same numbers)."""
        if len(rows) == 1:
            return self.single_row().predict(rows[0], CONTRIB)[None, :]
        c = self.booster_.predict(rows, pred_contrib=True, num_threads=self._threads(len(rows), SMALL_SHAP))
        return np.asarray(c, dtype=float)

    def split_pattern(self) -> shap_memo.SplitPattern:
        """The booster's splits per feature (made on first use, kept with it): what the SHAP memo keys rows by."""
        found: shap_memo.SplitPattern | None = getattr(self, "_split_pattern", None)
        if found is None or found.booster is not self.booster_:
            found = self._split_pattern = shap_memo.SplitPattern(self.booster_, len(self.columns_))
        return found

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """SHAP contributions (pred_contrib) per feature plus `bias`, in log-odds; rows sum to `raw`."""
        X = self._check(X)
        c = self._shap(X)
        out = pd.DataFrame(c[:, :-1], columns=self.columns_, index=X.index)
        out["bias"] = c[:, -1] + self.offset_
        return out

    def _probability_of_raw(self, raw: np.ndarray) -> np.ndarray:
        return _sigmoid(np.asarray(raw, dtype=float))

    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        """SHAP values of exactly these rows (TreeSHAP costs many predicts a row: pass only the rows to explain)."""
        cols = list(self.columns_)
        shap = self._shap(X)
        contrib, base = shap[:, :-1], shap[:, -1] + self.offset_
        book = self.phrasebook()
        points = self._path_points(base, base + contrib.sum(axis=1), contrib)
        points = np.where(self._usable(X, cols, book), points, 0.0)

        def text(j: int, rows: np.ndarray, p: np.ndarray) -> np.ndarray:
            return book.texts(cols[j], X, rows)

        return ReasonMatrix(contrib, cols, text, points=points)

    def _state(self) -> dict[str, Any]:
        return {
            "columns": self.columns_,
            "categories": self.categories_,
            "offset": self.offset_,
            "scale_pos_weight": self.scale_pos_weight_,
            "best_iteration": self.best_iteration_,
            "best_params": self.best_spec_.model_dump(
                mode="json", exclude={"feature_labels", "feature_meanings", "grades"}
            ),
            "search": self.search_results_,
            "model_file": "model.txt",
        }

    def _write_files(self, path: Path) -> None:
        (path / "model.txt").write_text(self.booster_.model_to_string(), encoding="utf-8")

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        import lightgbm as lgb

        self.columns_ = list(state["columns"])
        self.categories_ = {str(k): list(v) for k, v in state["categories"].items()}
        self.offset_ = float(state["offset"])
        self.scale_pos_weight_ = float(state["scale_pos_weight"])
        self.best_iteration_ = int(state["best_iteration"])
        self.search_results_ = dict(state.get("search", {}))
        self.best_spec_ = self.spec.model_copy(update=dict(state["best_params"]))
        self.booster_ = lgb.Booster(model_str=(path / state["model_file"]).read_text(encoding="utf-8"))
