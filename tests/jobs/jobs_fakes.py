"""Small, deterministic stand-ins for the warehouse data, the feature builder and a scorer artifact."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field

from leadops.config import Settings
from leadops.jobs.model import ModelRef, model_ref
from leadops.settings.jobs import RoutingSpec, ScheduleSpec, ScoringSpec
from leadops.warehouse import Warehouse

AS_OF = datetime(2026, 3, 10)
REGIONS = ("NA", "EMEA", "APAC")
LEVELS = ("c_level", "vp", "director", "manager", "individual_contributor", "student")
NUMERIC = ("page_views", "pricing_views", "email_clicks", "days_since_created")
FEATURES = (*NUMERIC, "job_level")
HERE = Path(__file__).resolve().parent


class JobSettings(Settings):
    """Settings with the job's sections (what config.py will declare once integrated)."""

    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)


def make_settings(workspace: Path, **sections: Any) -> JobSettings:
    """Settings rooted at `workspace`, sections given as plain dicts."""
    settings = JobSettings.model_validate(sections)
    settings.workspace = workspace
    return settings


def fill_warehouse(wh: Warehouse, n: int = 300, seed: int = 7) -> None:
    """n leads over three regions with activities and a few closed outcomes, all before AS_OF."""
    rng = np.random.default_rng(seed)
    ids = [f"L{i:06d}" for i in range(n)]
    created = [AS_OF - timedelta(days=int(d) + 1) for d in rng.integers(0, 200, n)]
    wh.insert(
        "leads",
        pa.table(
            {
                "lead_id": ids,
                "created_at": pa.array(created, pa.timestamp("us")),
                "job_level": [LEVELS[i] for i in rng.integers(0, len(LEVELS), n)],
                "region": [REGIONS[i] for i in rng.integers(0, len(REGIONS), n)],
                "do_not_call": rng.random(n) < 0.1,
                "do_not_email": rng.random(n) < 0.1,
            }
        ),
    )
    kinds = ("page_view", "pricing_view", "email_click")
    counts = rng.poisson(3.0, n)
    rows: dict[str, list[Any]] = {"activity_id": [], "lead_id": [], "occurred_at": [], "activity_type": []}
    for i, lead in enumerate(ids):
        for j in range(int(counts[i])):
            rows["activity_id"].append(f"A{i:06d}-{j}")
            rows["lead_id"].append(lead)
            rows["occurred_at"].append(created[i] + timedelta(hours=int(rng.integers(1, 20))))
            rows["activity_type"].append(kinds[int(rng.integers(0, 3))])
    wh.insert("activities", pa.table({**rows, "occurred_at": pa.array(rows["occurred_at"], pa.timestamp("us"))}))
    closed = rng.choice(n, size=max(1, n // 20), replace=False)
    wh.insert(
        "outcomes",
        pa.table(
            {
                "outcome_id": [f"O{i}" for i in closed],
                "lead_id": [ids[i] for i in closed],
                "occurred_at": pa.array([AS_OF - timedelta(days=1)] * len(closed), pa.timestamp("us")),
                "outcome": [("converted", "disqualified", "lost")[k % 3] for k in range(len(closed))],
            }
        ),
    )


class FakeFeatures:
    """Point-in-time features in plain SQL: activity counts before T, days since created, job level."""

    def __init__(self, warehouse: Warehouse, drop: Sequence[str] = ()) -> None:
        self.warehouse = warehouse
        self.drop = list(drop)
        self.calls = 0

    def build(self, as_of: datetime, lead_ids: Sequence[str]) -> pd.DataFrame:
        self.calls += 1
        con = self.warehouse.duckdb()
        con.register("_fake_ids", pa.table({"lead_id": pa.array(list(lead_ids), pa.string())}))
        try:
            frame = con.sql(
                """
                SELECT l.lead_id,
                  CAST(count(CASE WHEN a.activity_type = 'page_view' THEN 1 END) AS DOUBLE) AS page_views,
                  CAST(count(CASE WHEN a.activity_type = 'pricing_view' THEN 1 END) AS DOUBLE) AS pricing_views,
                  CAST(count(CASE WHEN a.activity_type = 'email_click' THEN 1 END) AS DOUBLE) AS email_clicks,
                  CAST(date_diff('day', any_value(l.created_at), $as_of) AS DOUBLE) AS days_since_created,
                  any_value(l.job_level) AS job_level
                FROM _fake_ids i JOIN leads l ON l.lead_id = i.lead_id
                LEFT JOIN activities a ON a.lead_id = l.lead_id AND a.occurred_at <= $as_of
                GROUP BY l.lead_id ORDER BY l.lead_id
                """,
                params={"as_of": as_of},
            ).to_arrow_table()
        finally:
            con.unregister("_fake_ids")
        out = frame.to_pandas().set_index("lead_id")
        return out.drop(columns=self.drop).reindex(pd.Index(list(lead_ids), name="lead_id"))


class FakeScorer:
    """A logistic model over the fake features: score = 100 x probability, grades A/B/C/D, linear reasons."""

    def __init__(self, weights: dict[str, float], levels: dict[str, float], intercept: float) -> None:
        self.weights, self.levels, self.intercept = weights, levels, intercept
        self.feature_names_in_ = [*weights, "job_level"]

    def _contrib(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"fake scorer: missing features {missing}")
        parts = {k: X[k].astype(float).fillna(0.0) * w for k, w in self.weights.items()}
        parts["job_level"] = X["job_level"].map(self.levels).astype(float).fillna(0.0)
        return pd.DataFrame(parts, index=X.index)

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        raw = self._contrib(X).sum(axis=1).to_numpy() + self.intercept
        prob = 1.0 / (1.0 + np.exp(-raw))
        score = np.round(100.0 * prob, 6)
        grade = np.select([score >= 75, score >= 50, score >= 25], ["A", "B", "C"], "D")
        return pd.DataFrame({"score": score, "probability": prob, "grade": grade, "raw": raw}, index=X.index)

    def component_scores(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """A single logistic model has no fit/engagement parts."""
        return None

    def explain(self, X: pd.DataFrame, top_n: int = 3) -> pd.DataFrame:
        c = self._contrib(X)
        reasons, texts = [], []
        for _, row in c.iterrows():
            items = sorted(((k, float(v)) for k, v in row.items() if abs(v) > 1e-12), key=lambda kv: -abs(kv[1]))
            picked = [{"feature": k, "contribution": v, "text": f"{k} {v:+.2f}"} for k, v in items[:top_n]]
            reasons.append(picked)
            texts.append("; ".join(r["text"] for r in picked))
        return pd.DataFrame({"reasons": reasons, "reason_text": texts}, index=X.index)


def load_fake(path: Path) -> FakeScorer:
    """Loader named in ModelRef.loader: plain JSON, no pickle."""
    params = json.loads((Path(path) / "params.json").read_text())
    return FakeScorer(params["weights"], params["levels"], params["intercept"])


class CoarseScorer(FakeScorer):
    """The fake model with its score cut to steps of 20 (what isotonic calibration does): many ties, raw intact."""

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        out = super().score(X)
        out["score"] = np.floor(out["score"] / 20.0) * 20.0
        return out


def load_coarse(path: Path) -> CoarseScorer:
    """Loader of the coarse fake (same artifact as the fake)."""
    params = json.loads((Path(path) / "params.json").read_text())
    return CoarseScorer(params["weights"], params["levels"], params["intercept"])


def write_fake_artifact(path: Path, *, shift: float = 0.0, features: Sequence[str] = FEATURES) -> Path:
    """A fake artifact dir: params.json + manifest.json listing the features it expects."""
    path.mkdir(parents=True, exist_ok=True)
    weights = {"page_views": 0.35, "pricing_views": 0.9, "email_clicks": 0.5, "days_since_created": -0.01}
    weights = {k: v for k, v in weights.items() if k in features}
    levels = {
        "c_level": 1.2,
        "vp": 1.0,
        "director": 0.6,
        "manager": 0.2,
        "individual_contributor": -0.3,
        "student": -1.5,
    }
    (path / "params.json").write_text(json.dumps({"weights": weights, "levels": levels, "intercept": -3.0 + shift}))
    dtypes = {f: ("float64" if f in NUMERIC else "object") for f in features}
    (path / "manifest.json").write_text(json.dumps({"feature_names": list(features), "feature_dtypes": dtypes}))
    return path


class FakeModels:
    """A ModelSource: one champion and optional challengers, fake artifacts on disk."""

    def __init__(
        self,
        root: Path,
        *,
        champion: int | None = 1,
        challengers: Sequence[int] = (),
        loader: str = "jobs_fakes:load_fake",
    ) -> None:
        self.root = root
        self.loader = loader
        self._champion = champion
        self._challengers = list(challengers)

    def _ref(self, version: int, role: str) -> ModelRef:
        path = self.root / f"v{version}"
        if not (path / "manifest.json").exists():
            write_fake_artifact(path, shift=0.1 * (version - 1))
        return model_ref(version, "fake_logistic", path, role=role, loader=self.loader)

    def champion(self) -> ModelRef | None:
        return None if self._champion is None else self._ref(self._champion, "champion")

    def challengers(self) -> list[ModelRef]:
        return [self._ref(v, "challenger") for v in self._challengers]


def expected_probability(X: pd.DataFrame) -> np.ndarray:
    """The fake champion's probability by a second, independent formula (closed form check)."""
    w = {"page_views": 0.35, "pricing_views": 0.9, "email_clicks": 0.5, "days_since_created": -0.01}
    lv = {
        "c_level": 1.2,
        "vp": 1.0,
        "director": 0.6,
        "manager": 0.2,
        "individual_contributor": -0.3,
        "student": -1.5,
    }
    out = []
    for _, r in X.iterrows():
        z = -3.0 + sum(w[k] * float(r[k]) for k in w) + lv.get(r["job_level"], 0.0)
        out.append(1 / (1 + math.exp(-z)))
    return np.array(out)
