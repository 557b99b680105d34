"""Self-contained HTML validation reports for one model against its champion, and for several models side by
side: inline CSS, the figures of `leadops.plots` drawn by the plotly.js inlined in the file, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadops.evaluation.errors import EvaluationError
from leadops.evaluation.evaluator import EvaluationReport
from leadops.evaluation.gates import GateResult
from leadops.plots import Figure, with_figures
from leadops.plots import evaluation as plots

if TYPE_CHECKING:
    import jinja2

SECTIONS = [
    ("summary", "Summary"),
    ("roc", "ROC"),
    ("gains", "Gains"),
    ("calibration", "Calibration"),
    ("distribution", "Score distribution"),
    ("business", "Business"),
    ("groups", "Groups"),
    ("champion", "Champion"),
    ("oracle", "Oracle"),
    ("leakage", "Leakage"),
    ("gates", "Gates"),
]
COMPARISON_SECTIONS = [
    ("summary", "Side by side"),
    ("roc", "ROC"),
    ("gains", "Gains"),
    ("calibration", "Calibration"),
    ("groups", "Groups"),
    ("oracle", "Oracle"),
]


def num(x: Any, digits: int = 3) -> str:
    """A number for a table cell ('—' when missing)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return f"{float(x):,.{digits}f}"


def pct(x: Any, digits: int = 1) -> str:
    """A share as a percentage ('—' when missing)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{100.0 * float(x):.{digits}f} %"


def money(x: Any) -> str:
    """A currency-free amount with thousands separators ('—' when missing)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{float(x):,.0f}"


@dataclass(frozen=True)
class _Metric:
    """One row of a side-by-side table: how to read it, print it, and which direction is better."""

    label: str
    get: Callable[[EvaluationReport], Any]
    fmt: Callable[[Any], str]
    higher_is_better: bool | None


def _dig(d: Any, *keys: str) -> Any:
    """Nested dict lookup that returns None on any missing level."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


METRICS = [
    _Metric("AUC", lambda r: r.auc, num, True),
    _Metric("AUC 95 % CI low", lambda r: r.auc_ci.get("low"), num, True),
    _Metric("AUC 95 % CI high", lambda r: r.auc_ci.get("high"), num, True),
    _Metric("PR-AUC (average precision)", lambda r: r.pr_auc, num, True),
    _Metric("Brier score", lambda r: r.brier, lambda x: num(x, 4), False),
    _Metric("Log loss", lambda r: r.log_loss, lambda x: num(x, 4), False),
    _Metric("ECE", lambda r: r.ece, lambda x: num(x, 4), False),
    _Metric("Top-decile lift", lambda r: r.lift.get("top_decile"), lambda x: num(x, 2), True),
    _Metric("Share of conversions captured at capacity", lambda r: r.captured_at_capacity, pct, True),
    _Metric("Conversions at capacity", lambda r: r.capacity.get("conversions"), lambda x: num(x, 1), True),
    _Metric("Revenue at capacity", lambda r: r.revenue_at_capacity, money, True),
    _Metric("MQLs", lambda r: _dig(r.mql, "n_mql"), num, None),
    _Metric("MQL conversion rate", lambda r: _dig(r.mql, "conversion_rate"), pct, True),
    _Metric("Expected value at capacity", lambda r: r.expected_value.get("at_capacity"), money, True),
    _Metric("Best K", lambda r: r.best_k, num, None),
    _Metric("Best expected value", lambda r: _dig(r.expected_value, "best", "expected_value"), money, True),
    _Metric("Share of the oracle's AUC lift", lambda r: _dig(r.oracle, "lift_ratio"), pct, True),
]


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """The Jinja environment over the package's templates (autoescaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("leadops.evaluation", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(num=num, pct=pct, money=money)
    return env


def _curve_figures(reports: dict[str, EvaluationReport], suffix: str = "") -> dict[str, Figure]:
    """ROC, gains and reliability of one or more reports (the same builders as the dashboard)."""
    first = next(iter(reports.values()))
    k = first.capacity.get("k")
    share = float(k) / first.n if first.n and k else None
    found = {
        "roc": plots.roc({f"{n} (AUC {num(r.auc)})": r.roc for n, r in reports.items()}, title=f"ROC{suffix}"),
        "gains": plots.gains(
            {n: r.gains_curve for n, r in reports.items()}, title=f"Cumulative gains{suffix}", capacity_share=share
        ),
    }
    cal = plots.calibration({n: r.reliability for n, r in reports.items()}, title=f"Reliability{suffix}")
    if cal is not None:
        found["calibration"] = cal
    return found


def _columns(reports: dict[str, EvaluationReport]) -> list[str]:
    """Every group column any of the reports measured, in first-seen order."""
    columns: list[str] = []
    for r in reports.values():
        columns.extend(c for c in r.groups if c not in columns)
    return columns


def _group_figures(reports: dict[str, EvaluationReport], columns: list[str]) -> dict[str, Figure]:
    """AUC with its interval per value of each group column, each model that measured it side by side."""
    return {
        f"groups-{i}": plots.group_auc(col, {n: r.groups[col] for n, r in reports.items() if col in r.groups})
        for i, col in enumerate(columns)
    }


def _summary_rows(r: EvaluationReport, champion: EvaluationReport | None) -> list[dict[str, str]]:
    """Rows of the summary table, with champion values and coloured differences when given."""
    rows = []
    for m in METRICS:
        v = m.get(r)
        row = {"label": m.label, "value": m.fmt(v), "champion": "", "diff": "", "cls": ""}
        if champion is not None:
            c = m.get(champion)
            row["champion"] = m.fmt(c)
            if isinstance(v, int | float) and isinstance(c, int | float) and not isinstance(v, bool):
                d = float(v) - float(c)
                row["diff"] = f"{d:+.4g}"
                if m.higher_is_better is not None and d != 0:
                    row["cls"] = "better" if (d > 0) == m.higher_is_better else "worse"
        rows.append(row)
    return rows


def render_report(
    report: EvaluationReport,
    *,
    model_name: str,
    champion: EvaluationReport | None = None,
    champion_name: str = "champion",
    gate_result: GateResult | None = None,
    title: str | None = None,
    leakage: dict[str, Any] | None = None,
) -> str:
    """One model's validation report as a self-contained HTML page (every section always present);
    `leakage` is the training set's LeakageReport.to_dict() (what was flagged, declared, left out, and why)."""
    if not isinstance(report, EvaluationReport):
        raise EvaluationError(f"render_report: expected an EvaluationReport, got {type(report).__name__}")
    both = {model_name: report}
    if champion is not None:
        both[champion_name] = champion
    figures = _curve_figures({model_name: report})
    figures["lift"] = plots.lift_by_decile(report.gains)
    figures["distribution"] = plots.score_distribution(report.score_distribution)
    columns = _columns({model_name: report})  # the sections are the report's own group columns
    figures.update(_group_figures(both, columns))
    if champion is not None:
        compared = _curve_figures(both, ": challenger vs champion")
        figures.update({"roc-compare": compared["roc"], "gains-compare": compared["gains"]})
        if "calibration" in compared and report.reliability:
            figures["calibration"] = compared["calibration"]  # one reliability plot, champion beside challenger
    ctx = {
        "title": title or f"Validation report: {model_name}",
        "model_name": model_name,
        "champion_name": champion_name,
        "r": report,
        "champion": champion,
        "gate_result": gate_result,
        "leakage": leakage,
        "sections": SECTIONS,
        "summary_rows": _summary_rows(report, champion),
        "group_figures": {col: f"groups-{i}" for i, col in enumerate(columns)},
    }
    return _render("report.html.j2", figures=figures, **ctx)


def render_template(name: str, *, figures: dict[str, Figure] | None = None, **context: Any) -> str:
    """Any report template of the package (monitoring's and experiments' too), with the same look, number
    formats and figures (drawn by the inlined plotly.js: the file needs nothing beside it)."""
    return _render(name, figures=figures or {}, **context)


def _render(name: str, *, figures: dict[str, Figure], **context: Any) -> str:
    """A template of the package with its figures and the scripts that draw them put in its place."""
    return with_figures(_env().get_template(name).render(figures=figures, **context), figures)


def write_report(path: str | Path, report: EvaluationReport, **kwargs: Any) -> Path:
    """Render a report (same keywords as render_report) and write it as UTF-8; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_report(report, **kwargs), encoding="utf-8")
    return p


def render_comparison(reports: dict[str, EvaluationReport], *, title: str = "Model comparison") -> str:
    """Several models on the same leads side by side (e.g. the tutorial's rule model vs predictive model)."""
    if not reports:
        raise EvaluationError("render_comparison: expected at least one report, got none")
    for name, r in reports.items():
        if not isinstance(r, EvaluationReport):
            raise EvaluationError(f"render_comparison: {name!r} is a {type(r).__name__}, expected EvaluationReport")
    names = list(reports)
    rows = []
    for m in METRICS:
        vals = [m.get(r) for r in reports.values()]
        best: list[int] = []
        nums = [(i, float(v)) for i, v in enumerate(vals) if isinstance(v, int | float) and not isinstance(v, bool)]
        if m.higher_is_better is not None and len(nums) > 1:
            target = (max if m.higher_is_better else min)(v for _, v in nums)
            best = [i for i, v in nums if v == target]
        rows.append({"label": m.label, "values": [m.fmt(v) for v in vals], "best": best})
    group_tables: dict[str, dict[str, dict[str, Any]]] = {}
    for r in reports.values():
        for col, per in r.groups.items():
            table = group_tables.setdefault(col, {})
            for value in per:
                table.setdefault(value, {"small": False, "cells": []})
    for col, table in group_tables.items():
        for value, cell in table.items():
            for r in reports.values():
                gm = r.groups.get(col, {}).get(value)
                cell["cells"].append((num(gm["auc"]), pct(gm["captured_at_capacity"])) if gm else ("—", "—"))
                cell["small"] = cell["small"] or bool(gm and gm["small"])
    oracle_rows = []
    with_oracle = [r.oracle for r in reports.values()]
    if any(o is not None for o in with_oracle):
        first = next(o for o in with_oracle if o is not None)
        for fig in first["figures"]:
            vals = [num(_dig(o, "figures", fig, "model")) for o in with_oracle]
            oracle_rows.append({"label": fig, "values": [*vals, num(first["figures"][fig]["oracle"])]})
        oracle_rows.append(
            {
                "label": "lift ratio (AUC − 0.5) / (oracle AUC − 0.5)",
                "values": [pct(_dig(o, "lift_ratio")) for o in with_oracle] + [pct(1.0)],
            }
        )
    columns = _columns(reports)
    figures = {**_curve_figures(reports), **_group_figures(reports, columns)}
    ctx = {
        "title": title,
        "names": names,
        "first": next(iter(reports.values())),
        "sections": COMPARISON_SECTIONS,
        "rows": rows,
        "group_figures": {col: f"groups-{i}" for i, col in enumerate(columns)},
        "group_tables": group_tables,
        "oracle_rows": oracle_rows,
    }
    return _render("comparison.html.j2", figures=figures, **ctx)


def write_comparison(path: str | Path, reports: dict[str, EvaluationReport], **kwargs: Any) -> Path:
    """Render a comparison and write it as UTF-8; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_comparison(reports, **kwargs), encoding="utf-8")
    return p
