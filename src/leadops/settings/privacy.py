"""The `privacy:` section: how long personal data is kept."""

from __future__ import annotations

from pydantic import Field

from leadops.settings.base import Section


class PrivacySpec(Section):
    """Retention of personal data (days; null keeps forever)."""

    quarantine_raw_days: int | None = Field(
        default=30, ge=0, description="after N days a quarantined row's raw values are dropped (the entry stays)"
    )
    quarantine_days: int | None = Field(default=365, ge=0, description="after N days quarantine entries are deleted")
    exports_days: int | None = Field(default=None, ge=0, description="after N days exports/<date>/ folders are deleted")
