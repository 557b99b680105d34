"""The fictional company's export: contract, determinism, realism, drift, faults and the tutorial set."""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leadops.errors import ConfigError
from leadops.simulate import SimulationSummary, simulate
from leadops.simulate.activities import ACTIVITY_TYPES
from leadops.simulate.funnel import STAGES
from leadops.simulate.world import INDUSTRY_NAMES, JOB_LABELS, SOURCE_NAMES

CONTRACT_COLUMNS = {
    "accounts.csv": "AccountId,AccountName,Industry,NumberOfEmployees,AnnualRevenue,BillingCountry,Region,"
    "ProfitableLastQuarter,IsCompetitor",
    "leads.csv": "LeadId,AccountId,CreatedDate,Email,JobLevel,Department,Country,LeadSource,HasOptedOutOfEmail,"
    "DoNotCall,OwnerId",
    "activities.csv": "ActivityId,LeadId,ActivityDate,ActivityType,Channel,Value,Direction,Outcome,Page",
    "outcomes.csv": "OutcomeId,LeadId,OutcomeDate,Stage,Amount",
}
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def _read(ws: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(ws / "source" / name, dtype=str, keep_default_na=False)


def _ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def test_same_seed_writes_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = [simulate(tmp_path / name, leads=3_000, days=120, seed=s) for name, s in (("a", 5), ("b", 5), ("c", 6))]
    for key in ("accounts", "leads", "activities", "outcomes", "leads_truth", "manifest"):
        assert runs[0].files[key].read_bytes() == runs[1].files[key].read_bytes(), key
    assert runs[0].files["activities"].read_bytes() != runs[2].files["activities"].read_bytes()


def test_files_follow_the_contract_and_counts_match(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, summary = baseline
    for name, header in CONTRACT_COLUMNS.items():
        assert (ws / "source" / name).read_text(encoding="utf-8").split("\n", 1)[0] == header
    leads, acts, outs = _read(ws, "leads.csv"), _read(ws, "activities.csv"), _read(ws, "outcomes.csv")
    accounts = _read(ws, "accounts.csv")
    manifest = json.loads((ws / "ground_truth" / "manifest.json").read_text())
    assert (len(accounts), len(leads), len(acts), len(outs)) == (
        summary.accounts, summary.leads, summary.activities, summary.outcomes
    )  # fmt: skip
    assert manifest["counts"]["activities"] == len(acts) and manifest["leads"] == 6_000
    assert 20 <= len(acts) / len(leads) <= 45
    for frame, key in ((accounts, "AccountId"), (leads, "LeadId"), (acts, "ActivityId"), (outs, "OutcomeId")):
        assert frame[key].is_unique
    assert set(leads["AccountId"]) <= set(accounts["AccountId"])
    assert set(acts["LeadId"]) <= set(leads["LeadId"]) and set(outs["LeadId"]) <= set(leads["LeadId"])
    assert set(acts["ActivityType"]) == set(ACTIVITY_TYPES)
    assert set(outs["Stage"]) == set(STAGES)
    assert set(leads["JobLevel"]) == set(JOB_LABELS)
    assert set(leads["LeadSource"]) == set(SOURCE_NAMES) - {"Paid Social"}
    assert set(accounts["Industry"]) <= set(INDUSTRY_NAMES)
    for col in (leads["CreatedDate"], acts["ActivityDate"], outs["OutcomeDate"]):
        assert col.str.match(ISO_WITH_OFFSET).all()
    assert set(leads["HasOptedOutOfEmail"]) == {"true", "false"}
    emails = leads["Email"][leads["Email"] != ""]
    assert emails.str.match(r"^[a-z]+\.[a-z]+\d*@[a-z.-]+\.(com|edu|gov)$").all()
    assert {"free", "edu", "gov"} <= {
        "free" if e.endswith("gmail.com") else e.rsplit(".", 1)[-1] for e in emails.head(3_000)
    }
    end = pd.Timestamp(summary.end, tz="UTC")
    created = _ts(leads.set_index("LeadId")["CreatedDate"])
    act_t = _ts(acts["ActivityDate"])
    assert act_t.max() < end and (act_t.to_numpy() >= created.reindex(acts["LeadId"]).to_numpy()).all()
    out_t = _ts(outs["OutcomeDate"])
    assert out_t.max() < end and (out_t.to_numpy() > created.reindex(outs["LeadId"]).to_numpy()).all()


def test_unknown_scenario_names_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="baseline, drift, faults, tutorial"):
        simulate(tmp_path, scenario="chaos")
    with pytest.raises(ConfigError, match="drift_day"):
        simulate(tmp_path, scenario="drift", days=30, drift_day=40)


def test_weekends_bring_fewer_leads(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, _ = baseline
    local_day = pd.to_datetime(_read(ws, "leads.csv")["CreatedDate"].str[:10])
    per_day = local_day.value_counts()
    weekend = per_day[per_day.index.day_of_week >= 5]
    weekday = per_day[per_day.index.day_of_week < 5]
    assert weekend.mean() < 0.5 * weekday.mean()
    assert stats.mannwhitneyu(weekend, weekday, alternative="less").pvalue < 1e-6


def test_deal_value_grows_with_company_size(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, _ = baseline
    outs, leads, accounts = _read(ws, "outcomes.csv"), _read(ws, "leads.csv"), _read(ws, "accounts.csv")
    won = outs[outs["Stage"] == "Closed Won"].merge(leads, on="LeadId").merge(accounts, on="AccountId")
    assert (outs.loc[outs["Stage"] != "Closed Won", "Amount"] == "").all()
    rho = stats.spearmanr(won["NumberOfEmployees"].astype(float), won["Amount"].astype(float)).statistic
    assert len(won) > 300 and rho > 0.6


def test_conversions_arrive_weeks_to_months_after_the_lead(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, summary = baseline
    truth = pd.read_parquet(ws / "ground_truth" / "leads_truth.parquet")
    lag = (truth["converts_at"] - truth["created_at"]).dt.total_seconds().dropna() / 86_400
    assert lag.min() >= 15 and 35 <= lag.median() <= 60 and (lag <= 134).mean() > 0.95
    assert 0.05 <= truth["will_convert"].mean() <= 0.12
    # immature: leads of the last month have almost no observed conversions yet
    late = truth["created_at"] >= pd.Timestamp(summary.end) - pd.Timedelta(days=30)
    assert truth.loc[late, "converted"].mean() < 0.1 * truth.loc[~late, "converted"].mean()
    assert (truth["converted"] == (truth["will_convert"] & (truth["converts_at"] < pd.Timestamp(summary.end)))).all()


def test_p_convert_is_the_probability_that_drew_conversion(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, _ = baseline
    truth = pd.read_parquet(ws / "ground_truth" / "leads_truth.parquet")
    bins = pd.qcut(truth["p_convert"], 10, labels=False)
    grouped = truth.groupby(bins).agg(n=("p_convert", "size"), p=("p_convert", "mean"), y=("will_convert", "sum"))
    expected = grouped["n"] * grouped["p"]
    variance = grouped["n"] * grouped["p"] * (1 - grouped["p"])
    hosmer_lemeshow = float(((grouped["y"] - expected) ** 2 / variance).sum())
    assert stats.chi2.sf(hosmer_lemeshow, 8) > 0.001
    contacted = truth["contacted_by_sales"]
    assert (truth.loc[contacted, "p_convert"] > truth.loc[contacted, "p_convert_no_contact"]).all()
    assert (truth.loc[~contacted, "p_convert"] == truth.loc[~contacted, "p_convert_no_contact"]).all()
    # Sales picks on observable early behaviour, which tracks intent
    assert truth.loc[contacted, "intent"].mean() > truth.loc[~contacted, "intent"].mean() + 0.5


def test_sales_touches_come_early_and_match_contacted_leads(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, summary = baseline
    acts, leads = _read(ws, "activities.csv"), _read(ws, "leads.csv")
    touches = acts[acts["ActivityType"] == "sales_touch"]
    first = _ts(touches["ActivityDate"]).groupby(touches["LeadId"].to_numpy()).min()
    created = _ts(leads.set_index("LeadId")["CreatedDate"]).reindex(first.index)
    age = (first - created).dt.total_seconds() / 86_400
    assert len(first) == summary.contacted > 0
    assert age.min() > 1 and age.max() < 9


def test_drift_brings_paid_social_new_industries_and_content_stops_signalling(tmp_path: Path) -> None:
    summary = simulate(tmp_path, scenario="drift", leads=8_000, seed=11)
    assert summary.drift_day == 365 * 2 // 3
    truth = pd.read_parquet(tmp_path / "ground_truth" / "leads_truth.parquet")
    leads, accounts = _read(tmp_path, "leads.csv"), _read(tmp_path, "accounts.csv")
    leads = leads.merge(accounts[["AccountId", "Industry"]], on="AccountId")
    drift_date = pd.Timestamp(summary.start + timedelta(days=365 * 2 // 3), tz="UTC")
    after = _ts(leads["CreatedDate"]) >= drift_date + pd.Timedelta(days=1)
    before = _ts(leads["CreatedDate"]) < drift_date - pd.Timedelta(days=1)
    assert (leads.loc[before, "LeadSource"] == "Paid Social").sum() == 0
    assert (leads.loc[after, "LeadSource"] == "Paid Social").mean() > 0.2
    mix = pd.crosstab(after[after | before], leads.loc[after | before, "Industry"])
    assert stats.chi2_contingency(mix).pvalue < 1e-6
    assert (leads.loc[after, "Industry"] == "Retail").mean() > (leads.loc[before, "Industry"] == "Retail").mean() + 0.05
    acts = _read(tmp_path, "activities.csv")
    downloads = acts[acts["ActivityType"] == "content_download"].groupby("LeadId").size()
    truth = truth.set_index("lead_id")
    truth["downloads"] = downloads.reindex(truth.index).fillna(0)
    pre, post = truth[~truth["post_drift"]], truth[truth["post_drift"]]
    assert stats.spearmanr(pre["intent"], pre["downloads"]).statistic > 0.3
    assert abs(stats.spearmanr(post["intent"], post["downloads"]).statistic) < 0.1


def test_concept_keeps_the_mix_and_activity_distributions_but_activity_stops_saying_who_buys(tmp_path: Path) -> None:
    base, concept = tmp_path / "baseline", tmp_path / "concept"
    simulate(base, scenario="baseline", leads=4_000, days=300, seed=12)
    summary = simulate(concept, scenario="concept", leads=4_000, days=300, seed=12, drift_day=150)
    assert summary.drift_day == 150
    plain, moved = _read(base, "leads.csv"), _read(concept, "leads.csv")
    pd.testing.assert_frame_equal(plain, moved)  # the same people, sources and industries: only their behaviour moved
    onset = pd.Timestamp(summary.start + timedelta(days=150), tz="UTC")
    late = set(moved.loc[_ts(moved["CreatedDate"]) >= onset, "LeadId"])
    truth = pd.read_parquet(concept / "ground_truth" / "leads_truth.parquet").set_index("lead_id")
    counts = {}
    for name, ws in (("baseline", base), ("concept", concept)):
        acts = _read(ws, "activities.csv")
        acts = acts[acts["ActivityType"].isin(["pricing_view", "demo_request", "page_view"])]
        counts[name] = acts.groupby("LeadId").size().reindex(truth.index).fillna(0)
    after = truth.index.isin(sorted(late))
    early = ~after
    assert (counts["baseline"][early] == counts["concept"][early]).all()  # before the onset nothing changed
    # after it the counts keep their distribution (two-sample KS) ...
    assert stats.ks_2samp(counts["baseline"][after], counts["concept"][after]).pvalue > 0.01
    # ... but no longer follow the lead's own intent
    assert stats.spearmanr(truth.loc[after, "intent"], counts["baseline"][after]).statistic > 0.3
    assert abs(stats.spearmanr(truth.loc[after, "intent"], counts["concept"][after]).statistic) < 0.1


def _problems(file: str, row: dict[str, str], ctx: dict[str, object]) -> set[tuple[str, str]]:
    """Every way a parsed row breaks the contract, as (fault_kind, field)."""
    found: set[tuple[str, str]] = set()
    end = ctx["end"]
    assert isinstance(end, datetime)
    required = {"accounts.csv": ["AccountId"], "leads.csv": ["LeadId", "CreatedDate"],
                "activities.csv": ["ActivityId", "LeadId", "ActivityDate", "ActivityType"],
                "outcomes.csv": ["OutcomeId", "LeadId", "Stage"]}[file]  # fmt: skip
    for f in required:
        if row[f] == "":
            found.add(("missing_required", f))
    for f in ("NumberOfEmployees", "AnnualRevenue", "Value", "Amount"):
        if row.get(f):
            try:
                number = float(row[f])
            except ValueError:
                found.add(("wrong_type", f))
                continue
            limit = {"NumberOfEmployees": (1, 5e6), "AnnualRevenue": (0, 1e12)}.get(f, (0, 1e9))
            if not limit[0] <= number <= limit[1]:
                found.add(("absurd_value", f))
    for f in ("ProfitableLastQuarter", "IsCompetitor", "HasOptedOutOfEmail", "DoNotCall"):
        if f in row and row[f] not in ("true", "false"):
            found.add(("wrong_type", f))
    for f in ("CreatedDate", "ActivityDate", "OutcomeDate"):
        if row.get(f):
            try:
                t = datetime.fromisoformat(row[f])
            except ValueError:
                found.add(("wrong_type", f))
                continue
            if t.year < 1900:
                found.add(("absurd_value", f))
            if t > end:
                found.add(("future_timestamp", f))
            created = ctx["created"]
            assert isinstance(created, dict)
            if f == "OutcomeDate" and row["LeadId"] in created and t < created[row["LeadId"]]:
                found.add(("outcome_before_lead", f))
    allowed = {"Industry": INDUSTRY_NAMES, "JobLevel": JOB_LABELS, "ActivityType": ACTIVITY_TYPES, "Stage": STAGES}
    for f, values in allowed.items():
        if row.get(f) and row[f] not in values:
            found.add(("unknown_category", f))
    good_leads = ctx["good_leads"]
    assert isinstance(good_leads, set)
    if file in ("activities.csv", "outcomes.csv") and row["LeadId"] and row["LeadId"] not in good_leads:
        found.add(("dangling_reference", "LeadId"))
    return found


def test_every_listed_fault_is_broken_as_stated_and_every_other_row_is_clean(
    faulty: tuple[Path, SimulationSummary],
) -> None:
    ws, summary = faulty
    with (ws / "ground_truth" / "faults.csv").open(newline="", encoding="utf-8") as fh:
        faults = {(r["file"], int(r["row_number"])): (r["fault_kind"], r["field"]) for r in csv.DictReader(fh)}
    assert len(faults) == summary.faulty_rows
    assert {k for k, _ in faults.values()} == {
        "duplicate_id", "missing_required", "wrong_type", "unknown_category", "dangling_reference",
        "future_timestamp", "bad_encoding", "absurd_value", "outcome_before_lead",
    }  # fmt: skip
    ctx: dict[str, object] = {"end": datetime.fromisoformat(f"{summary.end.isoformat()}T00:00:00+00:00")}
    ctx["good_leads"], ctx["created"] = set(), {}
    total_rows = 0
    for file in ("accounts.csv", "leads.csv", "activities.csv", "outcomes.csv"):
        lines = (ws / "source" / file).read_bytes().split(b"\n")
        header = lines[0].decode().split(",")
        seen: set[str] = set()
        rows = [line for line in lines[1:] if line]
        total_rows += len(rows)
        n_faults = sum(1 for f, _ in faults if f == file)
        # binomial count of inserted rows: rate/(1-rate) per good row
        expected = (len(rows) - n_faults) * 0.03 / 0.97
        assert abs(n_faults - expected) < 4 * math.sqrt(expected) + 3, file
        for number, raw in enumerate(rows, start=1):
            stated = faults.get((file, number))
            try:
                row = dict(zip(header, raw.decode("utf-8").split(","), strict=True))
            except UnicodeDecodeError:
                assert stated is not None and stated[0] == "bad_encoding", (file, number)
                continue
            found = _problems(file, row, ctx)
            key = row[header[0]]
            if key and key in seen:
                found.add(("duplicate_id", header[0]))
            seen.add(key)
            if stated is None:
                assert not found, (file, number, found, raw)
                if file == "leads.csv":
                    ctx["good_leads"].add(key)  # type: ignore[attr-defined]
                    ctx["created"][key] = datetime.fromisoformat(row["CreatedDate"])  # type: ignore[index]
            else:
                assert stated in found, (file, number, stated, found, raw)
    assert abs(len(faults) / total_rows - 0.03) < 0.005


def test_fault_rate_zero_outside_faults_scenario(baseline: tuple[Path, SimulationSummary]) -> None:
    ws, summary = baseline
    assert summary.faulty_rows == 0 and not (ws / "ground_truth" / "faults.csv").exists()


def _book_generator(n: int) -> pd.DataFrame:
    """The textbook's generator, verbatim: NumPy's legacy global generator seeded with 42, draws in its order."""
    np.random.seed(42)
    df = pd.DataFrame(
        {
            "company_size": np.random.choice(["micro", "smb", "mid_market", "enterprise"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "industry": np.random.choice(
                ["technology", "finance", "healthcare", "manufacturing", "other"], n, p=[0.25, 0.2, 0.2, 0.2, 0.15]
            ),
            "geography": np.random.choice(["tier1", "tier2", "tier3", "international"], n, p=[0.3, 0.3, 0.3, 0.1]),
            "job_level": np.random.choice(
                ["individual", "manager", "vp_director", "c_level"], n, p=[0.4, 0.3, 0.2, 0.1]
            ),
            "website_visits_30d": np.random.poisson(5, n),
            "email_opens": np.random.poisson(3, n),
            "email_clicks": np.random.poisson(1, n),
            "content_downloads": np.random.poisson(2, n),
            "demo_requested": np.random.choice([0, 1], n, p=[0.85, 0.15]),
            "days_since_first_visit": np.random.exponential(30, n),
            "page_views_per_visit": np.random.gamma(2, 2, n),
        }
    )
    logit = (
        -2.5
        + 0.8 * (df["company_size"] == "enterprise")
        + 0.6 * (df["company_size"] == "mid_market")
        + 0.3 * (df["company_size"] == "smb")
        + 0.7 * (df["job_level"] == "c_level")
        + 0.5 * (df["job_level"] == "vp_director")
        + 0.3 * (df["job_level"] == "manager")
        + 0.4 * (df["industry"] == "technology")
        + 0.3 * (df["industry"] == "finance")
        + 0.05 * np.log1p(df["website_visits_30d"])
        + 0.1 * np.log1p(df["email_clicks"])
        + 1.2 * df["demo_requested"]
        + 0.02 * np.log1p(df["content_downloads"])
        + np.random.normal(0, 0.3, n)
    )
    df["converted"] = np.random.binomial(1, 1 / (1 + np.exp(-logit)))
    return df


def test_tutorial_is_the_books_data_set_with_20_85_percent_converted(tmp_path: Path) -> None:
    state = np.random.get_state()
    summary = simulate(tmp_path, scenario="tutorial", leads=2_000, seed=42)
    flat = pd.read_csv(tmp_path / "source" / "tutorial_leads.csv")
    assert list(flat.columns) == [
        "company_size", "industry", "geography", "job_level", "website_visits_30d", "email_opens",
        "email_clicks", "content_downloads", "demo_requested", "days_since_first_visit", "page_views_per_visit",
        "converted",
    ]  # fmt: skip
    assert len(flat) == summary.leads == 2_000
    assert flat["converted"].sum() == 417 and flat["converted"].mean() == 0.2085
    assert np.array_equal(np.random.get_state()[1], state[1]), "the process-wide generator is left alone"
    book = _book_generator(2_000)
    pd.testing.assert_frame_equal(flat, book, check_dtype=False)
    truth = pd.read_parquet(tmp_path / "ground_truth" / "leads_truth.parquet")
    assert truth["lead_id"].tolist()[:2] == ["tutorial:1", "tutorial:2"]
    p = 1 / (1 + np.exp(-(truth["observable_logit"] + truth["noise"])))
    assert np.allclose(p, truth["p_convert"])
    assert (truth["converted"].to_numpy() == flat["converted"].astype(bool).to_numpy()).all()
    assert 0.25 < truth["noise"].std() < 0.35


def test_progress_reports_rise_to_one(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    simulate(tmp_path, leads=500, days=60, start=date(2024, 3, 1), progress=lambda s, f: seen.append((s, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and seen[-1] == ("done", 1.0)
    leads = _read(tmp_path, "leads.csv")
    assert leads["CreatedDate"].str[:10].min() >= "2024-02-29"


@pytest.mark.slow
def test_point_in_time_lightgbm_captures_90_percent_of_oracle_lift(tmp_path: Path) -> None:
    from simulate_signal import lift_ratio, point_in_time_frame

    simulate(tmp_path, leads=50_000, seed=42)
    result = lift_ratio(point_in_time_frame(tmp_path))
    print(f"lift ratio at 50k leads: {result}")
    assert 0.78 <= result["oracle_auc"] <= 0.92
    assert result["ratio"] >= 0.9, result
    assert abs(result["mean_pred"] - result["mean_label"]) < 0.01


def test_the_simulated_sales_team_works_the_capacity_the_business_section_declares(tmp_path: Path) -> None:
    own = simulate(tmp_path / "own", leads=3000, days=60, seed=4, fault_rate=0.0)
    declared = simulate(tmp_path / "declared", leads=3000, days=60, seed=4, fault_rate=0.0, sales_capacity=2)
    manifest = json.loads((tmp_path / "declared" / "ground_truth" / "manifest.json").read_text())
    assert manifest["parameters"]["sales_capacity_per_weekday"] == 2
    weekdays = int(np.is_busday(np.arange(np.datetime64("2025-01-01"), np.datetime64("2025-03-02"))).sum())
    assert 0 < declared.contacted <= 2 * weekdays < own.contacted
    with pytest.raises(ConfigError, match="sales_capacity must be a positive integer"):
        simulate(tmp_path / "bad", leads=100, days=10, sales_capacity=0)
