"""Fixtures for the scorer tests."""

from __future__ import annotations

import pandas as pd
import pytest
from scorer_fixtures import make_leads


@pytest.fixture(scope="session")
def leads() -> tuple[pd.DataFrame, pd.Series]:
    """3,000 synthetic leads and their conversions."""
    return make_leads(3000, seed=1)
