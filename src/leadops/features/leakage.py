"""The leakage guard: find features that act as outcome proxies before a model ever sees them.

Activity features cannot leak by time: the SQL only reads activities with occurred_at <= snapshot (and a test
proves later events never change a training row). What can leak is a value recorded during or after the
outcome that sits in a static attribute (or a derived feature built on one): the bank-marketing call
`duration`, a sales rep's tag, a quality rating, a "last activity" written once the deal closed. Real exports
carry several such fields at once, so each test compares a feature with the rest of the record *without the
other suspects*. The rules, applied on the training split (a deterministic sample of `max_rows`; the models
of "the rest" on `model_rows` of it, 70/30 fit/holdout, stratified):

1. Separation: a feature whose single-feature AUC (rank-based, direction-free: max(AUC, 1 - AUC);
   categoricals encoded by their fit-part conversion rate and scored on the holdout) is >= `threshold`.
2. Dominance among suspects: a feature whose single-feature AUC is >= the held-out AUC of a LightGBM model on
   all the OTHER features together (minus near-copies, |Spearman| >= 0.9, and minus every feature already
   flagged), minus `dominance_margin`. A legitimate signal is one of many views of the same lead, so the rest
   of the record predicts the outcome at least as well as any one field; a field that knows more than
   everything else combined carries what the record cannot have known before the outcome. Every feature is
   tested, strongest first. Below `dominance_floor` (0.75) a feature must beat the rest by its distance below
   the floor: in an honest but thin record one behaviour count often out-ranks a few firmographics, so a weak
   field's small lead is no evidence (a weak leak shows by rule 3, or is declared). A feature can only
   dominate a rest that holds a stronger feature if it is within the AUC noise of it, so those are settled
   without a fit (the figure is the stronger feature's AUC). When no feature dominates, the strongest feature
   within `suspect_gap` of its rest (and at least `suspect_floor` alone) is set aside as a suspect and the
   others are re-tested without it (at most `max_suspects` at once): two leaks of AUC 0.80 hide each other
   in "the rest", but with one set aside the other dominates the honest record, is flagged, and the first is
   then re-tested without it. Suspects never flagged return to the pool.
3. Filled after the outcome: a feature whose being filled (not missing) predicts the label (AUC of the
   is-filled indicator >= `missing_floor`) while the rest of the record cannot tell when it is filled (a
   LightGBM model of the other unflagged features, less those filled on the same rows, predicts "filled" with
   held-out AUC < `explained_fill`). A field a sales rep fills once a lead converted is explained by the
   outcome, not by the record; a field missing by design (no visit, so no recency; no account, so no size)
   is explained by the rest. Flags of rules 2 and 3 shrink "the rest", so every feature is re-tested after
   each one.

Rules 2 and 3 do not apply to time-safe features: activity features (and lead age, and derived features
built only on them) of a point-in-time training set are computed from events before the snapshot, so a strong
one is intent showing, not a leak; rule 1 still applies to them. A column the mapping declares
`post_outcome` never reaches this guard: training drops it first (see `declared_post_outcome`).

On bank-additional-full.csv `duration` alone has AUC ~0.82, below 0.95, but the other 20 features together
reach only ~0.81 held out, so rule 2 flags it; the strongest legitimate field (nr.employed, ~0.75) stays well
below the rest (~0.80). At 1M rows the guard costs ~3 s (it samples), 0.09x of a bare one-thread LightGBM
fit of the same rows (`python -m benchmarks --only bench_leakage`). Flagged features are excluded by default
(`action: exclude`), unless listed in `allow`, in which case the model keeps them and the `no_leakage` gate
fails (promotion needs --force --reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadops.errors import FeatureError
from leadops.settings.features import AttributeFeature, FeaturesSpec, LeakageSpec

if TYPE_CHECKING:
    from leadops.settings.crm import SourceSpec

NEAR_COPY = 0.9
PRUNE_TOL = 0.02
"""A rest holding a feature of AUC a reaches >= a - noise; a candidate below a - PRUNE_TOL cannot dominate it."""
GBM_ROUNDS = 100
SAME_FILL = 0.98
"""Two fields missing on the same rows (>= 98 % agreement) were written together; neither explains the other."""


@dataclass
class FeatureCheck:
    """The guard's verdict on one feature: every test's figure and, when flagged, which test and why.

    `rest_auc` is what the rest of the record reaches: a fitted model's held-out AUC when `rest_fitted`, else
    the strongest other single feature's AUC (a lower bound that already out-ranks this one)."""

    name: str
    auc: float
    rest_auc: float | None = None
    rest_fitted: bool = False
    fill_converted: float | None = None
    fill_other: float | None = None
    fill_rest_auc: float | None = None
    flagged: bool = False
    excluded: bool = False
    test: str | None = None
    figure: float | None = None
    against: float | None = None
    reason: str = ""

    @property
    def action(self) -> str:
        """What training does with a flagged feature: excluded, or kept (and promotion is blocked)."""
        return "excluded" if self.excluded else "kept"


@dataclass
class LeakageReport:
    """What the guard checked, what it flagged, what it excluded, and why; declared columns apart."""

    checks: list[FeatureCheck] = field(default_factory=list)
    rows: int = 0
    skipped: str | None = None
    declared: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def flagged(self) -> list[str]:
        """Names of the features the guard flagged."""
        return [c.name for c in self.checks if c.flagged]

    @property
    def excluded(self) -> list[str]:
        """Names of the flagged features removed from training."""
        return [c.name for c in self.checks if c.excluded]

    @property
    def kept_flagged(self) -> list[str]:
        """Flagged features training kept (allow list or action: warn): they block promotion."""
        return [c.name for c in self.checks if c.flagged and not c.excluded]

    def reasons(self) -> dict[str, str]:
        """Flagged feature -> why."""
        return {c.name: c.reason for c in self.checks if c.flagged}

    def flags(self) -> list[dict[str, Any]]:
        """One record per flagged or declared feature (for --json): feature, test (separation | dominance |
        filled_after_outcome | declared), figure (the feature's AUC, or its is-filled AUC), against (what that was
        compared with: the threshold, the rest's AUC, the rest's AUC for "filled"), reason, action."""
        out: list[dict[str, Any]] = [
            {"feature": name, "test": "declared", "figure": None, "against": None, "reason": why, "action": "excluded"}
            for name, why in self.declared.items()
        ]
        out += [
            {
                "feature": c.name,
                "test": c.test,
                "figure": c.figure,
                "against": c.against,
                "reason": c.reason,
                "action": c.action,
            }
            for c in self.checks
            if c.flagged
        ]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON reports."""
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "flagged": self.flagged,
            "excluded": self.excluded,
            "declared": dict(self.declared),
            "flags": self.flags(),
            "checks": [asdict(c) for c in self.checks],
        }


def rank_auc(score: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney AUC with midranks for ties (what roc_auc_score computes), NaN-free input."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise FeatureError(f"AUC needs both classes, got {n_pos} positives and {n_neg} negatives")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(s.size, dtype=np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
    ends = np.r_[starts[1:], s.size]
    mid = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mid, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _free(auc: float) -> float:
    """Direction-free AUC: how well either direction of a score ranks the target."""
    return max(auc, 1.0 - auc)


def _numeric(x: pd.Series) -> np.ndarray:
    """Missing values rank below everything (missingness itself can be the proxy)."""
    v = pd.to_numeric(x, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(v).all():
        return np.zeros(v.size)
    low = np.nanmin(v) - 1.0
    return np.where(np.isnan(v), low, v)


def _rate_encode(x: pd.Series, y: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Each category's conversion rate on the fit rows, smoothed to the base rate; missing is a category."""
    codes, uniques = pd.factorize(x, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64) + 1  # 0 = missing
    k = len(uniques) + 1
    base = float(y[fit].mean())
    converts = np.bincount(codes[fit], weights=y[fit].astype(np.float64), minlength=k)
    counts = np.bincount(codes[fit], minlength=k)
    rates = (converts + 10 * base) / (counts + 10)  # a value never seen on the fit rows gets the base rate
    return np.asarray(rates[codes], dtype=np.float64)


def single_feature_auc(x: pd.Series, y: np.ndarray, *, categorical: bool, fit: np.ndarray) -> float:
    """Direction-free single-feature AUC; categoricals scored out of sample (fit on `fit`)."""
    if categorical:
        enc = _rate_encode(x, y, fit)
        hold = ~fit
        return _free(rank_auc(enc[hold], y[hold]))
    return _free(rank_auc(_numeric(x), y))


def fill_rates(x: pd.Series, y: np.ndarray) -> tuple[float, float]:
    """Share of converts and of the other leads for whom the field is filled (not missing)."""
    filled = x.notna().to_numpy()
    pos = np.asarray(y, dtype=bool)
    return float(filled[pos].mean()), float(filled[~pos].mean())


def _encoded(X: pd.DataFrame, y: np.ndarray, categorical: set[str], fit: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({c: (_rate_encode(X[c], y, fit) if c in categorical else _numeric(X[c])) for c in X.columns})


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two rank vectors (Spearman), 0 when either is constant."""
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _holdout_auc(matrix: np.ndarray, target: np.ndarray, fit: np.ndarray, seed: int) -> float:
    """Held-out AUC of a small single-threaded LightGBM model of `target` on the given columns."""
    if matrix.shape[1] == 0 or target[fit].min() == target[fit].max() or target[~fit].min() == target[~fit].max():
        return 0.5
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": 15,
        "min_data_in_leaf": 40,
        "num_threads": 1,  # OpenMP on a busy 2-core host is slower than one thread for models this small
        "deterministic": True,
        "force_row_wise": True,
        "seed": seed,
        "verbose": -1,
    }
    booster = lgb.train(params, lgb.Dataset(matrix[fit], label=target[fit]), num_boost_round=GBM_ROUNDS)
    return rank_auc(np.asarray(booster.predict(matrix[~fit])), target[~fit])


class _Guard:
    """One run of the rules over a sample: cached encodings, ranks and rest-of-the-record models."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray, cats: set[str], spec: LeakageSpec, seed: int) -> None:
        self.X, self.y, self.cats, self.spec, self.seed = X, y, cats, spec, seed
        rng = np.random.default_rng(seed)
        self.fit = np.zeros(len(X), dtype=bool)
        for cls in (0, 1):  # stratified 70/30 fit/holdout
            idx = np.flatnonzero(y == cls)
            self.fit[rng.permutation(idx)[: round(0.7 * idx.size)]] = True
        self.aucs = {c: single_feature_auc(X[c], y, categorical=c in cats, fit=self.fit) for c in X.columns}
        model = np.arange(len(X))
        if len(X) > spec.model_rows:
            model = np.sort(rng.choice(len(X), spec.model_rows, replace=False))
        self.model_rows = model
        self._enc: np.ndarray | None = None
        self._ranks: np.ndarray | None = None
        self._col = {c: i for i, c in enumerate(X.columns)}
        self._near: dict[str, set[str]] = {}
        self._cache: dict[tuple[str, frozenset[str]], float] = {}

    def encoded(self) -> np.ndarray:
        """Every column as a number (rate-encoded categoricals), model rows only."""
        if self._enc is None:
            self._enc = _encoded(
                self.X.iloc[self.model_rows], self.y[self.model_rows], self.cats, self.fit[self.model_rows]
            ).to_numpy()
        return self._enc

    def near(self, name: str) -> set[str]:
        """Near-copies of a feature (|Spearman| >= 0.9): left out of its rest so two proxies cannot hide each other."""
        if name not in self._near:
            if self._ranks is None:
                self._ranks = pd.DataFrame(self.encoded()).rank().to_numpy()
            a = self._ranks[:, self._col[name]]
            self._near[name] = {
                c for c in self.X.columns if c != name and abs(_corr(a, self._ranks[:, self._col[c]])) >= NEAR_COPY
            }
        return self._near[name]

    def rest_model(self, target: str, columns: Iterable[str], y: np.ndarray) -> float:
        """Held-out AUC of the rest-of-the-record model for a target ('label' or 'filled:<feature>'), cached."""
        cols = frozenset(columns)
        key = (target, cols)
        if key not in self._cache:
            idx = [self._col[c] for c in self.X.columns if c in cols]
            self._cache[key] = _holdout_auc(self.encoded()[:, idx], y, self.fit[self.model_rows], self.seed)
        return self._cache[key]

    def others(self, name: str, pool: Iterable[str]) -> list[str]:
        """The rest of the record for `name`: the pool minus itself, its near-copies and separators."""
        near = self.near(name)
        return [c for c in pool if c != name and c not in near and self.aucs[c] < self.spec.threshold]

    def fill_others(self, name: str, pool: Iterable[str]) -> list[str]:
        """The rest of the record for `name`'s fill pattern: the pool minus separators and the fields filled
        together with it (the same write: a field and its date cannot explain each other)."""
        missing = self.X[name].isna().to_numpy()
        out = []
        for c in pool:
            if c == name or self.aucs[c] >= self.spec.threshold:
                continue
            other = self.X[c].isna().to_numpy()
            if other.any() and float((other == missing).mean()) >= SAME_FILL:
                continue
            out.append(c)
        return out

    def bar(self, name: str) -> float:
        """How far below its rest's AUC a feature may be and still dominate: `dominance_margin`, minus the
        distance of its own AUC below `dominance_floor` (a weak field must out-rank the rest clearly: one
        behaviour count beating a few firmographics is what honest, thin records look like)."""
        return self.spec.dominance_margin - max(0.0, self.spec.dominance_floor - self.aucs[name])

    def dominance(self, name: str, pool: Sequence[str]) -> tuple[float, bool, int]:
        """(AUC of the rest, whether a model was fitted, how many features the rest holds) for `name`."""
        rest = self.others(name, pool)
        if not rest:
            return 0.5, False, 0
        best = max(self.aucs[c] for c in rest)
        if self.aucs[name] + self.bar(name) < best - PRUNE_TOL:
            return best, False, len(rest)  # a single stronger feature of the rest already out-ranks it
        return self.rest_model("label", rest, self.y[self.model_rows]), True, len(rest)


def _pct(share: float | None) -> str:
    return "?" if share is None else f"{100 * share:.0f} %"


def _dominance_reason(name: str, auc: float, rest: float, n: int, aside: list[str]) -> str:
    without = f", leaving out {', '.join(aside)}" if aside else ""
    return (
        f"{name} alone ranks outcomes better than the {n} other features together (AUC {auc:.3f} vs {rest:.3f}"
        f"{without}): an outcome proxy, likely recorded during or after the outcome"
    )


def check_leakage(
    X: pd.DataFrame,
    y: Any,
    *,
    categorical: list[str] | None = None,
    spec: LeakageSpec | None = None,
    seed: int = 0,
    time_safe: set[str] | None = None,
) -> LeakageReport:
    """Apply the rules in the module docstring to every column of X against the binary label y.

    `time_safe` features (point-in-time activity features) are checked for separation only: they cannot have
    been recorded after the snapshot, so a strong one is a strong signal, not a proxy."""
    import time

    began = time.perf_counter()
    safe = time_safe or set()
    spec = spec or LeakageSpec()
    y_arr = np.asarray(y, dtype=np.int8)
    if len(y_arr) != len(X):
        raise FeatureError(f"leakage check: X has {len(X)} rows but y has {len(y_arr)}")
    if not spec.enabled:
        return LeakageReport(rows=len(X), skipped="disabled by training.leakage.enabled")
    if y_arr.min(initial=0) == y_arr.max(initial=0) or len(y_arr) < 50:
        return LeakageReport(rows=len(X), skipped="needs at least 50 rows with both classes")
    rng = np.random.default_rng(seed)
    if len(X) > spec.max_rows:
        keep = np.sort(rng.choice(len(X), spec.max_rows, replace=False))
        X, y_arr = X.iloc[keep], y_arr[keep]
    X = X.reset_index(drop=True)
    guard = _Guard(X, y_arr, set(categorical or []), spec, seed)
    aucs = guard.aucs
    checks = {c: FeatureCheck(name=c, auc=round(aucs[c], 4)) for c in X.columns}

    def flag(name: str, test: str, figure: float, against: float, reason: str) -> None:
        check = checks[name]
        check.flagged, check.test, check.reason = True, test, reason
        check.figure, check.against = round(figure, 4), round(against, 4)

    for name in X.columns:
        if aucs[name] >= spec.threshold:
            flag(
                name,
                "separation",
                aucs[name],
                spec.threshold,
                f"{name} separates the label almost perfectly on its own (single-feature AUC {aucs[name]:.3f} >= "
                f"{spec.threshold})",
            )

    order = sorted(X.columns, key=lambda c: (-aucs[c], c))
    candidates = [c for c in order if c not in safe]
    suspects: list[str] = []
    while True:
        pool = [c for c in X.columns if not checks[c].flagged and c not in suspects]
        found = None
        near_miss = None
        for name in (c for c in candidates if c in pool):
            rest, fitted, n = guard.dominance(name, pool)
            if n and aucs[name] >= rest - guard.bar(name):
                aside = sorted({c for c in X.columns if checks[c].flagged or c in suspects} - {name})
                found = (name, rest, _dominance_reason(name, aucs[name], rest, n, aside))
                break
            if (
                near_miss is None
                and fitted
                and aucs[name] >= max(spec.suspect_floor, rest - spec.suspect_gap)
                and name not in suspects
            ):
                near_miss = name
        if found is not None:
            flag(found[0], "dominance", aucs[found[0]], found[1], found[2])
            checks[found[0]].rest_auc, checks[found[0]].rest_fitted = round(found[1], 4), True
            suspects.clear()  # every earlier suspect is re-tested without the new flag
            continue
        full = [c for c in X.columns if not checks[c].flagged]
        if any(_check_fill(guard, checks[c], safe, full) for c in order if not checks[c].flagged):
            suspects.clear()  # a field filled after the outcome is no rival either: re-test without it
            continue
        if near_miss is None or len(suspects) >= spec.max_suspects:
            break
        suspects.append(near_miss)

    pool = [c for c in X.columns if not checks[c].flagged]
    for name in candidates:  # the figure every unflagged feature was finally judged by (no suspects aside)
        if not checks[name].flagged:
            rest, fitted, n = guard.dominance(name, pool)
            checks[name].rest_auc, checks[name].rest_fitted = (round(rest, 4) if n else None), fitted

    report = LeakageReport(rows=len(X))
    for name in X.columns:
        check = checks[name]
        if check.flagged:
            check.excluded = spec.action == "exclude" and name not in spec.allow
            if name in spec.allow:
                check.reason += " [kept: listed in leakage.allow]"
            elif spec.action == "warn":
                check.reason += " [kept: leakage.action is warn]"
        report.checks.append(check)
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def _check_fill(guard: _Guard, check: FeatureCheck, safe: set[str], pool: list[str]) -> bool:
    """Rule 3: flag a field filled mostly for one outcome when the rest of the record cannot tell when it is
    filled; True when it flagged the feature now."""
    name = check.name
    x = guard.X[name]
    if name in safe or check.flagged or not x.isna().any() or x.notna().sum() == 0:
        return False
    if check.fill_converted is None:
        check.fill_converted, check.fill_other = (round(v, 4) for v in fill_rates(x, guard.y))
    filled = x.notna().to_numpy().astype(np.int8)
    fill_auc = _free(rank_auc(filled.astype(np.float64), guard.y))
    if fill_auc < guard.spec.missing_floor:
        return False
    rest = guard.fill_others(name, pool)
    explained = guard.rest_model(f"filled:{name}", rest, filled[guard.model_rows])
    check.fill_rest_auc = round(explained, 4)
    if explained >= guard.spec.explained_fill:
        return False
    check.flagged, check.test = True, "filled_after_outcome"
    check.figure, check.against = round(fill_auc, 4), round(explained, 4)
    check.reason = (
        f"{name} is filled for {_pct(check.fill_converted)} of converts and {_pct(check.fill_other)} of others "
        f"(AUC {fill_auc:.3f}), while the {len(rest)} other features cannot tell when it is filled (AUC "
        f"{explained:.3f} < {guard.spec.explained_fill}): likely filled in once the outcome was known"
    )
    return True


def declared_post_outcome(features: FeaturesSpec, sources: Sequence[SourceSpec]) -> dict[str, str]:
    """Feature -> why, for every feature reading a column a source declares `post_outcome` (and every derived
    feature built on one): such columns are known only after the outcome, so training never sees them."""
    declared: dict[tuple[str, str, str], str] = {}  # (lead|account, column|key, name) -> source
    canonical_of = {"leads": "lead", "accounts": "account"}
    for src in (part for source in sources for part in source.expanded()):  # routes inherit the declaration
        side = canonical_of.get(src.table)
        if side is None:
            continue
        for column in src.post_outcome:
            target = src.columns.get(column)
            if target is not None:
                declared[(side, "column", target)] = f"{src.name}.{column}"
            declared[(side, "key", column)] = f"{src.name}.{column}"
    out: dict[str, str] = {}
    for f in features.definitions:
        if isinstance(f, AttributeFeature):
            where = ("column", f.column) if f.column is not None else ("key", str(f.key))
            origin = declared.get((f.source, *where))
            if origin is not None:
                out[f.name] = f"{f.name} reads {origin}, declared post_outcome in the mapping: never trained on"
    from leadops import expr

    for f in features.derived_order():
        hit = sorted(expr.references(f.tree()) & set(out))
        if hit:
            out[f.name] = f"{f.name} is built on the post-outcome feature(s) {', '.join(hit)}: never trained on"
    return out


def used_flags(report: LeakageReport, features: Iterable[str]) -> Mapping[str, str]:
    """Flagged features among those a model uses -> why (what the no_leakage gate refuses)."""
    reasons = report.reasons()
    return {f: reasons[f] for f in features if f in reasons}
