"""Feature and training-set specs as data (the `features:` and `training:` sections of leadops.yaml).

Deliberately free of leadops.config so config.py can import these models. Every feature has a `label`
a sales rep can read; it is what reason codes print.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from leadops import expr
from leadops.errors import FeatureError
from leadops.settings.base import Section

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
JSON_KEY = re.compile(r"^[^\"'\\]+$")
LEAD_COLUMNS = {
    "account_id",
    "created_at",
    "email_domain_type",
    "job_level",
    "department",
    "country",
    "region",
    "lead_source",
    "do_not_email",
    "do_not_call",
}
ACCOUNT_COLUMNS = {
    "name",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "profitable_last_quarter",
    "is_competitor",
}
OTHER = "other"


class FeatureBase(Section):
    """What every feature declares: a column-safe name and a sales-readable label."""

    name: str = Field(description="column name: lower-case letters, digits, underscore")
    label: str = Field(description="sales-rep readable text used in reason codes")
    phrase: str | None = Field(
        default=None,
        description=(
            "how a reason reads when leadops cannot derive it, e.g. 'Visited the website {value} times in 30 days'; "
            "{value} is the lead's value, {label} the label, any other {feature} that feature's value"
        ),
    )
    phrase_none: str | None = Field(
        default=None, description="the reason when the value is 0, false or none, e.g. 'Never requested a demo'"
    )

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not NAME.match(value.replace("{days}", "0")):
            raise ValueError(f"feature name '{value}' must be lower-case letters, digits and underscores")
        return value


class AttributeFeature(FeatureBase):
    """A static attribute of the lead or its account: a canonical column or a key of `attributes` JSON."""

    kind: Literal["attribute"] = "attribute"
    source: Literal["lead", "account"] = "lead"
    column: str | None = Field(default=None, description="canonical column of leads/accounts")
    key: str | None = Field(default=None, description="key inside the `attributes` JSON (flat exports)")
    type: Literal["numeric", "boolean", "categorical"] = "numeric"
    categories: list[str] | None = Field(
        default=None,
        description="known values (learned by fit_categories when absent); others follow `unseen`",
    )
    unseen: Literal["keep", "other", "error"] | None = Field(
        default=None, description="what an unknown category becomes; default from features.unseen"
    )
    max_categories: int | None = Field(default=None, ge=1, description="keep the N most frequent when learning")

    @model_validator(mode="after")
    def _one_origin(self) -> AttributeFeature:
        if (self.column is None) == (self.key is None):
            raise ValueError(f"feature '{self.name}': give exactly one of 'column' or 'key'")
        if self.column is not None:
            allowed = LEAD_COLUMNS if self.source == "lead" else ACCOUNT_COLUMNS
            if self.column not in allowed:
                raise ValueError(
                    f"feature '{self.name}': column '{self.column}' is not a {self.source} column "
                    f"(expected one of {sorted(allowed)})"
                )
        if self.key is not None and not JSON_KEY.match(self.key):
            raise ValueError(f"feature '{self.name}': attribute key '{self.key}' may not contain quotes or '\\'")
        if self.type != "categorical" and (self.categories or self.unseen or self.max_categories):
            raise ValueError(f"feature '{self.name}': categories/unseen/max_categories need type: categorical")
        return self


class PropertyFilter(Section):
    """Which activities count by one of their properties (activities.properties), compared as text."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    property: str = Field(description="the property's name, e.g. outcome, direction, page")
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", description="any of these values")
    contains: str | None = Field(default=None, description="text found inside the value (a page in a visit)")

    @model_validator(mode="after")
    def _one_test(self) -> PropertyFilter:
        if not JSON_KEY.match(self.property):
            raise ValueError(f"property '{self.property}' may not contain quotes or '\\'")
        given = [k for k in ("equals", "in_", "contains") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"where on property '{self.property}': give exactly one of equals, in, contains")
        return self

    def matches(self, text: str | None) -> bool:
        """The Python side of the test (features/sql.py renders the same one as SQL)."""
        if text is None:
            return False
        if self.equals is not None:
            return text == self.equals
        if self.in_ is not None:
            return text in self.in_
        return (self.contains or "") in text


class ActivityFeature(FeatureBase):
    """An aggregate of the lead's activities recorded at or before the as-of time, over a trailing window."""

    kind: Literal["activity"] = "activity"
    types: list[str] = Field(default_factory=list, description="activity types counted (empty = every type)")
    agg: Literal["count", "exists", "recency", "decayed_sum", "sum"] = "count"
    window_days: float | None = Field(default=None, gt=0, description="trailing window; null = all history")
    windows: list[float] | None = Field(
        default=None, description="shorthand: one feature per window, name/label use {days}"
    )
    half_life_days: float | None = Field(default=None, gt=0, description="decayed_sum: weight halves every N days")
    where: PropertyFilter | None = Field(
        default=None, description="only activities whose property passes (e.g. calls whose outcome is Connected)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ActivityFeature:
        if self.agg == "decayed_sum" and self.half_life_days is None:
            raise ValueError(f"feature '{self.name}': decayed_sum needs half_life_days")
        if self.agg != "decayed_sum" and self.half_life_days is not None:
            raise ValueError(f"feature '{self.name}': half_life_days only applies to agg: decayed_sum")
        if self.windows is not None:
            if self.window_days is not None:
                raise ValueError(f"feature '{self.name}': give 'windows' or 'window_days', not both")
            if "{days}" not in self.name:
                raise ValueError(f"feature '{self.name}': with 'windows' the name must contain {{days}}")
            if any(w <= 0 for w in self.windows):
                raise ValueError(f"feature '{self.name}': windows must be positive, got {self.windows}")
        elif "{days}" in self.name:
            raise ValueError(f"feature '{self.name}': {{days}} in a name needs 'windows'")
        return self

    def window_us(self) -> int | None:
        """The window in whole microseconds (both execution paths compare integers)."""
        return None if self.window_days is None else round(self.window_days * 86_400_000_000)


class DerivedFeature(FeatureBase):
    """An expression over other numeric features, e.g. `email_clicks_30d / (email_opens_30d + 1)`."""

    kind: Literal["derived"] = "derived"
    expression: str

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            expr.parse(value, where="derived feature")
        except FeatureError as exc:  # pydantic reports ValueErrors with the key path
            raise ValueError(exc.message) from exc
        return value

    def tree(self) -> expr.Node:
        """The parsed expression."""
        return expr.parse_cached(self.expression)


class BuiltinFeature(FeatureBase):
    """A feature leadops computes itself: `days_since_created` (lead age at the as-of time)."""

    kind: Literal["builtin"] = "builtin"
    builtin: Literal["days_since_created"] = "days_since_created"


Feature = Annotated[AttributeFeature | ActivityFeature | DerivedFeature | BuiltinFeature, Field(discriminator="kind")]


def _fmt_days(days: float) -> str:
    return str(int(days)) if float(days).is_integer() else str(days).replace(".", "_")


class FeaturesSpec(Section):
    """Every feature the workspace computes; one definition drives the SQL path and the single-lead path."""

    unseen: Literal["keep", "other", "error"] = Field(default="other", description="default unseen-category policy")
    max_categories: int = Field(default=20, ge=1, description="default cut when learning categories")
    warn_share: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="train and ingest warn when more than this share of a column becomes 'other' or missing",
    )
    definitions: list[Feature] = Field(default_factory=list)

    @field_validator("definitions", mode="before")
    @classmethod
    def _expand_windows(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, dict) and "kind" not in item:
                item = {**item, "kind": "attribute"}  # the default kind: plain columns read easiest in YAML
            if isinstance(item, dict) and item.get("windows") is not None and item.get("kind") == "activity":
                for days in item["windows"]:
                    d = _fmt_days(float(days))
                    copy = {k: v for k, v in item.items() if k != "windows"}
                    copy["name"] = str(item["name"]).replace("{days}", d)
                    copy["label"] = str(item.get("label", "")).replace("{days}", d)
                    for key in ("phrase", "phrase_none"):
                        if item.get(key) is not None:
                            copy[key] = str(item[key]).replace("{days}", d)
                    copy["window_days"] = float(days)
                    out.append(copy)
            else:
                out.append(item)
        return out

    @model_validator(mode="after")
    def _references(self) -> FeaturesSpec:
        counts = Counter(f.name for f in self.definitions)
        dupes = sorted(n for n, c in counts.items() if c > 1)
        if dupes:
            raise ValueError(f"feature names must be unique; repeated: {dupes}")
        by_name = {f.name: f for f in self.definitions}
        for f in self.definitions:
            if isinstance(f, DerivedFeature):
                for ref in sorted(expr.references(f.tree())):
                    target = by_name.get(ref)
                    if target is None:
                        raise ValueError(f"derived feature '{f.name}' refers to unknown feature '{ref}'")
                    if isinstance(target, AttributeFeature) and target.type == "categorical":
                        raise ValueError(f"derived feature '{f.name}' refers to categorical feature '{ref}'")
        self.derived_order()  # raises on cycles
        return self

    # ------------------------------------------------------------------ views
    def names(self) -> list[str]:
        """Feature names in declaration order (the column order of every feature table)."""
        return [f.name for f in self.definitions]

    def labels(self) -> dict[str, str]:
        """Feature name -> sales-readable label."""
        return {f.name: f.label for f in self.definitions}

    def categorical(self) -> list[str]:
        """Names of the string-valued features."""
        return [f.name for f in self.definitions if isinstance(f, AttributeFeature) and f.type == "categorical"]

    def time_safe(self) -> set[str]:
        """Features computed only from events up to the as-of time (activities, lead age, and derived features
        built solely on them): they cannot carry information recorded after a snapshot."""
        safe = {f.name for f in self.definitions if isinstance(f, ActivityFeature | BuiltinFeature)}
        from leadops import expr

        for f in self.derived_order():
            if expr.references(f.tree()) <= safe:
                safe.add(f.name)
        return safe

    def of_kind(self, kind: type[FeatureBase]) -> list[Any]:
        """The features of one kind, in declaration order."""
        return [f for f in self.definitions if isinstance(f, kind)]

    def policy(self, f: AttributeFeature) -> str:
        """The unseen-category policy that applies to `f`."""
        return f.unseen or self.unseen

    def derived_order(self) -> list[DerivedFeature]:
        """Derived features in an order where every reference is computed first; cycles are errors."""
        derived = {f.name: f for f in self.definitions if isinstance(f, DerivedFeature)}
        order: list[DerivedFeature] = []
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise ValueError(f"derived features form a cycle: {' -> '.join([*path, name])}")
            state[name] = 1
            for ref in sorted(expr.references(derived[name].tree())):
                if ref in derived:
                    visit(ref, [*path, name])
            state[name] = 2
            order.append(derived[name])

        for name in derived:
            visit(name, [])
        return order

    def select(self, names: Iterable[str]) -> FeaturesSpec:
        """A spec keeping only `names` plus whatever derived features among them need."""
        keep = set(names)
        by_name = {f.name: f for f in self.definitions}
        stack = list(keep)
        while stack:
            f = by_name.get(stack.pop())
            if isinstance(f, DerivedFeature):
                for ref in expr.references(f.tree()):
                    if ref not in keep:
                        keep.add(ref)
                        stack.append(ref)
        return self.model_copy(update={"definitions": [f for f in self.definitions if f.name in keep]})

    def with_categories(self, learned: dict[str, list[str]]) -> FeaturesSpec:
        """A copy whose categorical features carry the learned vocabularies (what a trained model stores)."""
        defs: list[Any] = []
        for f in self.definitions:
            if isinstance(f, AttributeFeature) and f.name in learned and f.categories is None:
                defs.append(f.model_copy(update={"categories": list(learned[f.name])}))
            else:
                defs.append(f)
        return self.model_copy(update={"definitions": defs})


class SnapshotSpec(Section):
    """When each training row is observed: at created_at + N days, or every open lead on a series of dates."""

    policy: Literal["after_created", "as_of_dates"] = "after_created"
    days_after_created: float = Field(default=7.0, ge=0)
    dates: list[datetime] | None = Field(default=None, description="as_of_dates: explicit dates")
    every_days: float | None = Field(default=None, gt=0, description="as_of_dates: a date every N days")

    @model_validator(mode="after")
    def _dates(self) -> SnapshotSpec:
        if self.policy == "as_of_dates" and not self.dates and self.every_days is None:
            raise ValueError("snapshot policy as_of_dates needs 'dates' or 'every_days'")
        return self


class LabelSpec(Section):
    """The outcome predicted and the window after the snapshot it must happen in."""

    outcome: str = "converted"
    window_days: float = Field(default=120.0, gt=0)


class SplitSpec(Section):
    """Fractions of the time-ordered train / validation / test split (flat data: random stratified or ordered)."""

    method: Literal["random", "ordered"] = Field(
        default="random",
        description=(
            "flat exports only: random (stratified, seeded) or ordered (by the number ending lead_id, i.e. the "
            "file's row order with id_from_row); data with event times is always split by time"
        ),
    )
    train: float = Field(default=0.6, gt=0, lt=1)
    validation: float = Field(default=0.2, ge=0, lt=1)
    test: float = Field(default=0.2, gt=0, lt=1)
    seed: int = 42

    @model_validator(mode="after")
    def _sum(self) -> SplitSpec:
        if abs(self.train + self.validation + self.test - 1.0) > 1e-9:
            raise ValueError(f"split fractions must add up to 1, got {self.train} + {self.validation} + {self.test}")
        return self


class LeakageSpec(Section):
    """The leakage guard's thresholds (see leadops.features.leakage for the rules)."""

    enabled: bool = True
    threshold: float = Field(default=0.95, gt=0.5, le=1.0, description="single-feature AUC that is always a leak")
    dominance_floor: float = Field(
        default=0.75,
        ge=0.5,
        le=1.0,
        description="below this single-feature AUC a feature must beat the rest by its distance below it",
    )
    dominance_margin: float = Field(
        default=0.0, ge=-0.2, le=0.2, description="flag when AUC(feature) >= AUC(rest) - margin"
    )
    suspect_gap: float = Field(
        default=0.05,
        ge=0.0,
        le=0.2,
        description="a feature within this AUC of its rest is set aside as a suspect while the others are re-tested",
    )
    suspect_floor: float = Field(
        default=0.75, gt=0.5, le=1.0, description="single-feature AUC a feature needs to be set aside as a suspect"
    )
    max_suspects: int = Field(default=3, ge=0, le=10, description="suspects set aside at once")
    missing_floor: float = Field(
        default=0.6,
        gt=0.5,
        le=1.0,
        description="AUC of 'is filled' for the label above which a fill pattern is tested (filled after the outcome)",
    )
    explained_fill: float = Field(
        default=0.7,
        gt=0.5,
        le=1.0,
        description="held-out AUC at which the other features explain when a field is filled (missing by design)",
    )
    action: Literal["exclude", "warn"] = "exclude"
    allow: list[str] = Field(default_factory=list, description="features never excluded (reported anyway)")
    max_rows: int = Field(default=200_000, ge=1_000, description="rows sampled for the check")
    model_rows: int = Field(
        default=50_000, ge=1_000, description="rows (of the sample) the rest-of-the-record models are fitted on"
    )


class TrainingSpec(Section):
    """How training sets are cut from the warehouse."""

    snapshot: SnapshotSpec = Field(default_factory=SnapshotSpec)
    label: LabelSpec = Field(default_factory=LabelSpec)
    exclude_if_before: list[str] = Field(
        default=["converted", "disqualified"], description="outcomes that remove a lead once they happened"
    )
    data_end: datetime | None = Field(default=None, description="end of the data (default: latest event time)")
    split: SplitSpec = Field(default_factory=SplitSpec)
    leakage: LeakageSpec = Field(default_factory=LeakageSpec)
    features: list[str] | None = Field(default=None, description="subset of features to train on (default all)")
