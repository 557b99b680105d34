"""Scorer configurations as strict pydantic models: a scoring model's parameters are validated data."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from leadops.errors import ScorerError


class _Strict(BaseModel):
    """Base of every spec: unknown keys are errors, so a typo in leadops.yaml never goes unnoticed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class GradesSpec(_Strict):
    """Grade cut-offs: fixed thresholds (`cutoffs`) or cumulative top fractions of fitted scores (`top`)."""

    cutoffs: dict[str, float] | None = None
    top: dict[str, float] | None = None
    otherwise: str = "D"
    basis: Literal["score", "raw"] = "score"

    @field_validator("cutoffs", "top", mode="before")
    @classmethod
    def _str_keys(cls, v: Any) -> Any:
        return {str(k): x for k, x in v.items()} if isinstance(v, Mapping) else v

    @field_validator("otherwise", mode="before")
    @classmethod
    def _str_grade(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _one_kind(self) -> GradesSpec:
        if (self.cutoffs is None) == (self.top is None):
            raise ValueError("grades: give exactly one of `cutoffs` (thresholds) or `top` (cumulative fractions)")
        if self.top is not None:
            fracs = list(self.top.values())
            if any(not 0 < f <= 1 for f in fracs) or fracs != sorted(fracs):
                raise ValueError(f"grades.top: expected increasing fractions in (0, 1], got {self.top}")
        if self.cutoffs is not None:
            vals = list(self.cutoffs.values())
            if vals != sorted(vals, reverse=True):
                raise ValueError(
                    f"grades.cutoffs: expected decreasing thresholds (best grade first), got {self.cutoffs}"
                )
        return self

    def labels(self) -> list[str]:
        """Every grade this spec can produce, best first."""
        keys = list((self.cutoffs or self.top or {}).keys())
        return [*keys, self.otherwise]


def _letter_grades() -> GradesSpec:
    return GradesSpec(cutoffs={"A": 75, "B": 50, "C": 25}, otherwise="D")


def _quantile_grades() -> GradesSpec:
    return GradesSpec(top={"A": 0.1, "B": 0.3, "C": 0.6}, otherwise="D")


class CalibrationSpec(_Strict):
    """Map the scorer's raw value onto a conversion probability, on the validation split or cross-fitted."""

    method: Literal["platt", "isotonic"] = "platt"
    cv: int = Field(3, ge=2, le=20)


class FeatureMeaning(_Strict):
    """What a feature measures, as the feature spec declares it: what reason codes are worded from."""

    kind: Literal["activity", "attribute", "derived", "builtin"] = "attribute"
    value_type: Literal["numeric", "boolean", "categorical"] = "numeric"
    column: str | None = Field(default=None, description="attribute: the canonical column (employees, industry)")
    agg: Literal["count", "exists", "recency", "decayed_sum", "sum"] | None = None
    types: list[str] = Field(default_factory=list, description="activity: the activity types it counts")
    window_days: float | None = None
    half_life_days: float | None = None
    builtin: str | None = None
    phrase: str | None = None
    phrase_none: str | None = None


class _ScorerSpecBase(_Strict):
    feature_labels: dict[str, str] = Field(default_factory=dict)
    feature_meanings: dict[str, FeatureMeaning] = Field(default_factory=dict)
    grades: GradesSpec = Field(default_factory=_letter_grades)
    calibration: CalibrationSpec | None = None


# ---------------------------------------------------------------- points


class Condition(_Strict):
    """Conditions on one feature's value; several keys in one condition are ANDed."""

    equals: str | int | float | bool | None = None
    in_: list[str | int | float | bool] | None = Field(None, alias="in")
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None
    between: tuple[float, float] | None = None
    is_true: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if all(getattr(self, k) is None for k in ("equals", "in_", "gte", "gt", "lte", "lt", "between", "is_true")):
            raise ValueError("when: expected at least one of equals, in, gte, gt, lte, lt, between, is_true")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"when.between: expected [low, high] with low <= high, got {list(self.between)}")
        return self


class DecaySpec(_Strict):
    """Behavioural points lose `rate_per_week` of their value per week since the activity."""

    days_feature: str
    rate_per_week: float = Field(0.05, ge=0, lt=1)


class PointsRule(_Strict):
    """One row of a rule table: when `feature` satisfies `when`, add `points` (negative points subtract)."""

    feature: str
    when: Condition
    points: float
    group: str = "demographic"
    reason: str | None = None
    decay: DecaySpec | None = None


class GroupSpec(_Strict):
    """Caps on one group's total points (e.g. behavioural at most 50) and a default decay for its rules."""

    max: float | None = None
    min: float | None = None
    decay: DecaySpec | None = None


class ClampSpec(_Strict):
    min: float = 0.0
    max: float = 100.0

    @model_validator(mode="after")
    def _ordered(self) -> ClampSpec:
        if not self.min < self.max:
            raise ValueError(f"clamp: expected min < max, got min={self.min} max={self.max}")
        return self


class PointsSpec(_ScorerSpecBase):
    """Declarative additive / subtractive rule tables with group caps, decay, clamping and grade cut-offs."""

    type: Literal["points"] = "points"
    base: float = 0.0
    rules: list[PointsRule] = Field(min_length=1)
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    clamp: ClampSpec = Field(default_factory=ClampSpec)


# ---------------------------------------------------------------- icp_fit


class RangeSpec(_Strict):
    min: float | None = None
    max: float | None = None


class ICPAttribute(_Strict):
    """One attribute of the ideal customer profile: target values (or partial credit per value) or a range."""

    feature: str
    weight: float = Field(1.0, gt=0)
    values: list[str | int | float | bool] | dict[str, float] | None = None
    range: RangeSpec | None = None


class ICPFitSpec(_ScorerSpecBase):
    """Ideal-customer-profile fit, configured (`attributes` with targets) or learned (`learn: true`)."""

    type: Literal["icp_fit"] = "icp_fit"
    attributes: list[ICPAttribute] = Field(default_factory=list)
    learn: bool = False
    smoothing: float = Field(20.0, ge=0)
    bins: int = Field(5, ge=2, le=50)

    @model_validator(mode="after")
    def _targets(self) -> ICPFitSpec:
        if not self.learn:
            if not self.attributes:
                raise ValueError("icp_fit: expected `attributes` (or `learn: true` to learn them from conversions)")
            for a in self.attributes:
                if (a.values is None) == (a.range is None):
                    raise ValueError(f"icp_fit attribute {a.feature!r}: expected exactly one of `values` or `range`")
        return self


# ---------------------------------------------------------------- engagement


class ActivitySpec(_Strict):
    feature: str
    weight: float = 1.0
    days_since_feature: str | None = None
    half_life_days: float | None = Field(None, gt=0)


def _digit_grades() -> GradesSpec:
    return GradesSpec(cutoffs={"1": 75, "2": 50, "3": 25}, otherwise="4")


class EngagementSpec(_ScorerSpecBase):
    """Activity points with exponential recency decay, saturated onto 0..100 by 100*(1-exp(-points/scale))."""

    type: Literal["engagement"] = "engagement"
    activities: list[ActivitySpec] = Field(min_length=1)
    half_life_days: float = Field(30.0, gt=0)
    scale: float = Field(50.0, gt=0)
    learn_weights: bool = False
    grades: GradesSpec = Field(default_factory=_digit_grades)


# ---------------------------------------------------------------- predictive


class ScorecardSpec(_ScorerSpecBase):
    """Logistic scorecard: standardized numerics, one-hot categoricals with an `other` bucket, L2."""

    type: Literal["scorecard"] = "scorecard"
    numeric: list[str] | None = None
    categorical: list[str] | None = None
    C: float = Field(1.0, gt=0)
    class_weight: Literal["balanced"] | None = None
    min_category_count: int = Field(10, ge=1)
    max_iter: int = Field(2000, ge=10)
    grades: GradesSpec = Field(default_factory=_quantile_grades)


class LightGBMSpec(_ScorerSpecBase):
    """Gradient-boosted trees with defaults that work untuned; early stopping on the validation split."""

    type: Literal["lightgbm"] = "lightgbm"
    categorical: list[str] | None = None
    n_estimators: int = Field(400, ge=1)
    learning_rate: float = Field(0.04, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    min_child_samples: int = Field(50, ge=1)
    feature_fraction: float = Field(0.9, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(1.0, ge=0)
    early_stopping_rounds: int = Field(50, ge=1)
    class_weight: Literal["balanced"] | None = None
    search: bool = False
    search_iterations: int = Field(10, ge=1)
    seed: int = 0
    num_threads: int = Field(0, ge=0)
    grades: GradesSpec = Field(default_factory=_quantile_grades)


# ---------------------------------------------------------------- combined


def _default_cells() -> dict[str, float]:
    return {f"{f}{e}": 100.0 - 15.0 * (i + j) for i, f in enumerate("ABCD") for j, e in enumerate("1234")}


class MatrixSpec(_ScorerSpecBase):
    """Fit x engagement matrix: letter from `fit`, digit from `engagement`, cell -> score."""

    type: Literal["matrix"] = "matrix"
    fit: ScorerSpec | str
    engagement: ScorerSpec | str
    cells: dict[str, float] = Field(default_factory=_default_cells)

    @model_validator(mode="after")
    def _cells_in_range(self) -> MatrixSpec:
        bad = {k: v for k, v in self.cells.items() if not 0 <= v <= 100}
        if bad:
            raise ValueError(f"matrix.cells: expected scores in 0..100, got {bad}")
        return self


class BlendComponent(_Strict):
    weight: float = Field(gt=0)
    scorer: ScorerSpec | str


class BlendSpec(_ScorerSpecBase):
    """Weighted blend of any scorers' 0..100 scores; components are inline specs or names of other models."""

    type: Literal["blend"] = "blend"
    components: dict[str, BlendComponent] = Field(min_length=1)


ScorerSpec = Annotated[
    PointsSpec | ICPFitSpec | EngagementSpec | ScorecardSpec | LightGBMSpec | MatrixSpec | BlendSpec,
    Field(discriminator="type"),
]
AnyScorerSpec = PointsSpec | ICPFitSpec | EngagementSpec | ScorecardSpec | LightGBMSpec | MatrixSpec | BlendSpec

MatrixSpec.model_rebuild()
BlendComponent.model_rebuild()
BlendSpec.model_rebuild()

_ADAPTER: TypeAdapter[AnyScorerSpec] = TypeAdapter(ScorerSpec)


def parse_scorer_spec(data: Mapping[str, Any] | AnyScorerSpec, *, source: str = "scorer spec") -> AnyScorerSpec:
    """Validate a mapping (e.g. parsed YAML) into its spec class, with the source named in the error."""
    if isinstance(data, BaseModel):
        return data
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        raise ScorerError(f"{source}: invalid scorer configuration: {exc}") from exc


def load_preset(name: str) -> AnyScorerSpec:
    """Read a shipped preset (e.g. `tutorial_points`) from leadops/scorers/presets/<name>.yaml."""
    import yaml

    ref = resources.files("leadops.scorers").joinpath("presets").joinpath(f"{name}.yaml")
    if not ref.is_file():
        raise ScorerError(f"preset {name!r}: expected a file presets/{name}.yaml in leadops.scorers, found none")
    return parse_scorer_spec(yaml.safe_load(ref.read_text(encoding="utf-8")), source=f"preset {name}")
