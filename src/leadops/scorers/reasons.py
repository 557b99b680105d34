"""Reason codes: per-feature contributions as the top positive and negative sentences a sales rep reads.

Every reason carries its native contribution (log-odds, rule points...) and the points it is worth on the
lead's own 0..100 score (`points`): reasons are picked and shown by those points, and a reason worth less than
POINTS_EPS is no reason at all. Everything here works on whole columns: the top-N picks come from one matrix
pass (np.partition), and every sentence is assembled from per-feature string arrays, so explaining 100k leads
costs array operations, not 100k Python loops building dicts. `explain()` still returns the per-row list of
dicts, built from the same core.
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_float_dtype,
    is_integer_dtype,
    is_string_dtype,
)

EPS = 1e-12  # contributions closer to 0 than this are no reason at all
POINTS_EPS = 0.05  # score points closer to 0 than this would print as +0.0: no reason at all

# (column j, row positions, their score points) -> object array of sentences, one per row position
TextFn = Callable[[int, np.ndarray, np.ndarray], np.ndarray]

_encode_json_str: Callable[[str], str] = json.encoder.encode_basestring
SMALL = 64  # up to this many rows, plain Python loops beat numpy's and pandas' per-call set-up (same results)


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
        return str(round(v)) if abs(v) < 1e15 and v == round(v) else f"{v:.3g}"  # inf/NaN never round
    return str(value)


def format_points(x: float) -> str:
    """Signed points: '+30', '-50', '+2.5'."""
    return f"{round(x):+d}" if abs(x - round(x)) < 0.05 else f"{x:+.1f}"


def format_log_odds(x: float) -> str:
    """Signed log-odds contribution with its odds multiplier: '+0.69 (odds x2.0)'."""
    return f"{x:+.2f} (odds x{math.exp(x):.2f})"


# ---------------------------------------------------------------- column-wise formatting


def _strings(items: Any, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = list(items)
    return out


def _format_floats(v: np.ndarray) -> np.ndarray:
    """format_value for a float64 array (NaN -> 'unknown'), same text as the scalar function."""
    out = np.full(len(v), "unknown", dtype=object)
    finite = ~np.isnan(v)
    if not finite.any():
        return out
    with np.errstate(invalid="ignore"):
        r = np.round(v)
        whole = finite & (v == r) & (np.abs(v) < 1e15)
    if whole.any():
        out[whole] = _strings(map(str, r[whole].astype(np.int64).tolist()), int(whole.sum()))
    rest = finite & ~whole
    if rest.any():
        out[rest] = _strings((f"{x:.3g}" for x in v[rest].tolist()), int(rest.sum()))
    return out


def _format_by_unique(s: pd.Series) -> np.ndarray:
    """format_value per distinct value, then spread back (strings and categories repeat a lot)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = np.array([format_value(u) for u in uniques] + ["unknown"], dtype=object)
    return texts[codes]  # code -1 (missing) picks the trailing 'unknown'


def format_values(s: pd.Series | np.ndarray) -> np.ndarray:
    """format_value of every element of a column, as an object array of str, without a per-row Python call."""
    dtype = s.dtype
    n = len(s)
    if n == 0:
        return np.empty(0, dtype=object)
    if isinstance(s, np.ndarray):  # a SmallFrame column: float64 (NaN missing) or str / None
        if dtype == np.float64:
            return _format_floats(s)
        return _strings(map(format_value, s.tolist()), n)
    if is_bool_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return np.where(s.to_numpy(), "yes", "no").astype(object)
        missing = s.isna().to_numpy()
        flags = s.fillna(False).to_numpy(dtype=bool)
        return np.where(missing, "unknown", np.where(flags, "yes", "no")).astype(object)
    if is_integer_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return _strings(map(str, s.to_numpy().tolist()), n)
        missing = s.isna().to_numpy()
        vals = s.to_numpy(dtype=object, na_value=None).tolist()
        return _strings(("unknown" if m else str(int(v)) for v, m in zip(vals, missing, strict=True)), n)
    if is_float_dtype(dtype):
        return _format_floats(s.to_numpy(dtype=np.float64, na_value=np.nan))
    if isinstance(dtype, pd.CategoricalDtype) or is_string_dtype(dtype):
        mixed = isinstance(dtype, np.dtype) and dtype.kind == "O"
        if mixed and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
            return _strings(map(format_value, s.to_numpy(dtype=object).tolist()), n)
        return _format_by_unique(s)
    return _strings(map(format_value, s.to_numpy(dtype=object).tolist()), n)


def format_points_array(x: np.ndarray) -> np.ndarray:
    """format_points over an array."""
    x = np.asarray(x, dtype=np.float64)
    r = np.round(x)
    near = np.abs(x - r) < 0.05
    out = np.empty(len(x), dtype=object)
    if near.any():
        out[near] = _strings((f"{v:+d}" for v in r[near].astype(np.int64).tolist()), int(near.sum()))
    if (~near).any():
        out[~near] = _strings((f"{v:+.1f}" for v in x[~near].tolist()), int((~near).sum()))
    return out


def format_log_odds_array(x: np.ndarray) -> np.ndarray:
    """format_log_odds over an array (math.exp per value, so the text matches the scalar function exactly)."""
    vals = np.asarray(x, dtype=np.float64).tolist()
    return _strings((f"{v:+.2f} (odds x{math.exp(v):.2f})" for v in vals), len(vals))


def concat(*parts: Any) -> np.ndarray:
    """Element-wise string concatenation of object arrays and plain str pieces."""
    out: Any = parts[0]
    for p in parts[1:]:
        out = out + p
    return np.asarray(out, dtype=object)


@functools.lru_cache(maxsize=512)
def parsed_template(template: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """string.Formatter's parse of a template, once per template (every reason sentence reuses a few)."""
    try:
        return list(string.Formatter().parse(template))
    except ValueError:
        return []


def template_texts(template: str, fields: Mapping[str, Any], n: int) -> np.ndarray:
    """`template.format(**fields)` for n rows where each field is a str or an object array of str."""
    pieces: list[Any] = []
    parsed = parsed_template(template)
    simple = bool(parsed) and all(
        name is None or (name in fields and not spec and conv is None) for _, name, spec, conv in parsed
    )
    if not simple:
        cols = {k: (v if isinstance(v, np.ndarray) else np.full(n, v, dtype=object)) for k, v in fields.items()}
        keys = list(cols)
        rows = zip(*(cols[k].tolist() for k in keys), strict=True)
        return _strings((template.format(**dict(zip(keys, r, strict=True))) for r in rows), n)
    for literal, name, _, _ in parsed:
        if literal:
            pieces.append(literal)
        if name is not None:
            pieces.append(fields[name])
    if not any(isinstance(p, np.ndarray) for p in pieces):
        return np.full(n, "".join(pieces), dtype=object)
    out = np.full(n, "", dtype=object)
    return concat(out, *pieces)


# ---------------------------------------------------------------- top-N selection and assembly


@dataclass(frozen=True)
class ReasonMatrix:
    """Contributions (n x k), the k feature names, and a column-wise sentence builder; `eps` is the dead zone.

    `points` (n x k, optional) is each cell's worth on the lead's 0..100 score (0 where the value cannot be a
    reason); picks and texts use it, and `values` stays the native contribution. Without it the values are
    the points. `cell_features` (n x k, optional) names the feature of every cell when it differs by row.
    """

    values: np.ndarray
    features: Sequence[str]
    text: TextFn
    eps: float = EPS
    cell_features: np.ndarray | None = None
    points: np.ndarray | None = None


@dataclass(frozen=True)
class TopReasons:
    """Picked reasons in (n x 2*top) slots: feature name, contribution, text; `ok` marks the used slots.

    Slots 0..top-1 hold the positive reasons (largest first), top..2*top-1 the negative (most negative first).
    """

    names: np.ndarray
    values: np.ndarray
    ok: np.ndarray
    texts: np.ndarray
    points: np.ndarray | None = None

    def shown_points(self) -> np.ndarray:
        """Score points of every slot (the values when the matrix had no separate points)."""
        return self.values if self.points is None else self.points


def _top_columns(c: np.ndarray, top: int) -> np.ndarray:
    """(n x top) column indices of the largest values per row, ties broken by lower column index.

    The same picks as a stable descending argsort cut to `top`, found with one np.partition per row.
    """
    n, k = c.shape
    if n <= SMALL:  # the same order: value descending, ties by lower column
        out = np.empty((n, min(top, k)), dtype=np.intp)
        for i, r in enumerate(c.tolist()):
            out[i] = sorted(range(k), key=lambda j: (-r[j], j))[:top]
        return out
    if top < k:
        kth = -np.partition(-c, top - 1, axis=1)[:, top - 1 : top]  # top-th largest value per row
        above = c > kth
        tied = c == kth
        need = top - above.sum(axis=1, keepdims=True)  # how many tied values to take, lowest columns first
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= need))
        cols = np.nonzero(chosen)[1].reshape(n, top)  # ascending column order within each row
    else:
        cols = np.broadcast_to(np.arange(k), (n, k)).copy()
    picked = np.take_along_axis(c, cols, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")  # stable: equal values keep column order
    return np.take_along_axis(cols, order, axis=1)


def points_suffix(points: np.ndarray) -> np.ndarray:
    """' (+12 points)', ' (-3 points)', ' (+0.4 points)', ' (+1 point)': score points as a rep reads them.

    Points are shown to one decimal, so each distinct tenth is formatted once.
    """
    tenths = np.round(np.asarray(points, dtype=float) * 10.0)
    if len(tenths) <= SMALL:
        return _strings(map(_points_text, tenths.tolist()), len(tenths))
    uniq, inverse = np.unique(tenths, return_inverse=True)
    texts = [_points_text(t) for t in uniq.tolist()]
    return np.asarray(texts, dtype=object)[inverse.ravel()] if len(tenths) else np.empty(0, dtype=object)


def point_words(points: float) -> str:
    """The suffix one reason's score points get, e.g. ' (+12 points)' (points_suffix of one value, in Python)."""
    return _points_text(float(round(points * 10.0)))


def _points_text(tenths: float) -> str:
    p = tenths / 10.0
    r = round(p)
    text = f"{r:+d}" if abs(p - r) < 0.05 and r != 0 else f"{p:+.1f}"
    return f" ({text} point{'' if text in ('+1', '-1') else 's'})"


def select_reasons(m: ReasonMatrix, top_n: int, *, with_points: bool = True) -> TopReasons:
    """Top top_n positive and top_n negative reasons per row (by score points when given), with sentences.

    Each sentence ends with its score points (`with_points`), e.g. 'Requested a demo 3 days ago (+12 points)'.
    """
    native = np.asarray(m.values, dtype=np.float64)
    c = native if m.points is None else np.asarray(m.points, dtype=np.float64)
    eps = m.eps if m.points is None else max(m.eps, POINTS_EPS)
    n, k = c.shape
    top = max(0, min(int(top_n), k))
    if n == 0 or top == 0:
        empty = np.empty((n, 2 * top), dtype=object)
        zeros = np.zeros((n, 2 * top))
        return TopReasons(empty, zeros, np.zeros((n, 2 * top), dtype=bool), empty, None if m.points is None else zeros)
    if n == 1:
        return _select_one(m, native, c, eps, top, with_points)
    nan = np.isnan(c)  # NaN never makes a reason: it ranks below every number both ways
    pos = _top_columns(np.where(nan, -np.inf, c), top)
    neg = _top_columns(np.where(nan, -np.inf, -c), top)
    cols = np.concatenate([pos, neg], axis=1)
    vals = np.take_along_axis(c, cols, axis=1)
    ok = np.zeros((n, 2 * top), dtype=bool)
    ok[:, :top] = vals[:, :top] > eps
    ok[:, top:] = vals[:, top:] < -eps
    if m.cell_features is not None:
        names = np.take_along_axis(np.asarray(m.cell_features, dtype=object), cols, axis=1)
    else:
        names = np.asarray(list(m.features), dtype=object)[cols]
    texts = np.full((n, 2 * top), None, dtype=object)
    rows, slots = np.nonzero(ok)
    if len(rows):
        picked = cols[rows, slots]
        order = np.argsort(picked, kind="stable")
        bounds = np.flatnonzero(np.diff(picked[order])) + 1
        for group in np.split(order, bounds):
            r, s = rows[group], slots[group]
            body = m.text(int(picked[group[0]]), r, vals[r, s])
            texts[r, s] = concat(body, points_suffix(vals[r, s])) if with_points else body
    if m.points is None:
        return TopReasons(names=names, values=vals, ok=ok, texts=texts)
    natives = np.take_along_axis(native, cols, axis=1)
    return TopReasons(names=names, values=natives, ok=ok, texts=texts, points=vals)


def _select_one(
    m: ReasonMatrix, native: np.ndarray, c: np.ndarray, eps: float, top: int, with_points: bool
) -> TopReasons:
    """select_reasons of a one-row matrix in plain Python: the same picks, order, words and arrays (one lead online)."""
    row = c[0].tolist()
    k = len(row)
    up = [-math.inf if v != v else v for v in row]  # NaN never makes a reason: below every number both ways
    down = [-math.inf if v != v else -v for v in row]
    # nlargest is sorted(reverse=True)[:top], which keeps equal values in column order: ties by lower column
    cols = heapq.nlargest(top, range(k), key=up.__getitem__) + heapq.nlargest(top, range(k), key=down.__getitem__)
    vals = [row[j] for j in cols]
    ok = [v > eps for v in vals[:top]] + [v < -eps for v in vals[top:]]
    feats = m.cell_features[0].tolist() if m.cell_features is not None else list(m.features)
    names = np.empty((1, 2 * top), dtype=object)
    names[0, :] = [feats[j] for j in cols]
    texts = np.full((1, 2 * top), None, dtype=object)
    at = np.zeros(1, dtype=np.intp)
    for slot, (j, v, used) in enumerate(zip(cols, vals, ok, strict=True)):
        if used:
            body = m.text(j, at, np.array([v]))[0]
            texts[0, slot] = body + point_words(v) if with_points else body
    picked = np.array([vals], dtype=np.float64)
    flags = np.array([ok], dtype=bool)
    if m.points is None:
        return TopReasons(names=names, values=picked, ok=flags, texts=texts)
    natives = np.array([[native[0, j] for j in cols]], dtype=np.float64)
    return TopReasons(names=names, values=natives, ok=flags, texts=texts, points=picked)


def join_texts(texts: np.ndarray, ok: np.ndarray, sep: str = "; ") -> np.ndarray:
    """Per row, the used slots' texts joined with `sep` (object array of str; '' when a row has none)."""
    n = texts.shape[0]
    if n <= SMALL:
        pairs = zip(texts.tolist(), ok.tolist(), strict=True)
        return _strings([sep.join([t for t, u in zip(tr, ur, strict=True) if u]) for tr, ur in pairs], n)
    out = np.full(n, "", dtype=object)
    started = np.zeros(n, dtype=bool)
    for s in range(texts.shape[1]):
        use = ok[:, s]
        if not use.any():
            continue
        glue = use & started
        first = use & ~started
        if glue.any():
            out[glue] = out[glue] + sep + texts[glue, s]
        if first.any():
            out[first] = texts[first, s]
        started |= use
    return out


def reasons_json(top: TopReasons) -> np.ndarray:
    """Per row, the reasons as compact JSON (the job's `reasons` column) without building dicts per row.

    The same text as json.dumps([{feature, contribution (native, 6 places; null if not finite), points (on the
    0..100 score, 2 places), text}, ...], separators=(",", ":"), ensure_ascii=False).
    """
    n = top.ok.shape[0]
    pieces = np.full(top.ok.shape, None, dtype=object)
    rows, slots = np.nonzero(top.ok)
    if len(rows):
        names = top.names[rows, slots]
        if len(names) <= SMALL:
            codes, uniques = np.arange(len(names)), names.tolist()
        else:
            codes, uniques = pd.factorize(names)
        heads = np.array(['{"feature":' + _encode_json_str(str(f)) + ',"contribution":' for f in uniques], dtype=object)
        vals = top.values[rows, slots].tolist()
        nums = _strings(("null" if not math.isfinite(v) else repr(round(v, 6)) for v in vals), len(vals))
        pts = _strings(_json_numbers(top.shown_points()[rows, slots].tolist(), 2), len(vals))
        texts = _strings(map(_encode_json_str, top.texts[rows, slots].tolist()), len(vals))
        pieces[rows, slots] = concat(heads[codes], nums, ',"points":', pts, ',"text":', texts, "}")
    return concat(np.full(n, "[", dtype=object), join_texts(pieces, top.ok, sep=","), "]")


def reason_rows(top: TopReasons) -> list[list[tuple[str, float | None, float | None, str]]]:
    """Per row, (feature, contribution, points, text) of each reason: the values json.loads reads back from
    reasons_json (contribution rounded to 6 places, points to 2, None where not finite), without the JSON."""
    out: list[list[tuple[str, float | None, float | None, str]]] = []
    for rf, rv, rp, rok, rt in zip(
        top.names.tolist(), top.values.tolist(), top.shown_points().tolist(), top.ok.tolist(), top.texts.tolist(),
        strict=True,
    ):  # fmt: skip
        out.append(
            [
                (str(f), _rounded(v, 6), _rounded(p, 2), str(t))
                for f, v, p, u, t in zip(rf, rv, rp, rok, rt, strict=True)
                if u
            ]
        )
    return out


def _rounded(value: float, places: int) -> float | None:
    return round(value, places) if math.isfinite(value) else None


def _json_numbers(values: list[float], places: int) -> Any:
    return ("null" if not math.isfinite(v) else repr(round(v, places)) for v in values)


def reason_dicts(top: TopReasons) -> list[list[dict[str, Any]]]:
    """The per-row list of {feature, contribution, points, text} dicts of `explain()`."""
    return [
        [
            {"feature": f, "contribution": v, "points": p, "text": t}
            for f, v, p, u, t in zip(rf, rv, rp, rok, rt, strict=True)
            if u
        ]
        for rf, rv, rp, rok, rt in zip(
            top.names.tolist(),
            top.values.tolist(),
            top.shown_points().tolist(),
            top.ok.tolist(),
            top.texts.tolist(),
            strict=True,
        )
    ]


def explanation_frame(index: pd.Index, top: TopReasons) -> pd.DataFrame:
    """Frame with `reasons` (top_n positive then top_n negative dicts) and `reason_text`, indexed like X."""
    reasons = np.empty(len(index), dtype=object)
    reasons[:] = reason_dicts(top)
    text = pd.array(join_texts(top.texts, top.ok), dtype="str")
    return pd.DataFrame({"reasons": reasons, "reason_text": text}, index=index)


def merged_matrix(parts: Sequence[tuple[str, float, ReasonMatrix]], n: int, top_n: int) -> ReasonMatrix:
    """Sub-scorers' reasons (name, weight share, matrix) as one matrix to pick the overall top_n from.

    Each part keeps only its own top_n +/- reasons (what its explain() shows), scaled by its share, named
    `name.feature` and written `[name] text`; columns go part by part, slot by slot, so ties rank in that
    order, as in a stable sort of the parts' reason lists.
    """
    values: list[np.ndarray] = []
    points: list[np.ndarray] = []
    names: list[np.ndarray] = []
    texts: list[np.ndarray] = []
    for name, share, m in parts:
        top = select_reasons(m, top_n, with_points=False)
        values.append(np.where(top.ok, top.values * share, 0.0))
        points.append(np.where(top.ok, top.shown_points() * share, 0.0))
        tagged = np.full(top.ok.shape, None, dtype=object)
        tagged[top.ok] = concat(f"[{name}] ", top.texts[top.ok])
        texts.append(tagged)
        names.append(concat(np.full(top.ok.shape, f"{name}.", dtype=object), top.names.astype(str).astype(object)))
    cells = np.concatenate(texts, axis=1) if texts else np.empty((n, 0), dtype=object)

    def text(j: int, rows: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.asarray(cells[rows, j], dtype=object)

    return ReasonMatrix(
        values=np.concatenate(values, axis=1) if values else np.zeros((n, 0)),
        features=[],
        text=text,
        eps=0.0,
        cell_features=np.concatenate(names, axis=1) if names else np.empty((n, 0), dtype=object),
        points=np.concatenate(points, axis=1) if points else np.zeros((n, 0)),
    )
