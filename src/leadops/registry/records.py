"""What the registry hands back: one model version, one audit entry; plain dataclasses with to_dict()."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"
ACTIONS = ("register", "promote", "force_promote", "promote_refused", "rollback", "set_challenger", "retrain")
VERSION_REF = re.compile(r"^[vV]?(\d+)$")


def parse_version(ref: str | int) -> int | None:
    """The version number a ref names ("3", "v3", 3), or None when the ref is an alias or scorer name."""
    if isinstance(ref, int):
        return ref
    match = VERSION_REF.match(ref.strip())
    return int(match.group(1)) if match else None


@dataclass
class ModelVersion:
    """One registered version of the workspace's scoring model, with what produced it."""

    model_name: str
    version: int
    scorer: str | None
    run_id: str | None
    created_at: datetime | None
    source: str
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    artifact_digest: str | None = None
    description: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    report: str | None = None

    @property
    def is_champion(self) -> bool:
        """Whether the champion alias points here."""
        return CHAMPION in self.aliases

    def label(self) -> str:
        """`v3 (predictive)`: how messages name a version."""
        return f"v{self.version}" + (f" ({self.scorer})" if self.scorer else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (timestamps as ISO strings)."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        return data


@dataclass
class AuditEntry:
    """One line of the append-only audit log: who did what to which version, when and why."""

    seq: int
    recorded_at: datetime
    actor: str
    action: str
    model_name: str
    alias: str | None
    version: int | None
    previous_version: int | None
    reason: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (timestamps as ISO strings)."""
        data = asdict(self)
        data["recorded_at"] = self.recorded_at.isoformat()
        return data
