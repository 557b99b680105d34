"""The nightly scoring job: select open leads -> features -> score (champion + shadow) -> route -> publish."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from leadops.config import Settings
from leadops.errors import WarehouseError
from leadops.jobs import arms, checkpoints, ledger, select
from leadops.jobs.candidates import SalesCandidates, candidate_limit, previous_sales_ids
from leadops.jobs.checkpoints import checkpoint
from leadops.jobs.coverage import CoverageTally
from leadops.jobs.errors import FeatureSchemaError, JobError
from leadops.jobs.exports import export_dir, write_exports
from leadops.jobs.inputs import FeatureSource, bundle_sources
from leadops.jobs.intake import drain_workspace
from leadops.jobs.model import ModelRef, ModelSource, RegistryModels, ScorerLike, model_of, resolve_champion
from leadops.jobs.publish import add_mql_reasons, publish, run_counts
from leadops.jobs.routing import RoutingPlan, declared_activity_types, plan, route_run, route_summary, write_queues
from leadops.settings.crm import ContractsSpec, SourceSpec
from leadops.settings.jobs import Operations, operations
from leadops.warehouse import Warehouse
from leadops.warehouse.snapshot import copy_is_current, copy_path, publish_copy

if TYPE_CHECKING:
    from leadops.bundle.store import FittedFeatures
    from leadops.jobs.engines.spark import SparkRun

Engine = Literal["duckdb", "spark"]
Progress = Callable[[str, int, int], None]


@dataclass
class ScoreRunResult:
    """What one score_job call did (or found already done)."""

    run_id: str
    as_of: datetime
    model_version: int
    engine: str
    status: str
    leads_scored: int
    routed_sales: int
    routed_marketing: int
    new_to_sales: int = 0
    recycled: int = 0
    suppressed: int = 0
    export_csv: str | None = None
    export_parquet: str | None = None
    seconds: float = 0.0
    shadow: list[int] = field(default_factory=list)
    shadow_problems: list[str] = field(default_factory=list)
    routing: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    intake: dict[str, Any] = field(default_factory=dict)  # what draining the online intake's spool did
    analytics_copy: str | None = None  # the analysts' read-only copy this run refreshed (DuckDB)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the CLI's --json output)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


def floor_as_of(now: datetime, unit: str) -> datetime:
    """Naive-UTC now floored to the day/hour/minute, so reruns within that unit are the same run."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    if unit == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return now.replace(minute=0, second=0, microsecond=0)
    return now.replace(second=0, microsecond=0)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _load(source: ModelSource, refs: list[ModelRef]) -> list[tuple[ModelRef, ScorerLike]]:
    return [(ref, model_of(source, ref)) for ref in refs]


def score_job(
    settings: Settings,
    warehouse: Warehouse,
    *,
    as_of: datetime | None = None,
    engine: Engine | None = None,
    progress: Progress | None = None,
    models: ModelSource | None = None,
    features: FeatureSource | None = None,
) -> ScoreRunResult:
    """Score every open lead as of T, route MQLs to Sales and the rest to nurture, publish atomically.

    Idempotent per (as_of, model version, config): the run id is derived from them, a published run is not
    redone ("already published"), an interrupted one is cleared and redone from the start.
    """
    started = time.perf_counter()
    ops: Operations = job_operations(settings)
    engine_name: Engine = engine or ops.scoring.engine
    when = floor_as_of(datetime.now(UTC), ops.scoring.as_of_floor) if as_of is None else _naive_utc(as_of)
    source = models if models is not None else RegistryModels(settings, warehouse)
    model_name = settings.registry.model_name
    champion_ref = resolve_champion(source, model_name)
    every_challenger = [c for c in source.challengers() if c.version != champion_ref.version]
    challenger_refs = list(every_challenger) if ops.scoring.shadow else []
    # running experiments: their arms' versions are scored too (as shadows) and replace the champion's score
    experiments = arms.active_experiments(
        settings, warehouse, when, champion_ref.version, every_challenger[0].version if every_challenger else None
    )
    scored = {champion_ref.version, *(c.version for c in challenger_refs)}
    challenger_refs += arms.version_refs(source, arms.extra_versions(experiments, scored))
    notes = source_warnings(source)  # e.g. the registry was unreachable: scored with the cached champion
    fitted: dict[int, FittedFeatures] = {}
    feature_problems: dict[int, str] = {}
    if features is not None:  # one given source for every model (tests, custom feature stores)
        sources: dict[int, FeatureSource] = {r.version: features for r in [champion_ref, *challenger_refs]}
    else:  # each model's rows from its own bundle's fitted spec, never from today's leadops.yaml
        sources, fitted, feature_problems = bundle_sources([champion_ref, *challenger_refs], warehouse)
        if champion_ref.version in feature_problems:
            raise FeatureSchemaError(
                feature_problems[champion_ref.version],
                hint="retrain with `leadops train` and promote the new version (leadops models promote)",
            )
        challenger_refs = [c for c in challenger_refs if c.version not in feature_problems]
    routing = routing_plan(settings.contracts, settings.sources, ops, champion_ref)
    cfg_hash = ledger.config_hash(ops, {v: f.spec_hash for v, f in fitted.items()})
    run_id = ledger.make_run_id(when, champion_ref.version, cfg_hash, engine_name)
    workspace = settings.workspace
    out_dir = export_dir(workspace, ops.scoring.exports.dir, when)
    target = copy_path(warehouse, settings.warehouse.analytics_copy, workspace)

    with warehouse.writer("score"):
        # leads the online API spooled while the warehouse was busy go in first: tonight's run sees them
        intake = drain_workspace(warehouse, settings.workspace, ops.routing, ops.business)
        existing = ledger.get_run(warehouse, run_id)
        if existing is not None and existing.status == "published":
            done = _already_published(warehouse, existing, when, champion_ref, ops, out_dir, started)
            done.intake = intake.to_dict()
            if target is not None and not copy_is_current(warehouse, target):  # deleted, or killed before it
                done.analytics_copy, late = refresh_copy(warehouse, target, run_id)
                done.warnings += late
            done.warnings = [*notes, *done.warnings]
            return with_checks(done, routing, route_summary(warehouse, run_id))
        checkpoints.reset()
        champion = (champion_ref, model_of(source, champion_ref))
        challengers = _load(source, challenger_refs)
        ledger.start_run(
            warehouse,
            run_id=run_id,
            as_of=when,
            model_version=champion_ref.version,
            scorer=champion_ref.scorer,
            engine=engine_name,
            cfg_hash=cfg_hash,
        )
        checkpoint("run started")
        try:
            result = _run(
                RunPlan(
                    warehouse=warehouse,
                    ops=ops,
                    run_id=run_id,
                    when=when,
                    champion=champion,
                    challengers=challengers,
                    engine=engine_name,
                    workspace=settings.workspace,
                    out_dir=out_dir,
                    progress=progress,
                    routing=routing,
                    fitted=fitted,
                    feature_problems=feature_problems,
                    notes=notes,
                    experiments=experiments,
                ),
                sources,
            )
        except BaseException as exc:
            if isinstance(exc, Exception):
                ledger.fail_run(warehouse, run_id, f"{type(exc).__name__}: {exc}")
            raise
        if target is not None:  # still the one writer: nothing changes the warehouse while it is copied
            result.analytics_copy, late = refresh_copy(warehouse, target, run_id)
            result.warnings += late
    result.seconds = round(time.perf_counter() - started, 3)
    result.intake = intake.to_dict()
    return with_checks(result, routing, route_summary(warehouse, run_id))


def refresh_copy(warehouse: Warehouse, target: Path, run_id: str) -> tuple[str | None, list[str]]:
    """Publish the analysts' copy after the run; a failure is a warning (kept in the ledger), not a failed run."""
    try:
        info = publish_copy(warehouse, target)
    except WarehouseError as exc:  # AnalyticsCopyError, or the warehouse refusing the checkpoint
        warning = f"the analysts' copy was not refreshed (it still shows the previous run): {exc.message}"
        warehouse.execute(
            "UPDATE score_runs SET warnings = coalesce(warnings || ?, ?) WHERE run_id = ?",
            ["\n" + warning, warning, run_id],
        )
        return None, [warning]
    return info.path, []


def source_warnings(source: ModelSource) -> list[str]:
    """What the model source had to say about how it found the models (RegistryModels: an outage fallback)."""
    found = getattr(source, "warnings", None)
    return [str(w) for w in found] if isinstance(found, list) else []


def job_operations(settings: Settings) -> Operations:
    """The job's own sections of the workspace settings."""
    return operations(settings.scoring, settings.routing, settings.schedule, settings.business)


def routing_plan(
    contracts: ContractsSpec, sources: list[SourceSpec], ops: Operations, champion: ModelRef
) -> RoutingPlan:
    """Tonight's routing: the policy, the business facts, the MQL threshold and the Sales activity types."""
    declared = declared_activity_types(contracts, sources)
    return plan(ops.routing, ops.business, champion.mql_threshold, declared)


def with_checks(result: ScoreRunResult, routing: RoutingPlan, reasons: dict[str, int]) -> ScoreRunResult:
    """Add the routing summary and the `routed_sales` check: an empty Sales queue with open leads fails it."""
    result.routing = routing.describe()
    empty = result.routed_sales == 0 and result.leads_scored > 0
    detail = f"{result.routed_sales} of {result.leads_scored} open leads routed to Sales"
    if empty:
        top = "; ".join(f"{n:,} {why}" for why, n in list(reasons.items())[:3])
        warning = f"the Sales queue is empty while {result.leads_scored:,} leads are open: {top}"
        result.warnings.append(warning)
        detail = warning
    result.checks["routed_sales"] = {"passed": not empty, "value": result.routed_sales, "detail": detail}
    return result


@dataclass
class RunPlan:
    """What one run fixes before it scores, shared by the scoring pass and publishing (one argument, not 16)."""

    warehouse: Warehouse
    ops: Operations
    run_id: str
    when: datetime
    champion: tuple[ModelRef, ScorerLike]
    challengers: list[tuple[ModelRef, ScorerLike]]
    engine: Engine
    workspace: Path
    out_dir: Path
    progress: Progress | None
    routing: RoutingPlan
    fitted: dict[int, FittedFeatures]
    feature_problems: dict[int, str]
    notes: list[str]
    experiments: list[arms.ActiveExperiment] = field(default_factory=list)


@dataclass
class ScoredPass:
    """What the scoring pass leaves for routing and publishing: its problems and where the reasons come from."""

    problems: dict[int, str]
    reason_source: FeatureSource
    tally: CoverageTally | None
    champion_fitted: FittedFeatures | None
    spark_run: SparkRun | None
    previous: str | None
    kept: SalesCandidates | None
    sources: dict[int, FeatureSource]  # every scored version's feature source (an arm's reasons are its own)


def _run(run: RunPlan, sources: dict[int, FeatureSource]) -> ScoreRunResult:
    """Score every open lead on the chosen engine, score the experiments' treatments, then publish."""
    warehouse, ops, champion = run.warehouse, run.ops, run.champion
    champion_fitted = run.fitted.get(champion[0].version)
    tally = None
    if champion_fitted is not None:
        cats = set(champion_fitted.spec.categorical())
        tally = CoverageTally([n for n in champion[0].feature_names if n in cats])
    all_reasons = ops.scoring.reasons == "all"
    previous = ledger.previous_published(warehouse, run.when)
    kept: SalesCandidates | None = None
    spark_run: SparkRun | None = None
    reason_source = sources[champion[0].version]
    if run.engine == "spark":  # its executors hold the rows; the Sales leads' rows are read back for reasons
        from leadops.jobs.engines.spark import run_on_spark

        spark_run = run_on_spark(
            warehouse,
            sources,
            run_id=run.run_id,
            as_of=run.when,
            champion=champion[0],
            challengers=[c for c, _ in run.challengers],
            all_reasons=all_reasons,
            top_n=ops.scoring.top_reasons,
            spec=ops.scoring.spark,
            workspace=run.workspace,
            sales_types=run.routing.sales_types,
            previous_run=previous,
            progress=run.progress,
            tally=tally,
        )
        problems, reason_source = spark_run.problems, spark_run.reasons
    elif run.engine == "duckdb":
        from leadops.jobs.engines.duckdb import score_chunks

        total = select.stage_open_leads(warehouse, run.run_id, run.when, ops.scoring.chunk_size)
        checkpoint("open leads selected")
        if run.progress is not None:
            run.progress("score", 0, total)
        if not all_reasons:
            limit = candidate_limit(ops.business.capacity.total_per_day())
            kept = SalesCandidates(limit, previous_sales_ids(warehouse, previous))
        problems = score_chunks(
            warehouse,
            sources,
            run_id=run.run_id,
            as_of=run.when,
            champion=champion,
            challengers=run.challengers,
            all_reasons=all_reasons,
            top_n=ops.scoring.top_reasons,
            total=total,
            progress=run.progress,
            tally=tally,
            kept=kept,
        )
    else:
        raise JobError(f"scoring.engine: expected 'duckdb' or 'spark', got {run.engine!r}")
    notes = list(run.notes)
    try:
        if run.experiments:  # tonight's sticky assignments; treatment leads take their arm's version's score
            arms.assign_run(
                warehouse, run.run_id, run.when, run.experiments, champion[0].version, facts=spark_run is not None
            )
            notes += arms.score_treatments(
                warehouse, run.run_id, run.experiments, champion[0].version, {**run.feature_problems, **problems}
            )
        scored = ScoredPass(problems, reason_source, tally, champion_fitted, spark_run, previous, kept, sources)
        return _publish(run, scored, notes)
    finally:
        if spark_run is not None:
            spark_run.finish()


def _publish(run: RunPlan, scored: ScoredPass, notes: list[str]) -> ScoreRunResult:
    """Route the staged scores, add the Sales leads' reasons, write the queues and exports, publish."""
    warehouse, champion, run_id = run.warehouse, run.champion, run.run_id
    with warehouse.transaction():
        route_run(
            warehouse,
            run_id=run_id,
            as_of=run.when,
            model_version=champion[0].version,
            previous_run=scored.previous,
            routing=run.routing,
            facts=scored.spark_run is not None,
        )
        if run.experiments:  # each arm's leads again, alone, with its policy and fair share of Sales
            refs = {r.version: r for r, _ in [champion, *run.challengers]}
            arms.route_arms(
                warehouse,
                run_id=run_id,
                as_of=run.when,
                previous_run=scored.previous,
                routing=run.routing,
                experiments=run.experiments,
                refs=refs,
                facts=scored.spark_run is not None,
            )
    checkpoint("routed")
    problems = {**run.feature_problems, **scored.problems}
    by_arm = arms.add_arm_reasons(  # a treatment lead's reasons are its own version's
        warehouse,
        run.experiments,
        run_id=run_id,
        as_of=run.when,
        champion=champion[0].version,
        models={r.version: (r, m) for r, m in [champion, *run.challengers]},
        sources=scored.sources,
        champion_source=scored.reason_source,
        top_n=run.ops.scoring.top_reasons,
        every_lead=run.ops.scoring.reasons == "all",
        kept=scored.kept,
    )
    add_mql_reasons(
        warehouse,
        scored.reason_source,
        run_id=run_id,
        as_of=run.when,
        champion=champion,
        top_n=run.ops.scoring.top_reasons,
        progress=run.progress,
        kept=scored.kept,
        skip=by_arm,
    )
    checkpoint("reasons added")
    with warehouse.transaction():  # the queues copy the routed rows, reasons included
        write_queues(warehouse, run_id)
    if scored.spark_run is not None:  # the cluster's copy of tonight's queues, beside its scores
        from leadops.jobs.engines.spark import write_queues as spark_queues

        spark_queues(warehouse, run_id, scored.spark_run.root)
    exp = run.ops.scoring.exports
    csv_path, pq_path = write_exports(warehouse, run_id, run.out_dir, csv=exp.csv, parquet=exp.parquet)
    checkpoint("exports written")
    counts = run_counts(warehouse, run_id)
    shadow = sorted({c.version for c, _ in run.challengers} - set(problems))
    warnings = list(notes)
    if scored.tally is not None and scored.champion_fitted is not None:
        warnings += scored.tally.warnings(scored.champion_fitted.summaries, champion[0].version)
    fields: dict[str, Any] = {
        **counts,
        "shadow_versions": ",".join(str(v) for v in shadow) or None,
        "export_csv": str(csv_path) if csv_path else None,
        "export_parquet": str(pq_path) if pq_path else None,
        "error": "; ".join(problems.values()) or None,
        "warnings": "\n".join(warnings)[:4000] or None,
    }
    publish(warehouse, run_id, fields)
    checkpoint("published")
    result = _result(
        run_id,
        run.when,
        champion[0].version,
        run.engine,
        "published",
        counts,
        fields["export_csv"],
        fields["export_parquet"],
        shadow,
        list(problems.values()),
    )
    result.warnings = warnings
    return result


def _result(
    run_id: str,
    as_of: datetime,
    version: int,
    engine: str,
    status: str,
    counts: dict[str, int],
    export_csv: str | None,
    export_parquet: str | None,
    shadow: list[int],
    problems: list[str],
) -> ScoreRunResult:
    """What `leadops score --json` reports, from the ledger's counts."""
    return ScoreRunResult(
        run_id=run_id,
        as_of=as_of,
        model_version=version,
        engine=engine,
        status=status,
        leads_scored=counts["leads_scored"],
        routed_sales=counts["routed_sales"],
        routed_marketing=counts["routed_nurture"],
        new_to_sales=counts["new_to_sales"],
        recycled=counts["recycled"],
        suppressed=counts["suppressed"],
        export_csv=export_csv,
        export_parquet=export_parquet,
        shadow=shadow,
        shadow_problems=problems,
    )


def _already_published(
    warehouse: Warehouse,
    row: ledger.RunRow,
    when: datetime,
    champion: ModelRef,
    ops: Operations,
    out_dir: Path,
    started: float,
) -> ScoreRunResult:
    """A rerun of a published run: change nothing in the warehouse; restore export files if someone deleted them."""
    exp = ops.scoring.exports
    missing_csv = exp.csv and not (out_dir / "lead_scores.csv").exists()
    missing_pq = exp.parquet and not (out_dir / "lead_scores.parquet").exists()
    if missing_csv or missing_pq:
        write_exports(warehouse, row.run_id, out_dir, csv=bool(missing_csv), parquet=bool(missing_pq))
    counts = run_counts(warehouse, row.run_id)
    shadow = [int(v) for v in (row.shadow_versions or "").split(",") if v]
    result = _result(
        row.run_id,
        when,
        champion.version,
        row.engine,
        "already published",
        counts,
        row.export_csv,
        row.export_parquet,
        shadow,
        [],
    )
    result.seconds = round(time.perf_counter() - started, 3)
    return result
