"""What the Models page reads: the registry's versions and aliases, the audit log, reports, and what a version is.

The versions come from MLflow (through `Registry`); when MLflow is unreachable the page shows the workspace's
cached view and says so, never an error page. The audit log is read from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadops.config import Settings
from leadops.registry import audit
from leadops.registry.records import AuditEntry, ModelVersion
from leadops.warehouse import Warehouse

HEADLINE = (
    "auc",
    "pr_auc",
    "ece",
    "brier",
    "captured_at_capacity",
    "revenue_at_capacity",
    "oracle_auc",
    "mql_threshold",
)
"""The metrics set side by side for champion and challenger (those a version has)."""
DETAILED = 20
"""Versions read with their metrics and lineage (newest first); older ones are listed by number only."""
LINEAGE = (
    "training_set_rows",
    "train_rows",
    "data_end",
    "gates_passed",
    "leakage_flags_used",
    "training_set_digest",
    "feature_spec_hash",
    "config_hash",
    "git_commit",
    "leadops_version",
)
"""The lineage a person reads first, in this order (hashes shortened)."""


@dataclass
class RegistryView:
    """The registry as the page shows it: versions newest first, champion and challengers, the audit log."""

    model_name: str
    versions: list[ModelVersion]
    champion: ModelVersion | None
    challengers: list[ModelVersion]
    audit: list[AuditEntry]
    offline: str | None = None
    cached: list[dict[str, Any]] = field(default_factory=list)


def registry_view(settings: Settings, warehouse: Warehouse) -> RegistryView:
    """Everything the Models page lists; the cached view (with the reason) when MLflow does not answer."""
    from leadops.registry import Registry, RegistryUnavailableError

    name = settings.registry.model_name
    log = list(reversed(audit.entries(warehouse, name))) if warehouse.table_exists("registry_audit") else []
    try:
        registry = Registry(settings, warehouse)
        listed = sorted(registry.list_versions(), key=lambda v: -v.version)
        versions = [registry.show(v.version) for v in listed[:DETAILED]] + listed[DETAILED:]
    except RegistryUnavailableError as exc:
        from leadops.redaction import redact_text
        from leadops.registry.fallback import cached_registry

        view = cached_registry(settings)
        cached = [] if view is None else [v.to_dict() for v in view.versions]
        return RegistryView(name, [], None, [], log, offline=redact_text(str(exc)), cached=cached)
    champion = next((v for v in versions if v.is_champion), None)
    challengers = [v for v in versions if any(a.startswith("challenger") for a in v.aliases)]
    return RegistryView(name, versions, champion, challengers, log)


def headline(version: ModelVersion) -> dict[str, float]:
    """The version's headline metrics that it has, in HEADLINE's order."""
    metrics = version.metrics or {}
    found = {}
    for key in HEADLINE:
        for candidate in (key, f"metrics.{key}", f"test.{key}"):
            if candidate in metrics:
                found[key] = float(metrics[candidate])
                break
    return found


def report_dir(settings: Settings) -> Path:
    """Where leadops writes its HTML reports (evaluation, comparison, monitoring, experiment)."""
    return settings.path(settings.evaluation.report_dir)


def reports(settings: Settings) -> list[dict[str, Any]]:
    """Every HTML report in the workspace's report folder, newest first, with its kind."""
    folder = report_dir(settings)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.html"):
        stem = path.stem
        kind = (
            "comparison"
            if stem.startswith("compare-")
            else "monitoring"
            if stem.startswith("monitoring-")
            else "experiment"
            if stem.startswith("experiment")
            else "evaluation"
        )
        found.append({"name": path.name, "kind": kind, "modified": path.stat().st_mtime, "bytes": path.stat().st_size})
    return sorted(found, key=lambda r: -float(r["modified"]))


def report_file(settings: Settings, name: str) -> Path:
    """A report of the folder by its file name (only names the folder lists: no path can reach elsewhere)."""
    from leadops.errors import NotFoundError

    folder = report_dir(settings)
    listed = {p.name: p for p in folder.glob("*.html")} if folder.is_dir() else {}
    if name not in listed:
        raise NotFoundError(f"report {name[:120]!r} is not in {folder}", hint="the Models page lists every report")
    return listed[name]


def version_report(settings: Settings, version: ModelVersion) -> str | None:
    """The file name (in the report folder) of the evaluation report written when `version` was trained."""
    if not version.report:
        return None
    name = Path(version.report).name
    return name if (report_dir(settings) / name).is_file() else None


def lineage_rows(version: ModelVersion) -> list[tuple[str, str]]:
    """The version's lineage as (what, value) lines a person can read."""
    found = version.lineage or {}
    rows = [(k.replace("_", " "), _short(found[k], k)) for k in LINEAGE if k in found and found[k] not in (None, "")]
    if version.artifact_digest:
        rows.append(("artifact digest", version.artifact_digest[:16] + "…"))
    if version.run_id:
        rows.append(("MLflow run", version.run_id))
    return rows


def _short(value: Any, key: str = "") -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if key.endswith(("digest", "hash", "commit")):
        return text[:12]
    return text if len(text) <= 80 else text[:77] + "…"
