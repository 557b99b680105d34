"""Point-in-time training sets: snapshots, features as of each snapshot, matured labels, a time-ordered split,
the leakage guard, and a content digest that names exactly which rows a model was trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from leadops.errors import FeatureError
from leadops.features.build import build_features
from leadops.features.coverage import as_read, coverage_warnings
from leadops.features.labels import data_end, flat_labels, is_flat, labelled_snapshots
from leadops.features.leakage import LeakageReport, check_leakage, declared_post_outcome
from leadops.features.online import apply_categories
from leadops.settings.crm import SourceSpec
from leadops.settings.features import (
    OTHER,
    ActivityFeature,
    AttributeFeature,
    BuiltinFeature,
    DerivedFeature,
    FeaturesSpec,
    SplitSpec,
    TrainingSpec,
)
from leadops.warehouse.connection import Warehouse, utcnow

SPLITS = ("train", "validation", "test")


@dataclass
class TrainingSet:
    """Features and labels split three ways, plus everything needed to reproduce and audit them."""

    X_train: pd.DataFrame
    y_train: pd.Series
    X_val: pd.DataFrame
    y_val: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    ids: dict[str, pd.Series]
    times: dict[str, pd.Series]
    deal_values: dict[str, pd.Series]
    feature_labels: dict[str, str]
    categorical: list[str]
    digest: str
    point_in_time: bool
    spec: FeaturesSpec
    leakage: LeakageReport
    warnings: list[str] = field(default_factory=list)
    censored: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_end: Any = None
    truth: dict[str, pd.DataFrame] | None = None

    @property
    def features(self) -> list[str]:
        """The feature columns a model trains on (after the leakage guard)."""
        return list(self.X_train.columns)

    def summary(self) -> dict[str, Any]:
        """Plain data for reports and `--json`."""
        return {
            "rows": {s: len(self.ids[s]) for s in SPLITS},
            "positives": {
                "train": int(self.y_train.sum()),
                "validation": int(self.y_val.sum()),
                "test": int(self.y_test.sum()),
            },
            "features": self.features,
            "censored": len(self.censored),
            "digest": self.digest,
            "point_in_time": self.point_in_time,
            "leakage": self.leakage.to_dict(),
            "warnings": self.warnings,
        }


def time_split(times: pd.Series, split: SplitSpec) -> np.ndarray:
    """Split labels by time: train times < validation times < test times (ties stay together)."""
    t = pd.to_datetime(times).to_numpy()
    uniq, counts = np.unique(t, return_counts=True)
    cum = np.cumsum(counts) / counts.sum()
    out = np.empty(len(t), dtype=object)
    b1 = uniq[min(int(np.searchsorted(cum, split.train - 1e-12)), len(uniq) - 1)]
    b2_idx = int(np.searchsorted(cum, split.train + split.validation - 1e-12))
    b2 = uniq[min(b2_idx, len(uniq) - 1)]
    out[:] = "test"
    out[t <= b2] = "validation"
    out[t <= b1] = "train"
    if split.validation == 0:
        out[out == "validation"] = "test"
    return out


def stratified_split(y: np.ndarray, split: SplitSpec) -> np.ndarray:
    """Seeded random split keeping the label rate in every part (flat exports without times)."""
    rng = np.random.default_rng(split.seed)
    out = np.empty(len(y), dtype=object)
    for cls in (False, True):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n1 = round(split.train * idx.size)
        n2 = n1 + round(split.validation * idx.size)
        out[idx[:n1]], out[idx[n1:n2]], out[idx[n2:]] = "train", "validation", "test"
    return out


ROW_SUFFIX = r"(\d+)$"


def row_order(lead_ids: pd.Series) -> np.ndarray:
    """Positions of `lead_ids` sorted by the number that ends each id (the row number `id_from_row` writes).

    Ties (the same row number from two sources) keep lead_id order; an id without a trailing number is an error,
    since its place in the file cannot be known."""
    ids = lead_ids.astype(str).reset_index(drop=True)
    digits = ids.str.extract(ROW_SUFFIX, expand=False)
    missing = digits.isna()
    if missing.any():
        bad = ids[missing].iloc[0]
        raise FeatureError(
            f"training.split.method 'ordered': lead_id '{bad}' does not end in a row number "
            f"({int(missing.sum())} ids like it); expected ids such as '<source>:<row>' (id_from_row: true)",
            hint="use split.method: random, or give the export a key ending in its row number",
        )
    frame = pd.DataFrame({"row": digits.astype("int64"), "id": ids})
    return frame.sort_values(["row", "id"], kind="mergesort").index.to_numpy()


def ordered_split(lead_ids: pd.Series, split: SplitSpec) -> np.ndarray:
    """Split a flat export by row order: the first `train` share trains, the next validates, the rest tests."""
    order = row_order(lead_ids)
    n = order.size
    n1 = round(split.train * n)
    n2 = n1 + round(split.validation * n)
    out = np.empty(n, dtype=object)
    out[order[:n1]], out[order[n1:n2]], out[order[n2:]] = "train", "validation", "test"
    return out


def digest_frame(frame: pd.DataFrame) -> str:
    """sha256 over the rows in the given order, column by column (names, types and values)."""
    h = hashlib.sha256()
    for name in frame.columns:
        col = frame[name]
        h.update(f"\x1e{name}\x1f".encode())
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            values = col.to_numpy(dtype=np.float64, na_value=np.nan)
            values = np.where(np.isnan(values), np.nan, values) + 0.0  # one NaN pattern, -0.0 == 0.0
            h.update(b"f" + values.tobytes())
        else:
            text = [
                "\x00" if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) else str(v)
                for v in col.astype(object).tolist()
            ]
            h.update(b"s" + "\x1f".join(text).encode())
    return h.hexdigest()


def _learn_categories(spec: FeaturesSpec, train: pd.DataFrame) -> FeaturesSpec:
    """Vocabularies of categorical features without configured ones: the most frequent training values."""
    learned: dict[str, list[str]] = {}
    for f in spec.of_kind(AttributeFeature):
        if f.type != "categorical" or f.categories is not None:
            continue
        top = train[f.name].dropna().astype(str).value_counts()
        top = top.sort_index(kind="mergesort").sort_values(ascending=False, kind="mergesort")
        learned[f.name] = top.index[: f.max_categories or spec.max_categories].tolist()
    return spec.with_categories(learned)


def _apply_categories(spec: FeaturesSpec, frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """The learned vocabularies' unseen policy, vectorised (same outcome as online.apply_categories)."""
    out = frame.copy()
    for f in spec.of_kind(AttributeFeature):
        if f.type != "categorical" or f.name not in out or f.categories is None:
            continue
        values = out[f.name].astype("str")
        unseen = values.notna() & ~values.isin(f.categories)
        if unseen.any() and spec.policy(f) == "error":
            i = int(np.flatnonzero(unseen.to_numpy())[0])
            apply_categories(spec, f, str(values.iloc[i]), ids.iloc[i])  # raises, naming lead and value
        if spec.policy(f) == "other":
            values = values.mask(unseen, OTHER)
        out[f.name] = values
    return out


def _flat_spec(spec: FeaturesSpec) -> tuple[FeaturesSpec, list[str]]:
    """Drop features that need event times (activities, lead age, and derived features built on them)."""
    timed = {f.name for f in spec.definitions if isinstance(f, ActivityFeature | BuiltinFeature)}
    changed = True
    while changed:
        changed = False
        for f in spec.of_kind(DerivedFeature):
            if f.name not in timed and any(r in timed for r in _refs(f)):
                timed.add(f.name)
                changed = True
    keep = [n for n in spec.names() if n not in timed]
    return spec.model_copy(update={"definitions": [f for f in spec.definitions if f.name in keep]}), sorted(timed)


def _refs(f: DerivedFeature) -> set[str]:
    from leadops import expr

    return expr.references(f.tree())


def build_training_set(
    fspec: FeaturesSpec,
    tspec: TrainingSpec,
    warehouse: Warehouse,
    *,
    truth: pd.DataFrame | None = None,
    sources: Sequence[SourceSpec] = (),
) -> TrainingSet:
    """Cut a point-in-time training set from the warehouse (flat exports: attributes, random split).

    Features reading a column the mapping declares `post_outcome` (`sources`) are
    dropped before anything else: they are listed in the leakage report as declared, never trained on."""
    if tspec.features is not None:
        unknown = sorted(set(tspec.features) - set(fspec.names()))
        if unknown:
            raise FeatureError(f"training.features names unknown features {unknown} (known: {fspec.names()})")
        fspec = fspec.select(tspec.features)
    warnings: list[str] = []
    declared = declared_post_outcome(fspec, sources)
    if declared:
        fspec = fspec.model_copy(update={"definitions": [f for f in fspec.definitions if f.name not in declared]})
        warnings.append(f"post-outcome features left out (declared in the mapping): {sorted(declared)}")
    flat = is_flat(warehouse)
    end = None
    censored = pd.DataFrame(columns=["lead_id", "snapshot_at", "converted_so_far"])
    if flat:
        fspec, dropped = _flat_spec(fspec)
        how = (
            "ordered by row (the number ending each lead_id)"
            if tspec.split.method == "ordered"
            else "random (stratified)"
        )
        warnings.append(
            "flat export without event times: point-in-time safety cannot be checked; "
            f"labels are 'ever converted' and the split is {how}"
        )
        if dropped:
            warnings.append(f"features that need event times were left out: {dropped}")
        rows = flat_labels(warehouse, tspec)
        table = build_features(
            as_read(fspec), warehouse, as_of=utcnow(), lead_ids=rows["lead_id"].tolist(), as_pandas=True
        )
        frame = rows.merge(table, on="lead_id", how="inner", validate="one_to_one")
        frame = frame.sort_values("lead_id", kind="mergesort").reset_index(drop=True)
        if tspec.split.method == "ordered":
            split = ordered_split(frame["lead_id"], tspec.split)
        else:
            split = stratified_split(frame["label"].to_numpy(dtype=bool), tspec.split)
    else:
        end = data_end(warehouse, tspec)
        if end is None:
            raise FeatureError("the warehouse holds no leads with times: nothing to build a training set from")
        untimed = int(warehouse.scalar("SELECT count(*) FROM outcomes WHERE occurred_at IS NULL") or 0)
        if untimed:
            warnings.append(f"{untimed} outcomes have no occurred_at and were ignored for labels")
        rows = labelled_snapshots(warehouse, tspec, end)
        immature = rows[~rows["mature"].astype(bool)]
        if len(immature):
            censored = pd.DataFrame(
                {
                    "lead_id": immature["lead_id"].to_numpy(),
                    "snapshot_at": immature["snapshot_at"].to_numpy(),
                    "converted_so_far": immature["label"].astype(bool).to_numpy(),
                }
            )
            warnings.append(
                f"{len(immature)} snapshots whose {tspec.label.window_days:g}-day label window is "
                f"still open at {end} are censored (left out, not counted as non-converts)"
            )
        rows = rows[rows["mature"].astype(bool)].reset_index(drop=True)
        if rows.empty:
            raise FeatureError(
                "no snapshot has a mature label: every "
                f"{tspec.label.window_days:g}-day window closes after the "
                f"data end {end}",
                hint="shorten training.label.window_days or wait for more data",
            )
        pop = pa.table(
            {
                "lead_id": pa.array(rows["lead_id"].tolist(), pa.string()),
                "as_of": pa.array(pd.to_datetime(rows["snapshot_at"]).dt.as_unit("us").tolist(), pa.timestamp("us")),
            }
        )
        table = build_features(
            as_read(fspec), warehouse, per_lead_as_of=pop.group_by(["lead_id", "as_of"]).aggregate([]), as_pandas=True
        )
        table = table.rename(columns={"as_of": "snapshot_at"})
        rows["snapshot_at"] = pd.to_datetime(rows["snapshot_at"]).dt.as_unit("us")
        table["snapshot_at"] = pd.to_datetime(table["snapshot_at"]).dt.as_unit("us")
        frame = rows.merge(table, on=["lead_id", "snapshot_at"], how="inner", validate="one_to_one")
        frame = frame.sort_values(["snapshot_at", "lead_id"], kind="mergesort").reset_index(drop=True)
        split = time_split(frame["snapshot_at"], tspec.split)
    frame["split"] = split
    names = fspec.names()
    train_mask = frame["split"] == "train"
    fspec = _learn_categories(fspec, frame.loc[train_mask, names])
    encoded = _apply_categories(fspec, frame[names], frame["lead_id"])
    warnings += coverage_warnings(fspec, frame[names], encoded, fspec.warn_share)
    frame[names] = encoded
    y_all = frame["label"].astype(bool)
    if y_all[train_mask].nunique() < 2:
        warnings.append("the training split holds a single class: a model cannot learn from it")
    report = check_leakage(
        frame.loc[train_mask, names],
        y_all[train_mask].to_numpy(),
        categorical=fspec.categorical(),
        spec=tspec.leakage,
        seed=tspec.split.seed,
        time_safe=set() if flat else fspec.time_safe(),
    )
    report.declared = declared
    if report.skipped:
        warnings.append(f"leakage guard skipped: {report.skipped}")
    for name, why in report.reasons().items():
        verb = "excluded" if name in report.excluded else "kept"
        warnings.append(f"leakage guard: feature '{name}' {verb}: {why}")
    kept = [n for n in names if n not in set(report.excluded)]
    digest_cols = ["lead_id", "snapshot_at", "split", "label", "deal_value", *kept]
    ordered = frame.sort_values(["lead_id", "snapshot_at"], kind="mergesort")[digest_cols]
    digest = digest_frame(ordered.assign(label=ordered["label"].astype(bool)))
    parts = {s: frame[frame["split"] == s] for s in SPLITS}
    deal = {
        s: p["deal_value"].where(p["label"].astype(bool), 0.0).fillna(0.0).astype("float64").reset_index(drop=True)
        for s, p in parts.items()
    }
    truth_parts = None
    if truth is not None:
        if "lead_id" not in truth:
            raise FeatureError(f"truth frame needs a lead_id column, got {list(truth.columns)}")
        t = truth.assign(lead_id=truth["lead_id"].astype(str))
        truth_parts = {
            s: p[["lead_id"]].merge(t, on="lead_id", how="left").reset_index(drop=True) for s, p in parts.items()
        }

    def X(s: str) -> pd.DataFrame:
        return parts[s][kept].reset_index(drop=True)

    def Y(s: str) -> pd.Series:
        return parts[s]["label"].astype("int64").rename("label").reset_index(drop=True)

    return TrainingSet(
        X_train=X("train"),
        y_train=Y("train"),
        X_val=X("validation"),
        y_val=Y("validation"),
        X_test=X("test"),
        y_test=Y("test"),
        ids={s: p["lead_id"].reset_index(drop=True) for s, p in parts.items()},
        times={s: p["snapshot_at"].reset_index(drop=True) for s, p in parts.items()},
        deal_values=deal,
        feature_labels={n: fspec.labels()[n] for n in kept},
        categorical=[c for c in fspec.categorical() if c in kept],
        digest=digest,
        point_in_time=not flat,
        spec=fspec.select(kept),
        leakage=report,
        warnings=warnings,
        censored=censored,
        data_end=end,
        truth=truth_parts,
    )
