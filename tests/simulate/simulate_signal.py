"""Point-in-time features and the LightGBM-vs-oracle lift ratio, shared by the slow test and the benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SNAPSHOT_DAYS = 14
LABEL_DAYS = 120


def point_in_time_frame(workspace: Path) -> pd.DataFrame:
    """One row per mature lead: features as of created + 14 days, label = won within the next 120 days."""
    src, gt = workspace / "source", workspace / "ground_truth"
    leads = pd.read_csv(src / "leads.csv", keep_default_na=False, na_values=[""])
    accounts = pd.read_csv(src / "accounts.csv", keep_default_na=False, na_values=[""])
    acts = pd.read_csv(src / "activities.csv", usecols=["LeadId", "ActivityDate", "ActivityType"])
    outs = pd.read_csv(src / "outcomes.csv", usecols=["LeadId", "OutcomeDate", "Stage"])
    truth = pd.read_parquet(gt / "leads_truth.parquet", columns=["lead_id", "p_convert"])
    leads["created"] = pd.to_datetime(leads["CreatedDate"], utc=True, format="ISO8601")
    end = pd.Timestamp(__import__("json").loads((gt / "manifest.json").read_text())["end"], tz="UTC")
    leads["snapshot"] = leads["created"] + pd.Timedelta(days=SNAPSHOT_DAYS)
    leads = leads[leads["snapshot"] + pd.Timedelta(days=LABEL_DAYS) <= end].copy()
    snap = leads.set_index("LeadId")["snapshot"]
    acts = acts[acts["LeadId"].isin(snap.index)]
    acts["t"] = pd.to_datetime(acts["ActivityDate"], utc=True, format="ISO8601")
    epoch = pd.Timestamp(0, tz="UTC")
    snap_s = (snap - epoch).dt.total_seconds()
    acts["age"] = (
        snap_s.reindex(acts["LeadId"]).to_numpy() - (acts["t"] - epoch).dt.total_seconds().to_numpy()
    ) / 86400.0
    acts = acts[acts["age"] > 0]
    feats = []
    for window in (7, 30, 90):
        w = acts[acts["age"] <= window]
        feats.append(pd.crosstab(w["LeadId"], w["ActivityType"]).add_suffix(f"_{window}d"))
    rec = acts.groupby(["LeadId", "ActivityType"])["age"].min().unstack().add_prefix("recency_")
    x = leads.set_index("LeadId").join([*feats, rec])
    count_cols = [c for c in x.columns if c.endswith(("_7d", "_30d", "_90d"))]
    x[count_cols] = x[count_cols].fillna(0)
    x = x.join(accounts.set_index("AccountId"), on="AccountId", rsuffix="_acc")
    x["domain"] = x["Email"].fillna("").str.split("@").str[-1]
    x["domain_kind"] = np.select(
        [x["Email"].isna(), x["domain"].str.endswith(".edu"), x["domain"].str.endswith(".gov"),
         x["domain"].isin(["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"])],
        ["unknown", "edu", "gov", "free"], "corporate")  # fmt: skip
    for c in ["JobLevel", "Department", "Country", "LeadSource", "Industry", "Region", "domain_kind"]:
        x[c] = x[c].astype("category")
    for c in ["HasOptedOutOfEmail", "DoNotCall", "ProfitableLastQuarter", "IsCompetitor"]:
        x[c] = x[c].astype(str).str.lower().eq("true").astype(int)
    won = outs[outs["Stage"] == "Closed Won"].copy()
    won["t"] = pd.to_datetime(won["OutcomeDate"], utc=True, format="ISO8601")
    won = won.groupby("LeadId")["t"].min()
    wt = won.reindex(x.index)
    x["label"] = ((wt > x["snapshot"]) & (wt <= x["snapshot"] + pd.Timedelta(days=LABEL_DAYS))).astype(int)
    x["p_convert"] = truth.set_index("lead_id")["p_convert"].reindex(x.index).to_numpy()
    x["created_ts"] = x["created"]
    drop = [
        "AccountId",
        "CreatedDate",
        "Email",
        "OwnerId",
        "created",
        "snapshot",
        "AccountName",
        "BillingCountry",
        "domain",
    ]
    return x.drop(columns=drop)


def lift_ratio(frame: pd.DataFrame, seed: int = 0, folds: int = 5) -> dict[str, float]:
    """Out-of-fold LightGBM AUC lift over random divided by the oracle's (ground-truth p_convert) on all rows."""
    import lightgbm as lgb
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    features = [c for c in frame.columns if c not in ("label", "p_convert", "created_ts")]
    x, y = frame[features], frame["label"].to_numpy()
    pred = np.zeros(len(frame))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = lgb.LGBMClassifier(
            n_estimators=300, learning_rate=0.03, num_leaves=15, min_child_samples=100, subsample=0.8,
            subsample_freq=1, colsample_bytree=0.7, reg_lambda=5.0, verbose=-1, random_state=seed, n_jobs=1,
        )  # fmt: skip
        model.fit(x.iloc[train], y[train])
        pred[test] = model.predict_proba(x.iloc[test])[:, 1]
    auc = roc_auc_score(y, pred)
    oracle = roc_auc_score(y, frame["p_convert"])
    return {
        "rows": float(len(frame)),
        "positives": float(y.sum()),
        "auc": float(auc),
        "oracle_auc": float(oracle),
        "ratio": float((auc - 0.5) / (oracle - 0.5)),
        "brier": float(brier_score_loss(y, pred)),
        "mean_pred": float(pred.mean()),
        "mean_label": float(y.mean()),
    }
