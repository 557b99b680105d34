"""`make demo`: the whole product on the fictional company, from an empty folder to tonight's queues."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from leadops import config
from leadops.workspace import init_workspace

if TYPE_CHECKING:
    import pandas as pd

console = Console()


def _step(title: str) -> float:
    console.rule(f"[bold]{title}")
    return time.perf_counter()


def _done(started: float, detail: str) -> None:
    console.print(f"[green]ok[/] {detail} [dim]({time.perf_counter() - started:.1f}s)[/]", highlight=False)


def simulation_end(workspace: Path) -> datetime:
    """The fictional company's 'tonight': the end of its simulated history (from the ground-truth manifest)."""
    manifest = json.loads((workspace / "ground_truth" / "manifest.json").read_text())
    end = manifest.get("end") or manifest.get("end_date")
    return datetime.fromisoformat(str(end)).replace(tzinfo=None)


def run_demo(workspace: Path, *, leads: int = 50_000, seed: int = 42) -> dict[str, Any]:
    """init -> simulate -> ingest -> train points + predictive -> validate -> promote -> score -> summary."""
    from leadops.crm import ingest
    from leadops.jobs.run import score_job
    from leadops.modeling.review import promote_ref
    from leadops.modeling.train import train_model
    from leadops.registry import Registry
    from leadops.simulate import simulate
    from leadops.warehouse import open_warehouse

    total = time.perf_counter()
    started = _step("1. workspace")
    if not (workspace / config.CONFIG_FILE).exists():
        init_workspace(workspace)
    settings = config.load(workspace)
    _done(started, f"{settings.workspace}/leadops.yaml")

    started = _step(f"2. the fictional company: {leads:,} leads")
    summary = simulate(
        settings.workspace,
        scenario="baseline",
        leads=leads,
        days=settings.simulate.days,
        seed=seed,
        sales_capacity=settings.business.declared_capacity(),
    )
    _done(
        started,
        f"{summary.leads:,} leads, {summary.accounts:,} accounts, {summary.activities:,} activities, "
        f"{summary.outcomes:,} outcomes -> source/",
    )

    warehouse = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        started = _step("3. ingest (contracts, quarantine, upserts)")
        report = ingest(settings, warehouse)
        _done(started, f"{report.rows_loaded:,} rows loaded, {report.rows_quarantined:,} quarantined")

        trained: dict[str, dict[str, Any]] = {}
        for name in ("points", "predictive"):
            started = _step(f"4. train `{name}`")
            trained[name] = train_model(settings, warehouse, name).to_dict()
            t = trained[name]
            _done(
                started,
                f"v{t['version']}: AUC {t['auc']:.3f}, captured at capacity "
                f"{t['captured_at_capacity']:.1%}"
                + (f", oracle AUC {t['oracle_auc']:.3f}" if "oracle_auc" in t else ""),
            )

        started = _step("5. validate and promote the champion")
        registry = Registry(settings, warehouse)
        best = "predictive"
        # the promotion policy (modeling.review.promote_ref): gates decide; a new workspace takes a first
        # champion even if a gate fails, audited with this reason; a rerun keeps a champion the new one fails
        decision = promote_ref(
            settings, warehouse, str(trained[best]["version"]), first_champion="demo: first champion of a new workspace"
        )
        registry.set_challenger(str(trained["points"]["version"]))
        failed = decision.gates.failed
        now = registry.champion()
        _done(
            started,
            (f"champion v{now.version} ({now.scorer}); " if now else "")
            + f"v{trained[best]['version']} gates "
            + ("all passed" if not failed else f"failed: {failed}")
            + f"; challenger v{trained['points']['version']} (points)",
        )

        started = _step("6. tonight's scoring job")
        as_of = simulation_end(settings.workspace) + timedelta(hours=5)
        run = score_job(settings, warehouse, as_of=as_of).to_dict()
        _done(
            started,
            f"run {run['run_id']}: {run['leads_scored']:,} open leads scored, "
            f"{run['routed_sales']:,} to Sales, {run['routed_marketing']:,} to nurture",
        )
        top = warehouse.df(
            "SELECT lead_id, score, grade, reason_text FROM current_sales_queue ORDER BY score DESC, lead_id LIMIT 10"
        )
    finally:
        warehouse.close()
    _print_summary(settings, run, top, trained)
    console.print(f"[bold green]demo finished in {time.perf_counter() - total:.0f}s[/]")
    return {"run": run, "trained": trained}


def _print_summary(
    settings: config.Settings, run: dict[str, Any], top: pd.DataFrame, trained: dict[str, dict[str, Any]]
) -> None:
    console.rule("[bold]where the scores are")
    url = settings.warehouse.url
    console.print(
        f"warehouse: {url} (in {settings.workspace})\n"
        "  SQL: SELECT * FROM current_scores; SELECT * FROM current_sales_queue; "
        "SELECT * FROM current_nurture_queue;\n"
        f"  CRM import file: {run.get('export_csv')}\n  Parquet: {run.get('export_parquet')}",
        highlight=False,
    )
    table = Table(title="top 10 MQLs in tonight's Sales queue")
    for column in ("lead", "score", "grade", "why"):
        table.add_column(column)
    for row in top.itertuples():
        table.add_row(str(row.lead_id), f"{row.score:.1f}", str(row.grade), str(row.reason_text))
    console.print(table)
    console.print(f"queues: Sales {run['routed_sales']:,} | Marketing nurture {run['routed_marketing']:,}")
    figures = Table(title="champion (predictive) vs the point rules, on the same test leads")
    for column in (
        "model",
        "AUC",
        "PR-AUC",
        "ECE",
        "conversions captured at capacity",
        "revenue at capacity",
        "oracle AUC",
    ):
        figures.add_column(column)
    for name, t in trained.items():
        figures.add_row(
            name,
            _f(t.get("auc")),
            _f(t.get("pr_auc")),
            _f(t.get("ece")),
            _pct(t.get("captured_at_capacity")),
            _money(t.get("revenue_at_capacity")),
            _f(t.get("oracle_auc")),
        )
    console.print(figures)


def _f(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def _pct(value: Any) -> str:
    return "" if value is None else f"{value:.1%}"


def _money(value: Any) -> str:
    return "" if value is None else f"${value:,.0f}"


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m leadops.demo` (what `make demo` runs)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=Path("demo-workspace"))
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    from leadops.errors import LeadOpsError

    try:
        run_demo(args.workspace, leads=args.leads, seed=args.seed)
    except LeadOpsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(exc.exit_code) from None


if __name__ == "__main__":
    main()
