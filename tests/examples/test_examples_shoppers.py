"""Online shoppers (real data): the example trains; the guard's verdict on PageValues is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples_ws import train

pytestmark = pytest.mark.slow


def test_online_shoppers_trains_and_the_guard_flags_page_values(shoppers: Path) -> None:
    out = train(shoppers, "predictive")
    print(f"online shoppers predictive AUC (PageValues excluded): {out['auc']:.4f}")
    assert list(out["leakage_flags"]) == ["page_values"]
    assert "other features together" in out["leakage_flags"]["page_values"]
    assert "page_values" not in out["features"] and "product_related_duration" in out["features"]
    assert out["test_rows"] == 3_083 and out["test_conversions"] == 477
    assert out["auc"] > 0.75, out["auc"]
    assert out["gates_passed"], out["failed_gates"]


def test_online_shoppers_with_page_values_allowed_reaches_the_published_figure(shoppers: Path) -> None:
    out = train(shoppers, "predictive", LEADOPS_TRAINING__LEAKAGE__ALLOW="[page_values]")
    print(f"online shoppers predictive AUC (PageValues allowed): {out['auc']:.4f}")
    assert "page_values" in out["features"]
    assert out["leakage_flags"]["page_values"].endswith("[kept: listed in leakage.allow]")
    assert out["auc"] > 0.9, out["auc"]
