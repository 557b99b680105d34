"""Points scorer: declarative additive/subtractive rule tables with group caps, time decay and clamping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadops.errors import ScorerError
from leadops.scorers.base import Scorer
from leadops.scorers.conditions import as_float, condition_mask
from leadops.scorers.frame import Frame, take
from leadops.scorers.reasons import ReasonMatrix, format_values, template_texts
from leadops.settings.models import DecaySpec, PointsSpec

_DEFAULT_REASON = "{label} is {value}"


class PointsScorer(Scorer):
    """Rule-based points: base + capped group totals, clamped; score maps the clamp range onto 0..100."""

    scorer_type = "points"
    spec: PointsSpec

    def __init__(self, spec: PointsSpec) -> None:
        super().__init__(spec)
        for i, rule in enumerate(spec.rules):
            try:
                (rule.reason or _DEFAULT_REASON).format(value="1", days="1", label="x")
            except (KeyError, IndexError, ValueError) as exc:
                raise ScorerError(
                    f"points rule {i} ({rule.feature}): reason template {rule.reason!r} may use only "
                    f"{{value}}, {{days}} and {{label}}; got error {exc!r}"
                ) from exc

    def _decay_of(self, i: int) -> DecaySpec | None:
        rule = self.spec.rules[i]
        if rule.decay is not None:
            return rule.decay
        group = self.spec.groups.get(rule.group)
        return group.decay if group is not None else None

    def _needed(self) -> list[str]:
        feats = [r.feature for r in self.spec.rules]
        feats += [d.days_feature for i in range(len(self.spec.rules)) if (d := self._decay_of(i)) is not None]
        return sorted(set(feats))

    def _fit(self, X: pd.DataFrame, y: np.ndarray | None, X_val: pd.DataFrame | None, y_val: np.ndarray | None) -> None:
        self._require_features(X, self._needed(), "the rules")

    def _rule_points(self, X: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(per-rule points after decay and group caps, clamped total)."""
        n, rules = len(X), self.spec.rules
        contrib = np.zeros((n, len(rules)))
        for j, rule in enumerate(rules):
            pts = np.where(condition_mask(X[rule.feature], rule.when), rule.points, 0.0)
            decay = self._decay_of(j)
            if decay is not None:
                days = np.clip(np.nan_to_num(as_float(X[decay.days_feature]), nan=0.0), 0.0, None)
                pts = pts * (1.0 - decay.rate_per_week) ** (days / 7.0)
            contrib[:, j] = pts
        total = np.full(n, float(self.spec.base))
        groups = [r.group for r in rules]
        for g in dict.fromkeys(groups):
            cols = [j for j, gg in enumerate(groups) if gg == g]
            raw_g = contrib[:, cols].sum(axis=1)
            cap = self.spec.groups.get(g)
            capped = raw_g
            if cap is not None and (cap.max is not None or cap.min is not None):
                capped = np.clip(raw_g, cap.min, cap.max)
                ratio = np.divide(capped, raw_g, out=np.ones(n), where=raw_g != 0)
                contrib[:, cols] *= ratio[:, None]
            total += capped
        return contrib, np.clip(total, self.spec.clamp.min, self.spec.clamp.max)

    def _predict(self, X: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        return self._rule_points(X)[1], None

    def _diagnose(self, X: Frame) -> list[str]:
        """A rule that matches none of the leads (a value the data never has) is named with its condition."""
        out = []
        for i, rule in enumerate(self.spec.rules):
            if len(X) and not condition_mask(X[rule.feature], rule.when).any():
                when = rule.when.model_dump(exclude_none=True, by_alias=True)
                out.append(
                    f"points rule {i} ({rule.feature} {when}, {rule.points:+g}) matches none of the {len(X)} leads"
                )
        return out

    def _to_score(self, raw: np.ndarray, probability: np.ndarray) -> np.ndarray:
        lo, hi = self.spec.clamp.min, self.spec.clamp.max
        return (raw - lo) / (hi - lo) * 100.0

    def _reason_matrix(self, X: Frame, top_n: int = 3) -> ReasonMatrix:
        """Rule-hit matrix (points after decay and caps, one column per rule) and each rule's sentence."""
        contrib, _ = self._rule_points(X)
        rules = self.spec.rules
        base = float(self.spec.base)
        points = self._path_points(base, base + contrib.sum(axis=1), contrib)
        book = self.phrasebook()

        def text(j: int, rows: np.ndarray, p: np.ndarray) -> np.ndarray:
            rule = rules[j]
            if rule.reason is None:
                return book.texts(rule.feature, X, rows)
            decay = self._decay_of(j)
            fields: dict[str, Any] = {"label": self.label(rule.feature), "days": "?"}
            if "value" in rule.reason:
                fields["value"] = format_values(take(X[rule.feature], rows))
            if decay is not None and "days" in rule.reason:
                fields["days"] = format_values(take(X[decay.days_feature], rows))
            fields.setdefault("value", "")
            return template_texts(rule.reason, fields, len(rows))

        return ReasonMatrix(contrib, [r.feature for r in rules], text, points=points)

    def _state(self) -> dict[str, Any]:
        return {}

    def _restore(self, state: dict[str, Any], path: Path) -> None:
        return None
