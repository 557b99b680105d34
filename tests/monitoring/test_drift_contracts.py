"""Contract checks over every registered drift statistic, found in the registry itself, and SciPy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from leadops.monitoring.drift import DRIFT_STATS, DriftStat, Kind, psi_of_shares
from leadops.settings.monitoring import DRIFT_STAT_NAMES

RNG = np.random.default_rng(7)
NUM_REF = np.concatenate([RNG.normal(10, 3, 4000), [np.nan] * 200])
NUM_CUR = np.concatenate([RNG.normal(11, 3.5, 3000), [np.nan] * 450])
CAT_REF = np.array(list(RNG.choice(["a", "b", "c", "d"], 4000, p=[0.4, 0.3, 0.2, 0.1])) + [None] * 100, dtype=object)
CAT_CUR = np.array(list(RNG.choice(["a", "b", "c", "e"], 3000, p=[0.3, 0.3, 0.3, 0.1])) + [None] * 300, dtype=object)
SAMPLES: dict[str, tuple[np.ndarray, np.ndarray]] = {"numeric": (NUM_REF, NUM_CUR), "categorical": (CAT_REF, CAT_CUR)}
CASES = [(s, k) for s in DRIFT_STATS.values() for k in sorted(s.kinds)]
IDS = [f"{s.name}-{k}" for s, k in CASES]


def test_the_registry_holds_every_statistic_the_monitor_promises() -> None:
    assert {
        "psi",
        "jensen_shannon",
        "wasserstein",
        "ks",
        "chi_square",
        "new_category_share",
        "missing_rate_jump",
    } <= set(DRIFT_STATS)
    for s in DRIFT_STATS.values():
        assert s.threshold > 0 and s.kinds and s.description
    assert tuple(DRIFT_STATS) == DRIFT_STAT_NAMES  # what leadops.yaml may set thresholds for


@pytest.mark.parametrize(("stat", "kind"), CASES, ids=IDS)
def test_identical_samples_have_zero_drift(stat: DriftStat, kind: Kind) -> None:
    ref, _ = SAMPLES[kind]
    got = stat.compute(ref, ref.copy(), kind)
    assert got.value == pytest.approx(0.0, abs=1e-12)
    assert not stat.drifted(got)
    if got.p_value is not None:
        assert got.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(("stat", "kind"), CASES, ids=IDS)
def test_order_of_the_rows_does_not_matter(stat: DriftStat, kind: Kind) -> None:
    ref, cur = SAMPLES[kind]
    a = stat.compute(ref, cur, kind)
    b = stat.compute(RNG.permutation(ref), RNG.permutation(cur), kind)
    assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15)
    assert (a.p_value is None) == (b.p_value is None)


@pytest.mark.parametrize(
    ("stat", "kind"),
    [c for c in CASES if c[0].symmetric],
    ids=[i for c, i in zip(CASES, IDS, strict=True) if c[0].symmetric],
)
def test_symmetric_statistics_do_not_care_which_sample_is_the_reference(stat: DriftStat, kind: Kind) -> None:
    ref, cur = SAMPLES[kind]
    assert stat.compute(ref, cur, kind).value == pytest.approx(stat.compute(cur, ref, kind).value, rel=1e-12)


@pytest.mark.parametrize(("stat", "kind"), CASES, ids=IDS)
def test_a_large_sample_from_the_same_distribution_raises_no_drift(stat: DriftStat, kind: Kind) -> None:
    rng = np.random.default_rng(11)
    if kind == "numeric":
        ref, cur = rng.gamma(2.0, 2.0, 1_000_000), rng.gamma(2.0, 2.0, 1_000_000)
    else:
        p = [0.5, 0.3, 0.15, 0.05]
        ref, cur = (rng.choice(np.array(["w", "x", "y", "z"], dtype=object), 1_000_000, p=p) for _ in range(2))
    assert not stat.drifted(stat.compute(ref, cur, kind))


def test_a_shift_of_half_a_standard_deviation_is_flagged_by_every_numeric_distribution_test() -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(0, 1, 20_000), rng.normal(0.5, 1, 20_000)
    for name in ("psi", "jensen_shannon", "wasserstein", "ks"):
        stat = DRIFT_STATS[name]
        assert stat.drifted(stat.compute(ref, cur, "numeric")), name


def test_ks_is_scipys_ks_2samp_on_the_present_values() -> None:
    got = DRIFT_STATS["ks"].compute(NUM_REF, NUM_CUR, "numeric")
    want = stats.ks_2samp(NUM_REF[~np.isnan(NUM_REF)], NUM_CUR[~np.isnan(NUM_CUR)])
    assert got.value == want.statistic and got.p_value == want.pvalue


def test_chi_square_is_scipys_chi2_contingency_and_cramers_v_its_closed_form() -> None:
    got = DRIFT_STATS["chi_square"].compute(CAT_REF, CAT_CUR, "categorical")
    r = [int(np.sum(c == CAT_REF)) for c in "abcde"]
    c = [int(np.sum(c == CAT_CUR)) for c in "abcde"]
    want = stats.chi2_contingency(np.array([r, c]), correction=False)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-12, abs=1e-300)
    assert got.detail["chi2"] == pytest.approx(want.statistic, rel=1e-12)
    assert got.value == pytest.approx(math.sqrt(want.statistic / (sum(r) + sum(c))), rel=1e-12)


def test_wasserstein_is_scipys_distance_over_the_reference_std() -> None:
    r, c = NUM_REF[~np.isnan(NUM_REF)], NUM_CUR[~np.isnan(NUM_CUR)]
    got = DRIFT_STATS["wasserstein"].compute(NUM_REF, NUM_CUR, "numeric")
    assert got.value == pytest.approx(stats.wasserstein_distance(r, c) / np.std(r), rel=1e-12)


def test_jensen_shannon_is_scipys_distance_on_the_category_shares() -> None:
    got = DRIFT_STATS["jensen_shannon"].compute(CAT_REF, CAT_CUR, "categorical")
    r = np.array([np.sum(c == CAT_REF) for c in "abcde"], dtype=float)
    c = np.array([np.sum(c == CAT_CUR) for c in "abcde"], dtype=float)
    assert got.value == pytest.approx(distance.jensenshannon(r / r.sum(), c / c.sum(), base=2), rel=1e-12)


def test_psi_is_the_closed_form_on_a_hand_computed_example() -> None:
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.3, 0.3])
    hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + 0 + (0.3 - 0.2) * math.log(0.3 / 0.2)
    assert psi_of_shares(p, q) == pytest.approx(hand, rel=1e-12)
    ref = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20, dtype=object)
    cur = np.array(["a"] * 40 + ["b"] * 30 + ["c"] * 30, dtype=object)
    assert DRIFT_STATS["psi"].compute(ref, cur, "categorical").value == pytest.approx(hand, rel=1e-12)


def test_psi_bins_numbers_at_the_reference_deciles() -> None:
    ref = np.arange(1000, dtype=float)
    cur = np.concatenate([np.arange(500, dtype=float), np.full(500, 950.0)])  # half piles into the top decile
    edges = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=10) / 1000
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=10) / 1000
    assert DRIFT_STATS["psi"].compute(ref, cur, "numeric").value == pytest.approx(psi_of_shares(r, c), rel=1e-12)


def test_new_categories_and_missing_jumps_are_shares() -> None:
    got = DRIFT_STATS["new_category_share"].compute(CAT_REF, CAT_CUR, "categorical")
    assert got.value == pytest.approx(np.sum(CAT_CUR == "e") / 3000)
    jump = DRIFT_STATS["missing_rate_jump"].compute(NUM_REF, NUM_CUR, "numeric")
    assert jump.value == pytest.approx(450 / 3450 - 200 / 4200)
