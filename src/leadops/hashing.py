"""The content hashes lineage rests on: one for any JSON-able body, one for settings, one for a feature spec.

Every part that records "which config" or "which features" (the registry's lineage, a bundle's manifest, the
run ledger, stored feature tables) calls these, so the same config or spec always gives the same hex digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadops.config import Settings
    from leadops.settings.features import FeaturesSpec


def content_hash(body: Any) -> str:
    """sha256 (hex) of `body` as canonical JSON: sorted keys, no whitespace, non-JSON values as str."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def config_hash(settings: Settings) -> str:
    """The effective settings' hash (passwords redacted, workspace path left out: same config, same hash)."""
    from leadops.config import effective

    data = effective(settings)
    data.pop("workspace", None)
    return content_hash(data)


def feature_spec_hash(spec: FeaturesSpec) -> str:
    """The hash of a feature spec's definitions as data (vocabularies included): what a model's rows depend on."""
    return content_hash(spec.model_dump(mode="json"))
