"""The `experiments:` list of leadops.yaml: randomized A/B tests of scoring models and routing policies.

Each experiment splits its units (leads, or accounts so colleagues share one treatment) between arms by a salted
SHA-256 hash; the first arm is the control unless `control` names another. An arm pins a model (a registry
version number or an alias: champion, challenger) and/or a routing policy; what it leaves out follows the
workspace's champion and `routing.policy`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from leadops.settings.base import Section

KpiName = Literal["conversion_within_days", "revenue_per_lead", "conversions_per_contact"]
RoutingPolicyName = Literal["threshold", "capacity", "expected_value"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MODEL_ALIASES = ("champion", "challenger")


class ArmSpec(Section):
    """One arm: a share of the units, the model version it scores with and/or the routing policy it routes with."""

    name: str = Field(description="letters, digits, _ . -; shown in every readout")
    model: str | None = Field(
        default=None, description="a registry version number ('7') or an alias (champion, challenger); none = champion"
    )
    routing: RoutingPolicyName | None = Field(default=None, description="routing policy for this arm's leads")
    weight: float = Field(default=1.0, gt=0, description="relative share of the units (normalised over the arms)")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"expected letters, digits, _ . - (at most 64), got {value!r}")
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if text in MODEL_ALIASES or (text.isdigit() and int(text) > 0):
            return text
        raise ValueError(f"expected a version number or one of {list(MODEL_ALIASES)}, got {value!r}")

    def version(self) -> int | None:
        """The pinned registry version, when the arm names one by number."""
        return int(self.model) if self.model is not None and self.model.isdigit() else None


class KpiSpec(Section):
    """The primary KPI a readout decides on, and the window it waits for (conversions arrive weeks later)."""

    metric: KpiName = Field(
        default="conversion_within_days",
        description="conversion_within_days: converted within window_days of assignment; revenue_per_lead: deal "
        "value won within the window; conversions_per_contact: conversions per Sales contact within the window",
    )
    window_days: int = Field(default=30, ge=1, le=730, description="days after assignment a unit's KPI is counted")


class GuardrailSpec(Section):
    """Limits the treatment may not break whatever its KPI does: Sales' queue and unsubscribes."""

    sales_queue_max_increase: float | None = Field(
        default=0.20,
        ge=0,
        description="largest relative increase of the share of units routed to Sales (0.2 = +20 %); none = unchecked",
    )
    unsubscribe_max_increase: float | None = Field(
        default=0.0,
        ge=0,
        description="largest absolute increase of the unsubscribe rate (0.005 = half a point) before the treatment "
        "is held back, breached only when significant; none = unchecked",
    )


class ExperimentSpec(Section):
    """One experiment as declared: arms, unit, salt, dates, KPI, guardrails and how it is analysed."""

    name: str
    arms: list[ArmSpec] = Field(min_length=2)
    control: str | None = Field(default=None, description="the control arm's name (default: the first arm)")
    unit: Literal["lead", "account"] = "lead"
    salt: str | None = Field(default=None, description="hash salt (default: the experiment's name); never reuse")
    start: datetime
    stop: datetime | None = Field(default=None, description="no new units after this time (none = open-ended)")
    population: Literal["new", "open"] = Field(
        default="new",
        description="new: leads created from `start` on (none worked before the test); open: every open lead scored "
        "while it runs",
    )
    primary_kpi: KpiSpec = Field(default_factory=KpiSpec)
    guardrails: GuardrailSpec = Field(default_factory=GuardrailSpec)
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="two-sided significance level")
    power: float = Field(default=0.8, gt=0, lt=1, description="power the planned sample size aims for")
    mde: float | None = Field(
        default=None, gt=0, description="relative minimum detectable effect (0.1 = +10 %): the planned sample size"
    )
    sequential: bool = Field(
        default=True, description="decide on the always-valid (mSPRT) test, safe to read daily; false = fixed horizon"
    )
    cuped: bool = Field(default=True, description="adjust the KPI by pre-assignment engagement (CUPED)")
    promote_on_ship: bool = Field(
        default=False,
        description="a 'ship' readout promotes the treatment arm's model version through the gates (audited) and "
        "closes the experiment; a final 'keep' closes it (set by the retraining policy's action: experiment)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"expected letters, digits, _ . - (at most 64), got {value!r}")
        return value

    @field_validator("start", "stop")
    @classmethod
    def _naive(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            from datetime import UTC

            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentSpec:
        names = [arm.name for arm in self.arms]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"experiment {self.name!r}: arm names must be unique, got {twice} more than once")
        if self.control is not None and self.control not in names:
            raise ValueError(f"experiment {self.name!r}: control {self.control!r} is not one of its arms {names}")
        if self.stop is not None and self.stop <= self.start:
            raise ValueError(f"experiment {self.name!r}: stop {self.stop} must come after start {self.start}")
        return self

    def control_arm(self) -> str:
        """The control arm's name."""
        return self.control or self.arms[0].name

    def hash_salt(self) -> str:
        """The salt of the assignment hash."""
        return self.salt if self.salt is not None else self.name

    def arm(self, name: str) -> ArmSpec:
        """The arm called `name` (KeyError when there is none)."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(name)

    def running(self, at: datetime) -> bool:
        """Whether the experiment takes new units at `at`."""
        return self.start <= at and (self.stop is None or at < self.stop)


def check_unique(experiments: list[ExperimentSpec]) -> list[ExperimentSpec]:
    """Experiment names are unique across the list (a readout is found by name)."""
    names = [e.name for e in experiments]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"experiment names must be unique, got {twice} more than once")
    return experiments
