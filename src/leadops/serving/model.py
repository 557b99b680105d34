"""One loaded model version as the API uses it: raw lead records in, scores, reasons and a route out.

Everything a request needs is built when the version loads (the bundle's fitted feature spec, the scorer, the
routing bar), so a request runs only the single-lead feature path and the scorer, never MLflow or the warehouse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from leadops.bundle import Bundle, load_bundle
from leadops.bundle.rows import as_model_frame
from leadops.crm.emails import classify_email
from leadops.features.online import online_vector
from leadops.jobs.routing import RoutingPlan
from leadops.scorers.frame import SmallFrame, small_frame
from leadops.serving.one_lead import OneLead
from leadops.serving.schemas import Components, Contribution, LeadIn, Reason, Route, ScoreResult

Record = dict[str, Any]


@dataclass(frozen=True)
class LeadRecords:
    """One lead as the single-lead feature path takes it: its record, its account, its activities."""

    lead: Record
    account: Record | None
    activities: list[Record]


_NOT_IN_RECORD = frozenset({"account", "activities", "email"})


def _fields(model: BaseModel) -> Record:
    """A validated request model's fields as a dict: model_dump's keys and values without its copying walk.

    The request models hold only plain values and JSON containers besides the nested models read apart here;
    the feature path reads those containers and never changes them.
    """
    return dict(model.__dict__)


def records_of(lead: LeadIn) -> LeadRecords:
    """The canonical records of a request's lead (the email only ever yields its domain type)."""
    record = {k: v for k, v in lead.__dict__.items() if k not in _NOT_IN_RECORD}
    if record.get("email_domain_type") is None and lead.email:
        record["email_domain_type"] = classify_email(lead.email)
    account = _fields(lead.account) if lead.account is not None else None
    if account is not None and account.get("account_id") is None:
        account["account_id"] = lead.account_id
    return LeadRecords(record, account, [_fields(a) for a in lead.activities])


M = TypeVar("M", bound=BaseModel)


def _plain(cls: type[BaseModel]) -> bool:
    """A model model_construct fills by name alone: no aliases, no post-init, no extras kept, not a root model."""
    fields = cls.__pydantic_fields__.values()
    return (
        all(f.alias is None and f.validation_alias is None for f in fields)
        and not cls.__pydantic_post_init__
        and not cls.__pydantic_root_model__
        and cls.model_config.get("extra") != "allow"
    )


_PLAIN: dict[type[BaseModel], bool] = {cls: _plain(cls) for cls in (Reason, ScoreResult)}


def built(cls: type[M], values: dict[str, Any]) -> M:
    """cls.model_construct(**values) for `values` naming every field in order: the instance it makes, set directly
    (model_construct walks the fields for aliases and defaults: a few microseconds a model, seven models a lead)."""
    if not _PLAIN.get(cls, False) or len(values) != len(cls.__pydantic_fields__):
        return cls.model_construct(**values)
    m = cls.__new__(cls)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


def _finite(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


class ServedModel:
    """A model version loaded for serving: its bundle, the routing bar, and how to answer for a batch of leads."""

    def __init__(
        self, version: int, path: Path, routing: RoutingPlan, *, top_n: int = 3, verified: bool = False
    ) -> None:
        self.version = version
        # verified: `path` came from the registry's load_artifact_dir, which has just hashed every file
        self.bundle: Bundle = load_bundle(path, verify=not verified)
        self.routing = routing
        self.top_n = top_n
        self.columns = self.bundle.feature_names
        self.spec = self.bundle.spec
        self.scorer = self.bundle.scorer
        self.categorical = frozenset(self.spec.categorical())
        # one lead of a LightGBM model in plain Python (None: every lead takes the general path)
        self.one = OneLead.of(self.scorer, self.columns, self.categorical, top_n)

    @property
    def scorer_type(self) -> str:
        """The methodology (lightgbm, points, scorecard, ...), as its manifest names it."""
        return str(self.bundle.manifest.body.get("scorer_type", ""))

    def frame(self, leads: Sequence[LeadRecords], as_of: datetime) -> pd.DataFrame:
        """The model's feature rows for the leads, in their order, typed as in training."""
        rows = [online_vector(self.spec, r.lead, r.account, r.activities, as_of) for r in leads]
        index = pd.Index([str(r.lead.get("lead_id")) for r in leads], name="lead_id")
        return as_model_frame(pd.DataFrame(rows, index=index), self.spec, self.columns)

    def rows(self, leads: Sequence[LeadRecords], as_of: datetime) -> SmallFrame:
        """The same feature rows as `frame` as numpy columns: what the scorers read without pandas' set-up."""
        rows = [online_vector(self.spec, r.lead, r.account, r.activities, as_of) for r in leads]
        return small_frame(rows, [str(r.lead.get("lead_id")) for r in leads], self.columns, self.categorical)

    def route(self, score: float, probability: float | None, lead: Mapping[str, Any]) -> tuple[Route, str]:
        """The route a lead would get tonight, capacity aside (the nightly job also weighs today's queue)."""
        spec, business = self.routing.spec, self.routing.business
        if spec.policy == "expected_value":
            value = (probability or 0.0) * business.value_per_conversion - business.cost_per_contact
            mql, bar = value > 0, f"expected value of a contact {value:.4g} (> 0 is an MQL)"
        elif self.routing.mql_threshold is not None:
            t = self.routing.mql_threshold
            mql, bar = score >= t, f"score {score:.4g} {'>=' if score >= t else '<'} the MQL threshold {t:.4g}"
        else:
            return "review", "capacity policy: tonight's ranking decides who Sales gets"
        if not mql:
            if lead.get("do_not_email") and spec.consent.nurture_requires_email_consent:
                return "suppressed", f"below the MQL bar ({bar}); do not email: no email nurture"
            return "nurture", f"below the MQL bar ({bar})"
        if lead.get("do_not_call") and spec.consent.sales_requires_call_consent:
            return "nurture", f"an MQL ({bar}) but no call consent (do not call): not for Sales"
        return "sales", f"an MQL ({bar}): for Sales, capacity permitting"

    def score(self, leads: Sequence[LeadRecords], as_of: datetime) -> list[ScoreResult]:
        """Scores, reasons, components and routes for the leads, in their order, all by this one version."""
        vectors = [online_vector(self.spec, r.lead, r.account, r.activities, as_of) for r in leads]
        ids = [str(r.lead.get("lead_id")) for r in leads]
        if len(leads) == 1 and self.one is not None:  # one lead, a LightGBM model: plain Python, the same answer
            one = self.one.score(vectors[0], ids[0])
            if one is not None:
                return [self._result(leads[0], one.score, one.probability, one.grade, one.reasons, None)]
        X = small_frame(vectors, ids, self.columns, self.categorical)
        scored = self.scorer.scores(X)
        explained = self.scorer.reason_rows(X, top_n=self.top_n)
        parts = self.scorer.components(X)
        results = []
        for i, r in enumerate(leads):
            components = None
            if parts is not None:
                components = Components.model_construct(
                    fit_score=_finite(parts[0][i]), engagement_score=_finite(parts[1][i])
                )
            score, probability = float(scored.score[i]), _finite(scored.probability[i])
            results.append(self._result(r, score, probability, str(scored.grade[i]), explained[i], components))
        return results

    def _result(
        self,
        lead: LeadRecords,
        score: float,
        probability: float | None,
        grade: str,
        reasons: Sequence[tuple[str, float | None, float | None, str]],
        components: Components | None,
    ) -> ScoreResult:
        """One lead's answer, built from values already of the schema's types (no validation per field)."""
        details = [built(Reason, {"feature": f, "contribution": c, "points": p, "text": t}) for f, c, p, t in reasons]
        route, why = self.route(score, probability, lead.lead)
        return built(
            ScoreResult,
            {
                "lead_id": lead.lead.get("lead_id"),
                "probability": probability,
                "score": score,
                "grade": grade,
                "reasons": [t for _, _, _, t in reasons],
                "reason_details": details,
                "components": components,
                "route": route,
                "route_reason": why,
                "model_version": self.version,
            },
        )

    def contributions(self, lead: LeadRecords, as_of: datetime) -> tuple[ScoreResult, list[Contribution], str]:
        """One lead's score and every feature's contribution, largest effect first, with the unit they are in."""
        X = self.rows([lead], as_of)
        result = self.score([lead], as_of)[0]
        matrix = self.scorer.reason_matrix(X, len(self.columns))
        values = np.asarray(matrix.values, dtype=np.float64)[0]
        points = None if matrix.points is None else np.asarray(matrix.points, dtype=np.float64)[0]
        names = list(matrix.features) if matrix.cell_features is None else list(matrix.cell_features[0])
        out = []
        for j, name in enumerate(names):
            raw = X[name][0] if name in X else None
            value: float | str | None = raw if isinstance(raw, str) else _finite(raw)
            out.append(
                Contribution(
                    feature=str(name),
                    label=self.scorer.label(str(name)),
                    value=value,
                    contribution=_finite(values[j]),
                    points=None if points is None else _finite(points[j]),
                )
            )
        out.sort(key=lambda c: -abs(c.points if c.points is not None else (c.contribution or 0.0)))
        return result, out, self.scorer.contribution_unit
