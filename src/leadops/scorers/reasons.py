"""Reason codes: per-feature contributions as the top positive and negative sentences a sales rep reads."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def label_for(feature: str, labels: Mapping[str, str]) -> str:
    """Human text for a feature: the configured label, else the column name with spaces."""
    return labels.get(feature, feature.replace("_", " "))


def format_value(value: Any) -> str:
    """A feature value as a rep would write it: 3 not 3.0, 0.25 not 0.250000001, 'unknown' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "unknown"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return str(round(v)) if v == round(v) and abs(v) < 1e15 else f"{v:.3g}"
    return str(value)


def format_points(x: float) -> str:
    """Signed points: '+30', '-50', '+2.5'."""
    return f"{round(x):+d}" if abs(x - round(x)) < 0.05 else f"{x:+.1f}"


def format_log_odds(x: float) -> str:
    """Signed log-odds contribution with its odds multiplier: '+0.69 (odds x2.0)'."""
    return f"{x:+.2f} (odds x{math.exp(x):.2f})"


def build_explanations(
    index: pd.Index,
    contributions: np.ndarray,
    features: Sequence[str],
    text: Callable[[int, int, float], str],
    top_n: int,
) -> pd.DataFrame:
    """Frame with `reasons` (top_n positive then top_n negative dicts) and `reason_text`, indexed like X."""
    c = np.asarray(contributions, dtype=float)
    n, k = c.shape
    top = max(0, min(int(top_n), k))
    pos_order = np.argsort(-c, axis=1, kind="stable")[:, :top]
    neg_order = np.argsort(c, axis=1, kind="stable")[:, :top]
    reasons: list[list[dict[str, Any]]] = []
    joined: list[str] = []
    for i in range(n):
        row: list[dict[str, Any]] = []
        for j in pos_order[i]:
            if c[i, j] > 1e-12:
                row.append(
                    {"feature": features[j], "contribution": float(c[i, j]), "text": text(i, int(j), c[i, j])}
                )
        for j in neg_order[i]:
            if c[i, j] < -1e-12:
                row.append(
                    {"feature": features[j], "contribution": float(c[i, j]), "text": text(i, int(j), c[i, j])}
                )
        reasons.append(row)
        joined.append("; ".join(r["text"] for r in row))
    return pd.DataFrame({"reasons": reasons, "reason_text": joined}, index=index)


def merge_explanations(
    parts: Sequence[tuple[str, float, pd.DataFrame]], index: pd.Index, top_n: int
) -> pd.DataFrame:
    """Combine sub-scorers' reasons (name, weight share, explain frame) into one ranked top_n +/- list."""
    reasons: list[list[dict[str, Any]]] = []
    joined: list[str] = []
    for i in range(len(index)):
        pool: list[dict[str, Any]] = []
        for name, share, frame in parts:
            for r in frame["reasons"].iloc[i]:
                pool.append(
                    {
                        "feature": f"{name}.{r['feature']}",
                        "contribution": float(r["contribution"]) * share,
                        "text": f"[{name}] {r['text']}",
                    }
                )
        pos = sorted((r for r in pool if r["contribution"] > 0), key=lambda r: -r["contribution"])[:top_n]
        neg = sorted((r for r in pool if r["contribution"] < 0), key=lambda r: r["contribution"])[:top_n]
        row = pos + neg
        reasons.append(row)
        joined.append("; ".join(r["text"] for r in row))
    return pd.DataFrame({"reasons": reasons, "reason_text": joined}, index=index)
