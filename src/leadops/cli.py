"""The `leadops` command: parse, call one domain function, render (rich tables, or one JSON object with --json)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from leadops.cli_common import (
    _DEBUG,
    AsJson,
    Workspace,
    _fail,
    _parse_time,
    _settings,
    _workspace_warehouse,
    emit,
    err,
    failures,
    out,
    progress_bar,
)
from leadops.cli_experiment import experiment_app
from leadops.errors import LeadOpsError
from leadops.serving.keys import Role

if TYPE_CHECKING:
    from leadops.config import Settings
    from leadops.registry import Registry
    from leadops.warehouse import Warehouse

app = typer.Typer(
    help="leadops: operationalized lead scoring. Ranked, explained, graded leads in your database every morning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the workspace's settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")
features_app = typer.Typer(help="Build the configured features (point in time).", no_args_is_help=True)
app.add_typer(features_app, name="features")
models_app = typer.Typer(help="The model registry: versions, champion/challenger, audit log.", no_args_is_help=True)
app.add_typer(models_app, name="models")
keys_app = typer.Typer(help="API keys of the online service: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(experiment_app, name="experiment")


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="show the traceback of an unexpected error", envvar="LEADOPS_DEBUG")
    ] = False,
) -> None:
    """leadops: operationalized lead scoring. Ranked, explained, graded leads in your database every morning."""
    _DEBUG["on"] = debug


# --------------------------------------------------------------------------------------------- commands
@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="folder to create the workspace in")],
    force: Annotated[bool, typer.Option(help="overwrite an existing leadops.yaml")] = False,
    export_format: Annotated[
        str, typer.Option(help="flat | salesforce: the export shape the written mapping reads")
    ] = "flat",
    as_json: AsJson = False,
) -> None:
    """Create a workspace: a commented leadops.yaml mapped onto the fictional company's export."""
    from leadops.workspace import init_workspace

    with failures(as_json):
        result = init_workspace(directory, force=force, export_format=export_format)
        emit(result, as_json)


@config_app.command("show")
def config_show(workspace: Workspace = Path("."), as_json: AsJson = False) -> None:
    """Print the effective settings (file + LEADOPS_* overrides, passwords redacted)."""
    from leadops import config

    with failures(as_json):
        data = config.effective(_settings(workspace))
        if as_json:
            emit(data, True)
        else:
            import yaml

            out.print(yaml.safe_dump(data, sort_keys=False), highlight=False)


@app.command()
def simulate(
    workspace: Workspace = Path("."),
    scenario: Annotated[str | None, typer.Option(help="baseline | drift | concept | faults | tutorial | leaky")] = None,
    leads: Annotated[int | None, typer.Option(help="number of leads to generate")] = None,
    days: Annotated[int | None, typer.Option(help="days of history")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (same seed, same files)")] = None,
    fault_rate: Annotated[float | None, typer.Option(help="faults scenario: share of rows broken")] = None,
    export_format: Annotated[
        str | None, typer.Option(help="flat (one CSV per table) | salesforce (one CSV per Salesforce object)")
    ] = None,
    closed_loop: Annotated[
        bool, typer.Option("--closed-loop", help="run the company day by day with leadops in it (score, Sales, ingest)")
    ] = False,
    leads_per_day: Annotated[float | None, typer.Option(help="--closed-loop: new leads per day")] = None,
    as_json: AsJson = False,
) -> None:
    """Write the fictional company's CRM export into the workspace's source/ folder (ground truth apart)."""
    from leadops.simulate import simulate as run_simulation
    from leadops.simulate.tutorial import TUTORIAL_DEFAULT_LEADS as TUTORIAL_LEADS

    if closed_loop:
        from leadops.cli_closed_loop import closed_loop_command

        closed_loop_command(workspace, days=days, leads_per_day=leads_per_day, seed=seed, as_json=as_json)
        return
    with failures(as_json):
        settings = _settings(workspace)
        defaults = settings.simulate
        with progress_bar(not as_json) as update:
            summary = run_simulation(
                settings.workspace,
                scenario=scenario or defaults.scenario,
                leads=leads or (TUTORIAL_LEADS if (scenario or defaults.scenario) == "tutorial" else defaults.leads),
                days=days or defaults.days,
                seed=defaults.seed if seed is None else seed,
                fault_rate=defaults.fault_rate if fault_rate is None else fault_rate,
                progress=update,
                export_format=export_format or defaults.export_format,
                sales_capacity=settings.business.declared_capacity(),
            )
        emit(summary.to_dict(), as_json)


@app.command()
def ingest(
    workspace: Workspace = Path("."),
    source: Annotated[list[str] | None, typer.Option(help="only these sources (by name); repeatable")] = None,
    as_json: AsJson = False,
) -> None:
    """Load the CRM export: every record is loaded, unchanged, quarantined (with its reason) or filtered."""
    from leadops.crm import ingest as run_ingest

    with (
        failures(as_json),
        _workspace_warehouse(workspace) as (settings, warehouse),
        progress_bar(not as_json) as update,
    ):
        report = run_ingest(settings, warehouse, sources=source, progress=lambda s, n: update(s, 0.5))
        from leadops.crm.coverage import coverage_warnings

        result = report.to_dict()
        result["warnings"] = coverage_warnings(
            settings.sources, settings.contracts, warehouse, settings.features.warn_share
        )
    emit(result, as_json)
    if not as_json:
        for line in result["warnings"]:
            err.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


@features_app.command("build")
def features_build(
    workspace: Workspace = Path("."),
    as_of: Annotated[str | None, typer.Option("--as-of", help="point in time (ISO); default now")] = None,
    as_json: AsJson = False,
) -> None:
    """Build every configured feature for every lead as of T and store them in the warehouse."""
    from leadops.features.build import build_and_store

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        emit(build_and_store(settings.features, warehouse, _parse_time(as_of)), as_json)


@app.command()
def train(
    model: Annotated[str, typer.Option("--model", "-m", help="a model configured under `models:`")],
    workspace: Workspace = Path("."),
    register: Annotated[bool, typer.Option(help="log the run and register a version in the registry")] = True,
    as_json: AsJson = False,
) -> None:
    """Train a configured scorer on the training set, measure it, save its files and register a version."""
    from leadops.modeling.train import train_model

    with (
        failures(as_json),
        _workspace_warehouse(workspace) as (settings, warehouse),
        progress_bar(not as_json) as update,
    ):
        trained = train_model(settings, warehouse, model, register=register, progress=update)
    emit(trained.to_dict(), as_json)
    if not as_json:
        for line in trained.warnings:
            err.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


@app.command("evaluate")
def evaluate_cmd(
    model: Annotated[str, typer.Argument(help="version number, scorer name (its latest version) or alias")],
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """Every statistical and business metric of a registered model, by group, beside the champion."""
    from leadops.modeling.review import evaluate_ref

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        result = evaluate_ref(settings, warehouse, model).to_dict()
    if as_json:
        emit(result, True)
        return
    result.pop("report", None)
    groups = result.pop("groups", None) or {}
    emit(result, False)
    out.print(f"groups: {', '.join(groups)} (see --json for every figure)")


@app.command()
def compare(
    models: Annotated[list[str], typer.Argument(help="two or more versions / scorer names / aliases")],
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """Several models on the same test leads, side by side, in one offline HTML report."""
    from leadops.modeling.review import compare_refs

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        result = compare_refs(settings, warehouse, models).to_dict()
    if as_json:
        emit(result, True)
        return
    table = Table(title=f"{result['test_rows']:,} test leads")
    keys = ["auc", "pr_auc", "ece", "captured_at_capacity", "revenue_at_capacity"]
    for column in ("model", *keys):
        table.add_column(column)
    for name, figures in result["models"].items():
        table.add_row(name, *(_short(figures.get(k)) for k in keys))
    out.print(table)
    out.print(f"report: {result['report']}")


@app.command()
def validate(
    model: Annotated[str, typer.Argument(help="version number, scorer name (its latest version) or alias")],
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """Check a model against every configured gate; exit 0 when all pass, 1 when any fails."""
    from leadops.modeling.review import validate_ref

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        result = validate_ref(settings, warehouse, model).to_dict()
    if as_json:
        failed = [name for name, gate in result["gates"].items() if not gate["passed"]]
        verdict: dict[str, Any] = {"ok": True}
        if not result["passed"]:
            verdict = {"ok": False, "error": f"failed gates: {failed}", "exit_code": 1}
        emit({**verdict, **result}, True)
    else:
        table = Table(title=f"gates for v{result['version']} ({result['model']})")
        for column in ("gate", "passed", "value", "bound", "detail"):
            table.add_column(column)
        for name, gate in result["gates"].items():
            mark = "[green]pass[/]" if gate["passed"] else "[red]FAIL[/]"
            table.add_row(name, mark, _short(gate.get("value")), _short(gate.get("bound")), str(gate.get("detail", "")))
        out.print(table)
    raise typer.Exit(0 if result["passed"] else 1)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("" if value is None else str(value))


def _registry(settings: Settings, warehouse: Warehouse) -> Registry:
    from leadops.registry import Registry

    return Registry(settings, warehouse)


def _registry_offline(settings: Settings, exc: LeadOpsError, as_json: bool, ref: str | None = None) -> NoReturn:
    """The registry is unreachable: say so, show the workspace's cached view (labelled cached), exit non-zero."""
    from rich.markup import escape

    from leadops.redaction import redact_data, redact_text
    from leadops.registry.fallback import cached_registry

    message = redact_text(str(exc))
    view = cached_registry(settings)
    found = None if view is None or ref is None else view.find(ref)
    if view is None or (ref is not None and found is None):
        what = "this workspace has no cached view of it" if view is None else f"the cache has no version {ref!r}"
        _fail(f"{message}; {what}", exc.exit_code, as_json)
    data: dict[str, Any] = view.to_dict()
    if found is not None:
        data = {**found.to_dict(), "model": view.model_name, "cached": True, "refreshed_at": view.refreshed_at}
    if as_json:
        body = {"ok": False, "error": message, "exit_code": exc.exit_code, "cached": data}
        sys.stdout.write(json.dumps(redact_data(body)) + "\n")
        raise typer.Exit(exc.exit_code)
    title = f"{view.model_name} (CACHED {view.refreshed_at}: the registry is unreachable)"
    table = Table(title=title)
    for column in ("version", "scorer", "aliases", "local copy"):
        table.add_column(column)
    for v in view.versions if found is None else [found]:
        table.add_row(str(v.version), str(v.scorer), ", ".join(v.aliases), "verified" if v.path else "none")
    out.print(table)
    err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


@models_app.command("list")
def models_list(workspace: Workspace = Path("."), as_json: AsJson = False) -> None:
    """Every registered version with its scorer, aliases and headline metrics."""
    from leadops.registry import RegistryUnavailableError

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        try:
            versions = [v.to_dict() for v in _registry(settings, warehouse).list_versions()]
        except RegistryUnavailableError as exc:
            _registry_offline(settings, exc, as_json)
    if as_json:
        emit({"model": settings.registry.model_name, "versions": versions}, True)
        return
    table = Table(title=f"{settings.registry.model_name}")
    for column in ("version", "scorer", "aliases", "auc", "created"):
        table.add_column(column)
    for v in versions:
        metrics = v.get("metrics") or {}
        table.add_row(
            str(v["version"]),
            str(v.get("scorer")),
            ", ".join(v.get("aliases") or []),
            _short(metrics.get("auc")),
            str(v.get("created_at", "")),
        )
    out.print(table)


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="version number, scorer name or alias")],
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """One version: metrics, lineage, tags, aliases."""
    from leadops.registry import RegistryUnavailableError

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        try:
            shown = _registry(settings, warehouse).show(ref).to_dict()
        except RegistryUnavailableError as exc:
            _registry_offline(settings, exc, as_json, ref)
        emit(shown, as_json)


@models_app.command("promote")
def models_promote(
    ref: Annotated[str, typer.Argument(help="version number, scorer name (its latest version) or alias")],
    workspace: Workspace = Path("."),
    force: Annotated[bool, typer.Option(help="promote even though gates fail (needs --reason)")] = False,
    reason: Annotated[str | None, typer.Option(help="why; recorded in the audit log")] = None,
    as_json: AsJson = False,
) -> None:
    """Make REF the champion: its gates must pass, unless forced with a stated reason."""
    from leadops.modeling.review import promote_ref

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        emit(promote_ref(settings, warehouse, ref, force=force, reason=reason).to_dict(), as_json)


@models_app.command("challenger")
def models_challenger(
    ref: Annotated[str, typer.Argument(help="version number, scorer name or alias")],
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """Mark REF as the challenger: scored in shadow every night beside the champion."""
    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        emit(_registry(settings, warehouse).set_challenger(ref).to_dict(), as_json)


@models_app.command("rollback")
def models_rollback(
    workspace: Workspace = Path("."),
    reason: Annotated[str | None, typer.Option(help="why; recorded in the audit log")] = None,
    as_json: AsJson = False,
) -> None:
    """Restore the previous champion."""
    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        emit({"champion": _registry(settings, warehouse).rollback(reason=reason).to_dict()}, as_json)


@models_app.command("history")
def models_history(workspace: Workspace = Path("."), as_json: AsJson = False) -> None:
    """The audit log: who promoted, rolled back or registered what, when and why."""
    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        entries = [e.to_dict() for e in _registry(settings, warehouse).history()]
    if as_json:
        emit({"entries": entries}, True)
        return
    table = Table(title="registry audit log")
    for column in ("when", "who", "action", "version", "replaced", "reason"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            *(str(e.get(k) or "") for k in ("recorded_at", "actor", "action", "version", "previous_version", "reason"))
        )
    out.print(table)


def _key_store(workspace: Path) -> Any:
    """The workspace's API key store (resolved like every command's workspace: leadops.yaml must be there)."""
    from leadops.serving.keys import KeyStore

    return KeyStore.for_workspace(_settings(workspace).workspace)


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option("--role", help="viewer (reads) | scorer (scores) | admin (everything)")],
    name: Annotated[str | None, typer.Option("--name", help="who or what holds the key (shown by keys list)")] = None,
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """Create an API key; it is printed this once (only its salted hash is stored)."""
    with failures(as_json), _key_store(workspace) as store:
        created = store.create(role, name=name)
    if as_json:
        emit(created.to_dict(), True)
        return
    sys.stdout.write(created.key + "\n")
    label = f", name {created.record.name!r}" if created.record.name else ""
    err.print(
        f"created key {created.id} (role {created.role.value}{label}); store it now, it is not shown again",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@keys_app.command("list")
def keys_list(workspace: Workspace = Path("."), as_json: AsJson = False) -> None:
    """Every API key's id, name, role and dates (never the key or its hash)."""
    with failures(as_json), _key_store(workspace) as store:
        records = [r.to_dict() for r in store.list()]
    if as_json:
        emit({"keys": records}, True)
        return
    table = Table(title="API keys")
    columns = ("id", "name", "role", "created_at", "last_used_at", "revoked_at")
    for column in columns:
        table.add_column(column)
    for record in records:
        table.add_row(*(str(record.get(c) or "") for c in columns))
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id, as keys list shows it", metavar="ID")],
    workspace: Workspace = Path("."),
    as_json: AsJson = False,
) -> None:
    """Revoke an API key: every server worker refuses it within seconds."""
    with failures(as_json), _key_store(workspace) as store:
        emit(store.revoke(key_id).to_dict(), as_json)


@app.command()
def score(
    workspace: Workspace = Path("."),
    as_of: Annotated[str | None, typer.Option("--as-of", help="point in time (ISO); default today")] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb (one machine) | spark (cluster)")] = None,
    master: Annotated[
        str | None, typer.Option(help="Spark master for --engine spark: local[4], spark://host:7077, yarn, k8s://...")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Tonight's job: score every open lead with the champion, route MQLs to Sales, publish atomically."""
    from leadops.errors import ConfigError
    from leadops.jobs.run import score_job

    if engine not in (None, "duckdb", "spark"):
        with failures(as_json):
            raise ConfigError(f"--engine: expected duckdb or spark, got {engine!r}")
    with (
        failures(as_json),
        _workspace_warehouse(workspace, wait=5.0) as (settings, warehouse),
        progress_bar(not as_json) as update,
    ):
        if master is not None:
            spark = settings.scoring.spark.model_copy(update={"master": master})
            settings.scoring = settings.scoring.model_copy(update={"spark": spark})
        result = score_job(
            settings,
            warehouse,
            as_of=_parse_time(as_of),
            engine=engine,  # type: ignore[arg-type]
            progress=lambda stage, done, total: update(stage, done / total if total else 0.0),
        )
    emit(result.to_dict(), as_json)
    from rich.markup import escape

    from leadops.redaction import redact_text

    for warning in result.warnings:  # on stderr with --json too: cron logs keep them
        err.print(f"[yellow]warning:[/] {escape(redact_text(warning))}", highlight=False, soft_wrap=True)


@app.command()
def serve(
    workspace: Workspace = Path("."),
    host: Annotated[str | None, typer.Option(help="interface to listen on (default serving.host, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default serving.port, 8000)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (default serving.workers, 1)")] = None,
) -> None:
    """The online API: tonight's champion scores leads over HTTP in milliseconds; follows promotions live."""
    from leadops.serving.runner import serve as run_server

    with failures(False):
        run_server(_settings(workspace), host=host, port=port, workers=workers)


@app.command()
def monitor(
    workspace: Workspace = Path("."),
    as_of: Annotated[str | None, typer.Option("--as-of", help="monitor the latest run at or before this time")] = None,
    run: Annotated[str | None, typer.Option("--run", help="monitor this run id")] = None,
    as_json: AsJson = False,
) -> None:
    """Drift of tonight's published run (its open leads and its new leads) against its reference, and alerts."""
    from leadops.monitoring.monitor import monitor as run_monitor

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        result = run_monitor(settings, warehouse, run_id=run, as_of=_parse_time(as_of))
    if as_json:
        emit(result.to_dict(), True)
        return
    table = Table(title=f"drift of run {result.run_id} (model v{result.model_version}, {result.sample_rows} leads)")
    for column in ("feature", "drifted", "by", "new leads", "psi", "ks"):
        table.add_column(column)
    fresh = {d.feature: d for d in result.new_drift}
    for d in result.drift:
        psi, ks = d.stats.get("psi"), d.stats.get("ks")
        new = fresh.get(d.feature)
        table.add_row(
            d.feature,
            "yes" if d.drifted else "",
            ", ".join(d.drifted_by),
            "" if new is None or not new.drifted else ", ".join(new.drifted_by),
            "" if psi is None or psi.value is None else f"{psi.value:.3f}",
            "" if ks is None or ks.value is None else f"{ks.value:.3f}",
        )
    out.print(table)
    for alert in result.alerts:
        err.print(f"[yellow]{alert.severity}:[/] {alert.message}", highlight=False, soft_wrap=True)


@app.command()
def retrain(
    workspace: Workspace = Path("."),
    as_of: Annotated[str | None, typer.Option("--as-of", help="decide as of this time (default now)")] = None,
    force: Annotated[bool, typer.Option(help="retrain even when no trigger of the policy fires")] = False,
    as_json: AsJson = False,
) -> None:
    """The retraining policy: on a trigger, train, validate against the champion, promote or keep a challenger."""
    from leadops.modeling.retrain import retrain as run_retrain

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        result = run_retrain(settings, warehouse, now=_parse_time(as_of), force=force)
    emit(result.to_dict(), as_json)


@app.command()
def schedule(
    workspace: Workspace = Path("."),
    once: Annotated[bool, typer.Option(help="run what is due now and exit (for cron)")] = False,
    as_json: AsJson = False,
) -> None:
    """Run the configured schedule in the foreground (score nightly before the business day)."""
    from leadops.jobs.schedule import run_schedule

    with failures(as_json):
        ran = run_schedule(_settings(workspace), once=once)
    emit({"ran": ran}, as_json)


@app.command()
def demo(
    workspace: Workspace = Path("demo-workspace"),
    leads: Annotated[int, typer.Option(help="leads in the fictional company's history")] = 50_000,
) -> None:
    """The whole product on the fictional company: simulate, ingest, train, validate, promote, score."""
    from leadops.demo import run_demo

    with failures(False):
        run_demo(workspace, leads=leads)


@app.command()
def purge(
    workspace: Workspace = Path("."),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count what has expired, remove nothing")] = False,
    as_json: AsJson = False,
) -> None:
    """Remove personal data past its retention (privacy: quarantine raw values, quarantine, exports); cron-safe."""
    from leadops.crm.retention import purge as run_purge

    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        base = _exports_base(settings)
        emit(run_purge(settings.privacy, warehouse, base, dry_run=dry_run), as_json)


def _exports_base(settings: Settings) -> Path:
    """The folder holding exports/<date>/ (scoring.exports.dir, relative to the workspace)."""
    from leadops.jobs.exports import export_dir

    return export_dir(settings.workspace, settings.scoring.exports.dir, datetime(2000, 1, 1)).parent


def _ids_from(path: Path | None) -> list[str]:
    """Lead ids listed one per line (blank lines and # comments skipped)."""
    if path is None:
        return []
    from leadops.errors import ConfigError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--from-file: cannot read {path}: {exc}") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@app.command()
def erase(
    lead_ids: Annotated[
        list[str] | None, typer.Argument(help="lead ids of the people to erase", metavar="LEAD_ID...")
    ] = None,
    workspace: Workspace = Path("."),
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="a file with one lead id per line (bulk requests)")
    ] = None,
    rewrite_sources: Annotated[
        bool, typer.Option(help="also rewrite the CRM export / other CSV and Parquet files that mention them")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report what would be removed, change nothing")] = False,
    as_json: AsJson = False,
) -> None:
    """Remove people from every table with a lead_id, the quarantine and the export files; audited, idempotent."""
    from leadops.crm.erase import erase as run_erase

    with failures(as_json):
        ids = list(lead_ids or []) + _ids_from(from_file)
    with failures(as_json), _workspace_warehouse(workspace) as (settings, warehouse):
        base = _exports_base(settings)
        from leadops.warehouse.snapshot import copy_path

        result = run_erase(
            warehouse, ids, workspace=settings.workspace, exports_dir=base, sources=settings.sources,
            rewrite_sources=rewrite_sources, dry_run=dry_run,
            analytics_copy=copy_path(warehouse, settings.warehouse.analytics_copy, settings.workspace),
            sample_dirs=[settings.path(settings.monitoring.sample_dir)],
        )  # fmt: skip
    emit(result, as_json)
    if not as_json and result.get("warning"):
        err.print(f"[yellow]warning:[/] {result['warning']}", highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point: usage errors too become one line (one JSON object with --json)."""
    from leadops.errors import INTERNAL_EXIT, INTERRUPTED_EXIT, USAGE_EXIT

    started = time.perf_counter()
    as_json = "--json" in sys.argv[1:]
    timing = "--timing" in sys.argv[1:]
    if timing:
        sys.argv.remove("--timing")
    code = 0
    try:
        result = app(standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        code = INTERRUPTED_EXIT
        err.print("[red]interrupted[/]")
    except typer.TyperException as exc:  # click's usage errors (unknown option, missing argument, no command)
        code = int(getattr(exc, "exit_code", USAGE_EXIT) or USAGE_EXIT)
        if as_json:
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            sys.stdout.write(json.dumps({"ok": False, "error": message, "exit_code": code}) + "\n")
        elif hasattr(exc, "show"):
            exc.show()
        else:
            err.print(f"error: {exc}", highlight=False, markup=False)
    except Exception as exc:  # raised outside a command's failures() block
        if _DEBUG["on"]:
            raise
        code = INTERNAL_EXIT
        err.print(f"error: internal error: {type(exc).__name__}: {exc}", highlight=False, markup=False)
    finally:
        if timing:
            err.print(f"{time.perf_counter() - started:.2f}s")
    sys.exit(code)


if __name__ == "__main__":
    main()
