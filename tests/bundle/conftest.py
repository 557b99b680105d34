"""Fixtures of the bundle tests (defined in bundle_fixtures; the synthetic company comes from tests/features)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "features"))

from bundle_fixtures import trained

__all__ = ["trained"]
