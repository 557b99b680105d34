"""Stability against the champion on the same leads: how grades migrate, which of today's MQLs the challenger
would drop or add, and how much of Sales' top K stays the same."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadops.evaluation._inputs import ArrayLike, FloatArray, as_scores
from leadops.evaluation.errors import EvaluationError
from leadops.evaluation.metrics import midranks
from leadops.evaluation.ranking import Ranking


@dataclass(frozen=True)
class ChampionScores:
    """The current champion's output on the evaluation rows (same order): score, grade and MQL threshold."""

    score: ArrayLike
    grade: ArrayLike | None = None
    mql_threshold: float | None = None


def _labels(x: ArrayLike, name: str, n: int) -> pd.Series:
    """Grades as strings ('(missing)' for nulls), keeping an ordered categorical's order in the dtype."""
    if isinstance(x, pd.Series):
        s = x.reset_index(drop=True)
    elif isinstance(x, pd.Categorical):
        s = pd.Series(x)
    else:
        s = pd.Series(np.asarray(x, dtype=object))
    if s.shape[0] != n:
        raise EvaluationError(f"{name}: expected {n} grades (one per row), got {s.shape[0]}")
    return s


def _length(x: ArrayLike) -> int:
    """Number of rows of a Series, Categorical, list or array."""
    return len(x) if isinstance(x, pd.Series | pd.Categorical) else int(np.asarray(x, dtype=object).shape[0])


def grade_order(*grades: pd.Series) -> list[str]:
    """Order of grade labels: an ordered categorical's categories if any, else sorted labels (A before B)."""
    for g in grades:
        if isinstance(g.dtype, pd.CategoricalDtype) and g.dtype.ordered:
            cats = [str(c) for c in g.dtype.categories]
            extra = sorted({str(v) for gg in grades for v in gg.dropna().unique()} - set(cats))
            return cats + extra
    return sorted({str(v) for g in grades for v in g.dropna().unique()})


def migration_matrix(
    champion_grade: ArrayLike, challenger_grade: ArrayLike, *, order: list[str] | None = None
) -> pd.DataFrame:
    """Counts of leads by champion grade (rows) x challenger grade (columns); every grade appears in both."""
    ch = _labels(champion_grade, "champion_grade", _length(champion_grade))
    cl = _labels(challenger_grade, "challenger_grade", ch.shape[0])
    labels = order or grade_order(ch, cl)
    a = ch.astype(object).where(ch.notna(), "(missing)").astype(str)
    b = cl.astype(object).where(cl.notna(), "(missing)").astype(str)
    if (a == "(missing)").any() or (b == "(missing)").any():
        labels = [*labels, "(missing)"]
    unknown = (set(a) | set(b)) - set(labels)
    if unknown:
        raise EvaluationError(f"grade order: expected every grade in {labels}, got also {sorted(unknown)}")
    idx = {g: i for i, g in enumerate(labels)}
    ia = a.map(idx).to_numpy(dtype=np.int64)
    ib = b.map(idx).to_numpy(dtype=np.int64)
    k = len(labels)
    counts = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k)
    out = pd.DataFrame(counts, index=pd.Index(labels, name="champion"), columns=pd.Index(labels, name="challenger"))
    return out


def spearman(a: FloatArray, b: FloatArray) -> float:
    """Spearman rank correlation (Pearson on midranks); NaN when either score is constant."""
    ra, rb = midranks(a), midranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = math.sqrt(float((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / den) if den > 0 else math.nan


def stability(
    champion: ChampionScores,
    challenger_score: ArrayLike,
    *,
    challenger_grade: ArrayLike | None = None,
    challenger_mql_threshold: float | None = None,
    capacity_k: int | None = None,
    grade_order_: list[str] | None = None,
) -> dict[str, Any]:
    """Everything that changes for Sales if the challenger replaces the champion, as a JSON-able dict.

    Keys: n, spearman, migration (matrix dict or None), grade_labels, share_same_grade, mql (dropped/added
    counts and their share of today's MQLs, or None without thresholds), top_k_overlap (share of the
    champion's top K also in the challenger's, or None).
    """
    s_new = as_scores(challenger_score, "score")
    n = s_new.shape[0]
    s_old = as_scores(champion.score, "champion.score", n)
    out: dict[str, Any] = {"n": n, "spearman": _none(spearman(s_old, s_new))}
    out["migration"] = None
    out["grade_labels"] = None
    out["share_same_grade"] = None
    if champion.grade is not None and challenger_grade is not None:
        m = migration_matrix(
            _labels(champion.grade, "champion.grade", n),
            _labels(challenger_grade, "grade", n),
            order=grade_order_,
        )
        out["grade_labels"] = [str(c) for c in m.index]
        out["migration"] = m.to_numpy().tolist()
        out["share_same_grade"] = float(np.trace(m.to_numpy()) / n) if n else None
    thr_old = champion.mql_threshold if champion.mql_threshold is not None else challenger_mql_threshold
    out["mql"] = None
    if thr_old is not None and challenger_mql_threshold is not None:
        old = s_old >= thr_old
        new = s_new >= challenger_mql_threshold
        n_old = int(old.sum())
        dropped = int((old & ~new).sum())
        added = int((new & ~old).sum())
        out["mql"] = {
            "champion_threshold": float(thr_old),
            "challenger_threshold": float(challenger_mql_threshold),
            "champion_mqls": n_old,
            "challenger_mqls": int(new.sum()),
            "kept": int((old & new).sum()),
            "dropped": dropped,
            "added": added,
            "dropped_share": dropped / n_old if n_old else None,
            "added_share": added / n_old if n_old else None,
        }
    out["top_k_overlap"] = None
    if capacity_k is not None and n > 0:
        k = min(int(capacity_k), n)
        p_old = Ranking(s_old).membership(k)
        p_new = Ranking(s_new).membership(k)
        out["top_k_overlap"] = float((p_old * p_new).sum() / k) if k else None
    return out


def migration_frame(stab: dict[str, Any]) -> pd.DataFrame | None:
    """The migration matrix of a stability dict back as a labelled DataFrame."""
    if not stab or stab.get("migration") is None:
        return None
    labels = stab["grade_labels"]
    return pd.DataFrame(
        stab["migration"],
        index=pd.Index(labels, name="champion"),
        columns=pd.Index(labels, name="challenger"),
    )


def _none(x: float) -> float | None:
    """NaN -> None."""
    return None if math.isnan(x) else x
