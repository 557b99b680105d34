"""HTML reports open offline: no network references, every section present, well-formed markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import business_kwargs, group_scenario

from leadops.evaluation import (
    ChampionScores,
    EvaluationError,
    EvaluationReport,
    GatesConfig,
    check_gates,
    evaluate,
    render_comparison,
    render_report,
    write_comparison,
    write_report,
)
from leadops.evaluation.report import COMPARISON_SECTIONS, SECTIONS

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}
SVG_EMPTY = {"rect", "line", "polyline", "circle", "path"}


class _Checker(HTMLParser):
    """Checks that every opened element is closed in order and collects ids."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: set[str] = set()
        self.tags: set[str] = set()
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def _parse(html: str) -> _Checker:
    c = _Checker()
    c.feed(html)
    c.close()
    assert not c.errors, c.errors[:5]
    assert not c.stack, f"unclosed: {c.stack}"
    return c


def _assert_offline(html: str) -> None:
    assert not re.search(r"https?://", html), "report must not reference the network"
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']//""", html)


@pytest.fixture(scope="module")
def reports() -> dict[str, EvaluationReport]:
    sc = group_scenario(n=6000)
    kw = business_kwargs()
    champ_grade = np.where(sc.champion > 0.5, "A", np.where(sc.champion > 0.2, "B", "C"))
    new_grade = np.where(sc.challenger > 0.5, "A", np.where(sc.challenger > 0.2, "B", "C"))
    champion = evaluate(sc.y, sc.champion, grade=champ_grade, groups=sc.groups, oracle=sc.true_p, **kw)  # type: ignore[arg-type]
    challenger = evaluate(
        sc.y,
        sc.challenger,
        grade=new_grade,
        groups=sc.groups,
        oracle=sc.true_p,
        deal_value=np.where(sc.y == 1, 1500.0, np.nan),
        champion=ChampionScores(score=sc.champion, grade=champ_grade, mql_threshold=0.5),
        **kw,  # type: ignore[arg-type]
    )
    points = evaluate(sc.y, np.round(sc.champion * 100), **business_kwargs(mql_threshold=50))  # type: ignore[arg-type]
    return {"champion": champion, "challenger": challenger, "points": points}


def test_report_is_offline_well_formed_and_has_every_section(
    reports: dict[str, EvaluationReport], tmp_path: Path
) -> None:
    ch, champ = reports["challenger"], reports["champion"]
    gates = check_gates(ch, champ, 50_000, 4_000, GatesConfig())
    html = render_report(ch, model_name="lgbm-v2", champion=champ, champion_name="lgbm-v1", gate_result=gates)
    _assert_offline(html)
    parsed = _parse(html)
    assert {sid for sid, _ in SECTIONS} <= parsed.ids
    assert "svg" in parsed.tags and "polyline" in parsed.tags
    for needle in (
        "ROC",
        "gains",
        "reliability",
        "score distribution",
        "Grade migration",
        "webinar",
        "small",
        "oracle",
    ):
        assert needle in html, needle
    assert "FAILED" in html and "max_group_auc_drop:lead_source" in html
    assert len(html) < 500_000
    path = write_report(tmp_path / "out" / "report.html", ch, model_name="lgbm-v2")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_without_champion_oracle_or_probabilities_still_has_every_section(
    reports: dict[str, EvaluationReport],
) -> None:
    html = render_report(reports["points"], model_name="points <rules>")
    _assert_offline(html)
    parsed = _parse(html)
    assert {sid for sid, _ in SECTIONS} <= parsed.ids
    assert "No champion to compare with" in html and "No oracle given" in html
    assert "not a probability" in html
    assert "No leakage report for this model" in html
    assert "points &lt;rules&gt;" in html and "points <rules>" not in html


def test_report_lists_every_leakage_flag_with_its_figures(reports: dict[str, EvaluationReport]) -> None:
    leakage = {
        "rows": 6000,
        "skipped": None,
        "seconds": 1.25,
        "checks": [{}, {}, {}],
        "flags": [
            {"feature": "tags", "test": "dominance", "figure": 0.891, "against": 0.883, "reason": "tags alone",
             "action": "excluded"},
            {"feature": "notes", "test": "declared", "figure": None, "against": None, "reason": "declared",
             "action": "excluded"},
            {"feature": "rating", "test": "dominance", "figure": 0.8, "against": 0.76, "reason": "rating alone",
             "action": "kept"},
        ],
    }  # fmt: skip
    html = render_report(reports["points"], model_name="points", leakage=leakage)
    section = html[html.index('id="leakage"') : html.index('id="gates"')]
    assert "3 feature(s) flagged or declared" in section and "6,000 training rows" in section
    for needle in ("tags", "0.891", "0.883", "notes", "declared", "rating", "kept", "rating alone"):
        assert needle in section, needle
    clean = render_report(reports["points"], model_name="points", leakage={**leakage, "flags": []})
    assert "No feature flagged" in clean


def test_report_refuses_a_dict() -> None:
    with pytest.raises(EvaluationError, match="expected an EvaluationReport"):
        render_report({"auc": 0.7}, model_name="x")  # type: ignore[arg-type]


def test_comparison_puts_models_side_by_side(reports: dict[str, EvaluationReport], tmp_path: Path) -> None:
    html = render_comparison({"rule model": reports["points"], "predictive model": reports["challenger"]})
    _assert_offline(html)
    parsed = _parse(html)
    assert {sid for sid, _ in COMPARISON_SECTIONS} <= parsed.ids
    assert "rule model" in html and "predictive model" in html
    assert f"{reports['challenger'].auc:,.3f}" in html and f"{reports['points'].auc:,.3f}" in html
    assert write_comparison(tmp_path / "cmp.html", reports).exists()
    with pytest.raises(EvaluationError):
        render_comparison({})
