"""Errors raised by the registry: bad requests to it and artifacts that fail their integrity checks."""

from __future__ import annotations

from leadops.errors import LeadOpsError


class RegistryError(LeadOpsError):
    """A registry request is malformed (force without a reason, missing lineage, a non-leadops version)."""

    exit_code = 18
    http_status = 422


class ArtifactIntegrityError(RegistryError):
    """A scorer artifact's files do not match the hashes recorded for them (manifest or registry digest)."""

    exit_code = 19
    http_status = 500


class RegistryUnavailableError(RegistryError):
    """The MLflow server cannot be reached (refused, timed out, 5xx) and no verified local copy can stand in."""

    exit_code = 22
    http_status = 503
