"""Coverage warnings: a categorical encoding that sends much of a column to `other`, or an attribute mostly missing.

A vocabulary that does not fit the data (the old tutorial's `1-10 .. 1000+` against the book's `micro ..
enterprise`) silently turns a feature into a constant; these warnings say so in `train` and its --json.
"""

from __future__ import annotations

import pandas as pd

from leadops.settings.features import OTHER, AttributeFeature, FeaturesSpec


def as_read(spec: FeaturesSpec) -> FeaturesSpec:
    """The spec with every categorical vocabulary removed: features as read, before `other` replaces anything.

    Training builds these and applies the vocabularies itself (same outcome as the SQL path), so it can count
    what the encoding changed.
    """
    defs = [
        f.model_copy(update={"categories": None}) if isinstance(f, AttributeFeature) and f.categories else f
        for f in spec.definitions
    ]
    return spec.model_copy(update={"definitions": defs})


def _examples(values: pd.Series, limit: int = 3) -> str:
    counts = values.astype(str).value_counts().head(limit)
    return ", ".join(f"{v!r} ({n})" for v, n in counts.items())


def coverage_warnings(spec: FeaturesSpec, before: pd.DataFrame, after: pd.DataFrame, max_share: float) -> list[str]:
    """One line per attribute feature whose share of rows sent to `other` or left missing exceeds max_share.

    `before` holds the values as read, `after` the values once the categorical encoding was applied.
    """
    out: list[str] = []
    n = len(before)
    if n == 0:
        return out
    for f in spec.of_kind(AttributeFeature):
        if f.name not in before:
            continue
        raw = before[f.name]
        missing = int(raw.isna().sum())
        if missing / n > max_share:
            where = f"key {f.key!r} of the attributes" if f.key else f"{f.source} column {f.column!r}"
            out.append(
                f"feature '{f.name}': {missing / n:.0%} of the {n} rows have no value ({where}); "
                "check the mapping or drop the feature"
            )
        if f.type != "categorical" or f.categories is None or f.name not in after:
            continue
        sent = raw.notna() & after[f.name].astype("str").eq(OTHER) & raw.astype("str").ne(OTHER)
        k = int(sent.sum())
        if k / n > max_share:
            out.append(
                f"feature '{f.name}': {k / n:.0%} of the {n} rows became '{OTHER}' (not among its "
                f"{len(f.categories)} categories {f.categories[:6]}{'...' if len(f.categories) > 6 else ''}; "
                f"e.g. {_examples(raw[sent])}); fix its categories or raise max_categories"
            )
    return out
