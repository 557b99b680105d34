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
from leadops.plots import network_references, plotly_js, read_figures

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}


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
    assert network_references(html) == [], "report must not reference the network"
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']//""", html)
    assert html.count(plotly_js()) == 1  # plotly.js inlined once: the file draws its figures on its own


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
    figures = read_figures(html)
    assert {"roc", "gains", "lift", "calibration", "distribution", "roc-compare", "gains-compare"} <= set(figures)
    assert {f"groups-{i}" for i in range(len(ch.groups))} <= set(figures)
    drawn = {el for el in re.findall(r'data-fig="([^"]+)"', html)}
    assert drawn == set(figures)  # every figure has its place on the page, and every place its figure
    for needle in (
        "ROC",
        "gains",
        "reliability",
        "Score distribution",
        "Grade migration",
        "webinar",
        "small",
        "oracle",
    ):
        assert needle in html, needle
    assert "FAILED" in html and "max_group_auc_drop:lead_source" in html
    assert len(html.replace(plotly_js(), "")) < 500_000
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


def test_report_figures_carry_the_reports_own_numbers(reports: dict[str, EvaluationReport]) -> None:
    ch, champ = reports["challenger"], reports["champion"]
    figures = read_figures(render_report(ch, model_name="v2", champion=champ, champion_name="v1"))
    gains = figures["gains"]["data"][0]
    assert gains["x"] == ch.gains_curve["share_leads"] and gains["y"] == ch.gains_curve["share_conversions"]
    share = figures["gains"]["layout"]["shapes"][-1]["x0"]
    assert share == pytest.approx(ch.capacity["k"] / ch.n)
    roc = figures["roc"]["data"][0]
    assert roc["x"] == ch.roc["fpr"] and roc["y"] == ch.roc["tpr"] and f"{ch.auc:.3f}" in roc["name"]
    lift = figures["lift"]["data"]
    assert lift[0]["x"] == [g["decile"] for g in ch.gains] and lift[0]["y"] == [g["lift"] for g in ch.gains]
    assert lift[1]["y"] == [g["cum_lift"] for g in ch.gains] == ch.lift["cumulative"]
    cal = figures["calibration"]["data"][0]
    assert ch.reliability is not None
    assert cal["y"] == [b["observed_rate"] for b in ch.reliability]
    assert [y + e for y, e in zip(cal["y"], cal["error_y"]["array"], strict=True)] == pytest.approx(
        [b["ci_high"] for b in ch.reliability]
    )
    assert [y - e for y, e in zip(cal["y"], cal["error_y"]["arrayminus"], strict=True)] == pytest.approx(
        [b["ci_low"] for b in ch.reliability]
    )
    dist = ch.score_distribution
    converted = figures["distribution"]["data"][0]
    assert converted["y"] == pytest.approx(np.asarray(dist["positives"]) / np.sum(dist["positives"]))
    assert converted["x"] == pytest.approx((np.asarray(dist["edges"][:-1]) + np.asarray(dist["edges"][1:])) / 2)
    column = next(iter(ch.groups))
    group = figures["groups-0"]["data"][0]
    assert column in figures["groups-0"]["layout"]["title"]["text"]
    per = ch.groups[column]
    assert group["x"] == pytest.approx([per[v]["auc"] for v in per])
    assert [x + e for x, e in zip(group["x"], group["error_x"]["array"], strict=True)] == pytest.approx(
        [per[v]["auc_ci"][1] for v in per]
    )
    assert [y.removesuffix(" (small)") for y in group["y"]] == list(per)
    assert any(y.endswith("(small)") for y, v in zip(group["y"], per, strict=True) if per[v]["small"]) or not any(
        m["small"] for m in per.values()
    )
    compare = figures["gains-compare"]["data"]
    assert [t["name"] for t in compare] == ["v2", "v1"] and compare[1]["y"] == champ.gains_curve["share_conversions"]


def test_comparison_figures_hold_every_model(reports: dict[str, EvaluationReport]) -> None:
    html = render_comparison({"rules": reports["points"], "predictive": reports["challenger"]})
    figures = read_figures(html)
    assert [t["y"] for t in figures["gains"]["data"]] == [
        reports["points"].gains_curve["share_conversions"],
        reports["challenger"].gains_curve["share_conversions"],
    ]
    assert [t["name"] for t in figures["calibration"]["data"]] == ["predictive"]  # the rules give no probability
    assert "groups-0" in figures and len(figures["groups-0"]["data"]) == 1  # only the challenger measured groups


def test_a_score_model_beside_a_probability_champion_places_every_figure(reports: dict[str, EvaluationReport]) -> None:
    html = render_report(reports["points"], model_name="rules", champion=reports["challenger"], champion_name="lgbm")
    figures = read_figures(html)
    assert "calibration" not in figures  # the rules give no probability: no reliability section to draw it in
    assert set(re.findall(r'data-fig="([^"]+)"', html)) == set(figures)
