"""The `security:` section: what the config may reach outside the workspace."""

from __future__ import annotations

from pydantic import Field

from leadops.settings.base import Section


class SecuritySettings(Section):
    """What the config may reach outside the workspace: nothing, unless a directory is listed here."""

    allowed_dirs: list[str] = Field(
        default_factory=list,
        description="directories outside the workspace that source paths, exports.dir and query: SQL may use",
    )
