"""The `monitoring:` section: how `leadops monitor` compares tonight's leads with the model's reference."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from leadops.settings.base import Section

DRIFT_STAT_NAMES = (
    "psi",
    "jensen_shannon",
    "wasserstein",
    "ks",
    "chi_square",
    "new_category_share",
    "missing_rate_jump",
)
"""The statistics monitoring.drift registers (a test keeps the two in step; settings import nothing above them)."""


class WebhookSpec(Section):
    """Where alerts are POSTed as JSON (Slack, Teams, PagerDuty, an internal endpoint), and how hard to try."""

    url: str | None = Field(default=None, description="http(s) URL; none = alerts go to the table and the log only")
    min_severity: Literal["warning", "critical"] = "warning"
    timeout_seconds: float = Field(default=5.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10, description="further attempts after the first, with backoff")
    backoff_seconds: float = Field(default=1.0, ge=0, description="wait before the first retry; doubles each time")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value


class NewLeadsSpec(Section):
    """The second population of each run: the leads new since the previous run, where a mix shift shows at once."""

    enabled: bool = Field(default=True, description="compare each run's new leads with the reference run's new leads")
    min_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="the new-lead window: leads created since the previous run, and at least this many days back "
        "(a night's handful of new leads is noise)",
    )
    min_rows: int = Field(
        default=200, ge=20, description="fewer new leads than this in either window: no new-lead drift (too few)"
    )
    alpha: float = Field(
        default=0.001,
        gt=0,
        lt=1,
        description="a new-lead statistic drifts when its effect size passes its threshold AND its test's p-value "
        "(KS / chi-square / two-proportion) is below this: a small sample's noise alone never alarms",
    )
    volume_change: float = Field(
        default=0.5,
        gt=0,
        description="alert when new leads per day (overall or of one source) change by this share of the reference "
        "(and the change is significant at alpha)",
    )


class MonitoringSettings(Section):
    """Drift thresholds (on effect sizes) and how many of a run's leads are compared."""

    reference: Literal["first_run", "previous_run", "training"] = Field(
        default="first_run",
        description="what a run is compared with: the first published run of its model version (the same population, "
        "open leads of every age), the run before it, or the model's held-out training sample (leads at the "
        "training snapshot's age: activity windows of older open leads differ from it by design)",
    )
    sample_rows: int = Field(
        default=50_000, ge=100, description="leads of a run compared with the reference (the same ones every time)"
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="effect-size threshold per drift statistic (psi, jensen_shannon, wasserstein, ks, chi_square, "
        "new_category_share, missing_rate_jump); unset ones keep their defaults",
    )
    new_leads: NewLeadsSpec = Field(default_factory=NewLeadsSpec)
    sample_dir: str = Field(
        default="monitoring/samples",
        description="where each monitored sample (features as scored) is kept, so the next run's reference is read, "
        "not rebuilt (workspace-relative)",
    )
    keep_samples: int = Field(
        default=14,
        ge=1,
        description="samples kept beside every model version's first week (the references): the newest N runs'",
    )
    after_score: bool = Field(default=True, description="`leadops schedule` monitors each run right after scoring it")
    webhook: WebhookSpec = Field(default_factory=WebhookSpec)
    auc_drop: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="alert when the newest mature cohort's AUC is this far below the earlier mature cohorts' median",
    )
    cohort_weeks: int = Field(
        default=52,
        ge=1,
        le=260,
        description="weekly cohorts reported per run, newest last: a year, so cohorts from before a change are still "
        "shown once the ones after it have matured (label window + weeks)",
    )
    critical_factor: float = Field(
        default=2.0, gt=1.0, description="a statistic this many times over its threshold makes the alert critical"
    )

    @field_validator("thresholds")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DRIFT_STAT_NAMES))
        if unknown:
            raise ValueError(f"unknown drift statistics {unknown}; expected some of {list(DRIFT_STAT_NAMES)}")
        bad = {k: v for k, v in value.items() if not v > 0}
        if bad:
            raise ValueError(f"thresholds must be > 0, got {bad}")
        return value
