"""The cluster engine: open leads, features and scores computed on Spark from the canonical tables' URIs.

Spark selects tonight's open leads and computes each model's features with the same SQL the warehouses run
(leadops.features.sql rendered in the Spark dialect); the executors score them with the model's bundle, which
the driver ships with SparkContext.addFile (executors never read a driver path). Selected leads, features and
scores are Parquet under `scoring.spark.output/<run_id>/`; the driver only counts and compares them (every
selected lead scored exactly once, else SparkScoringError) and the warehouse loads them batch by batch for
routing and publishing, as it does for the DuckDB engine's rows.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from leadops.features.sql import feature_sql
from leadops.jobs.checkpoints import checkpoint
from leadops.jobs.coverage import CoverageTally
from leadops.jobs.engines.spark_tables import (
    batches,
    first_line,
    output_root,
    put_file,
    register_tables,
    remove,
)
from leadops.jobs.errors import EngineUnavailableError, JobError, SparkInputError, SparkScoringError
from leadops.jobs.inputs import FeatureSource
from leadops.jobs.model import ModelRef, check_features, load_model
from leadops.jobs.routing import PREV_SALES_SQL, prev_sales_params, routing_facts_sql
from leadops.jobs.scoring import SHADOW_SCHEMA, STAGE_SCHEMA, score_chunk, shadow_chunk
from leadops.jobs.select import open_leads_sql
from leadops.settings.features import OTHER, FeaturesSpec
from leadops.settings.jobs import SparkSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.dialect import SPARK_SQL

Progress = Callable[[str, int, int], None]
_SESSIONS: dict[str, Any] = {}

# What leadops' SQL needs from a session whatever the user's conf: naive-UTC timestamps, "x" as an identifier
# (the SQL is written once for every engine), backslashes in literals taken as they are (as DuckDB does).
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}


def spark_available() -> str | None:
    """None when Spark can run here, else why not (pyspark or Java missing)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'leadops[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and shutil.which("java") is None:
        return "Java 17 is not installed (Debian: apt-get install openjdk-17-jre-headless) or JAVA_HOME is not set"
    return None


def session(spec: SparkSpec) -> Any:
    """A SparkSession for `spec.master` (cached per master); local workers run this virtualenv's python."""
    problem = spark_available()
    if problem:
        raise EngineUnavailableError(f"engine 'spark' cannot start: {problem}")
    if spec.master in _SESSIONS:
        return _SESSIONS[spec.master]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # under spark-submit, its --master and --conf decide
    builder = SparkSession.builder.appName(spec.app_name)
    if not submitted:
        builder = builder.master(spec.master).config("spark.ui.enabled", "false")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if spec.master.startswith("local") and not submitted:  # local workers import leadops from this checkout
        extra_path = os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())
        os.environ["PYTHONPATH"] = extra_path
        builder = builder.config("spark.executorEnv.PYTHONPATH", extra_path).config("spark.sql.shuffle.partitions", "8")
    for key, value in {**spec.conf, **REQUIRED_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():  # a session someone else created (spark-submit) gets them too
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("FATAL")
    register_functions(spark)
    _SESSIONS[spec.master] = spark
    return spark


def _c_log(values: pd.Series) -> pd.Series:
    """The C library's natural log per value (what DuckDB and PostgreSQL call); NaN where it is undefined."""
    out = [math.log(v) if v > 0 else math.nan for v in values.to_numpy(dtype="float64", na_value=math.nan)]
    return pd.Series(out, index=values.index, dtype="float64")


def register_functions(spark: Any) -> None:
    """The SQL functions the Spark dialect names beyond Spark's own (leadops_ln: see SqlDialect.ln)."""
    from pyspark.sql.functions import pandas_udf

    spark.udf.register("leadops_ln", pandas_udf(_c_log, "double"))  # type: ignore[call-overload]


def stop_sessions() -> None:
    """Stop every cached session (end of a test session or a long-running scheduler)."""
    for spark in _SESSIONS.values():
        spark.stop()
    _SESSIONS.clear()


def _spark_schema(schema: pa.Schema) -> str:
    kinds = {pa.string(): "string", pa.float64(): "double", pa.int32(): "int"}
    return ", ".join(f"{f.name} {kinds[f.type]}" for f in schema)


def _sql(spark: Any, text: str, what: str, tables: Mapping[str, str]) -> Any:
    """spark.sql with an analysis failure turned into one line naming what was computed from which tables."""
    try:
        return spark.sql(text)
    except Exception as exc:
        where = ", ".join(f"{t}={u}" for t, u in tables.items())
        raise SparkInputError(
            f"{what} failed on Spark over {where}: {first_line(exc)}",
            hint="check that each table in scoring.spark.tables has the canonical columns (docs/CONTRACTS.md)",
        ) from exc


def spark_features(spark: Any, spec: FeaturesSpec, as_of: datetime, population: str) -> Any:
    """The spec's features of every lead in `population` (a view with lead_id) as of T, as a Spark DataFrame."""
    text = feature_sql(
        spec, population=population, as_of=as_of, per_lead=False, restrict_activities=False, dialect=SPARK_SQL,
        ordered=False,
    )  # fmt: skip
    return spark.sql(text)


def feature_frame(batch: pa.RecordBatch | pa.Table, spec: FeaturesSpec) -> pd.DataFrame:
    """A batch of Spark's feature rows as the model frame the DuckDB engine builds (same dtypes, lead_id index)."""
    from leadops.bundle.rows import as_model_frame

    frame = batch.to_pandas().set_index("lead_id")
    frame.index = frame.index.astype(str)
    return as_model_frame(frame, spec, None)


def _shipped_name(ref: ModelRef) -> str:
    """A name for the bundle in SparkFiles that changes when its files do (Spark refuses a name reused)."""
    manifest = ref.path / "manifest.json"
    body = manifest.read_bytes() if manifest.exists() else str(ref.path).encode()
    return f"leadops-bundle-v{ref.version}-{hashlib.sha256(body).hexdigest()[:12]}"


def ship_bundle(spark: Any, ref: ModelRef) -> str:
    """Send the model's bundle directory to every executor (SparkContext.addFile); returns its SparkFiles name."""
    name = _shipped_name(ref)
    local = Path(tempfile.gettempdir()) / "leadops-spark-bundles" / name
    if not local.exists():
        partial = local.with_name(name + f".{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(ref.path, partial)
        os.replace(partial, local)
    spark.sparkContext.addFile(str(local), recursive=True)
    return name


def pin_threads(model: Any, threads: int) -> None:
    """Give every LightGBM scorer in `model` whose spec leaves num_threads at 0 (every core) `threads` prediction
    threads: Spark already runs one task per core, so an OpenMP team on every core in each task made local[1] use
    both cores and local[2] run four threads on two. Predictions do not depend on the thread count."""
    spec = getattr(model, "spec", None)
    if spec is not None and getattr(spec, "num_threads", None) == 0:
        model.spec = spec.model_copy(update={"num_threads": max(1, int(threads))})
    for part in (getattr(model, "components_", None) or {}).values():
        pin_threads(part, threads)


def task_cpus() -> int:
    """The cores Spark gave this task (spark.task.cpus; 1 outside a task)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return int(context.cpus()) if context is not None else 1


def _scorer_fn(
    ref: ModelRef, shipped: str, spec: FeaturesSpec, all_reasons: bool, top_n: int, shadow: bool
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """What each executor runs over its partitions: the shipped bundle's model, loaded once per partition."""

    def score_batches(parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import SparkFiles

        local = replace(ref, path=Path(SparkFiles.get(shipped)))
        model = load_model(local)  # from the bundle's plain files, never a pickle
        pin_threads(model, task_cpus())
        for part in parts:
            X = feature_frame(part, spec)
            if shadow:
                table = shadow_chunk(model, local, X)
            else:
                table = score_chunk(model, local, X, with_reasons=all_reasons, top_n=top_n)
            yield from table.to_batches()

    return score_batches


def check_all_scored(selected: Any, scores: Any, *, version: int, total: int, where: str) -> None:
    """Raise SparkScoringError unless `scores` holds exactly one row for each selected lead (counted on Spark)."""
    missing = int(selected.select("lead_id").join(scores.select("lead_id"), "lead_id", "left_anti").count())
    rows = int(scores.count())
    extra = rows - (total - missing)
    if missing or extra:
        parts = [f"{missing:,} of {total:,} selected leads have no score"] if missing else []
        parts += [f"{extra:,} score rows are duplicates or not selected leads"] if extra else []
        raise SparkScoringError(
            f"model version {version} on Spark: {'; '.join(parts)} (scores in {where}); expected one score per "
            "selected lead, nothing was published",
            hint="rerun `leadops score --engine spark`; a repeated gap points at the executors' logs",
        )


def _spec_of(source: FeatureSource) -> FeaturesSpec | None:
    """The fitted feature spec behind a model's feature source (a bundle's), or None for a custom source."""
    spec = getattr(source, "spec", None)
    return spec if isinstance(spec, FeaturesSpec) else None


def _dtypes(frame: Any) -> dict[str, str]:
    """Spark column types in the words check_features compares (numeric vs text)."""
    return {name: ("object" if kind == "string" else "float64") for name, kind in frame.dtypes}


class SparkFeatureRows:
    """A model's feature rows tonight, read back from the Parquet Spark wrote (reasons for the Sales leads)."""

    def __init__(self, spark: Any, location: str, spec: FeaturesSpec) -> None:
        self.spark, self.location, self.spec = spark, location, spec

    def build(self, as_of: datetime, lead_ids: Sequence[str]) -> pd.DataFrame:
        """Rows of `lead_ids` (few: the Sales queue), in their order; only these leave the cluster."""
        ids = [str(i) for i in lead_ids]
        wanted = self.spark.createDataFrame(pa.table({"lead_id": pa.array(ids, pa.string())}))
        table = self.spark.read.parquet(self.location).join(wanted, "lead_id", "left_semi").toArrow()
        frame = feature_frame(table, self.spec)
        return frame.reindex(pd.Index(ids, name="lead_id"))


@dataclass
class SparkRun:
    """What the Spark engine left for the rest of the job: counts, shadow problems, where its files are."""

    total: int
    problems: dict[int, str]
    reasons: FeatureSource
    root: str
    scratch: list[str] = field(default_factory=list)

    def finish(self) -> None:
        """Drop the intermediate files (features, exported inputs); selected leads and scores stay."""
        for location in self.scratch:
            remove(location)


def _stage(warehouse: Warehouse, location: str, table: str, run_id: str, extra: Mapping[str, Any]) -> None:
    """Load one of Spark's Parquet outputs into a warehouse table, batch by batch, with the run's columns."""
    with warehouse.transaction():
        for data in batches(location):
            n = data.num_rows
            data = data.add_column(0, "run_id", pa.repeat(pa.scalar(run_id, pa.string()), n))
            for name, value in extra.items():
                data = data.append_column(
                    name, pa.repeat(value if isinstance(value, pa.Scalar) else pa.scalar(value), n)
                )
            warehouse.insert(table, data)


def _coverage(frame: Any, tally: CoverageTally, total: int) -> None:
    """The champion's `other`/missing counts per categorical column, aggregated on Spark (one row back)."""
    from pyspark.sql import functions as F

    names = [c for c in tally.columns if c in frame.columns]
    tally.rows += total
    if not names:
        return
    aggs = []
    for name in names:
        aggs.append(F.sum(F.when(F.col(name) == OTHER, 1).otherwise(0)).alias(f"o_{name}"))
        aggs.append(F.sum(F.when(F.col(name).isNull(), 1).otherwise(0)).alias(f"m_{name}"))
    row = frame.agg(*aggs).first()
    for name in names:
        tally.other[name] = tally.other.get(name, 0) + int(row[f"o_{name}"] or 0)
        tally.missing[name] = tally.missing.get(name, 0) + int(row[f"m_{name}"] or 0)


def stage_routing_facts(
    spark: Any,
    warehouse: Warehouse,
    location: str,
    run_id: str,
    as_of: datetime,
    sales_types: Sequence[str],
    previous_run: str | None,
    tables: Mapping[str, str],
) -> None:
    """Each selected lead's routing facts computed on Spark from its tables, staged as score_run_facts.

    Who was with Sales (the previous run's queue: capacity-bounded) is the one thing the warehouse hands over."""
    before = warehouse.arrow(
        f"SELECT CAST(lead_id AS VARCHAR) AS lead_id, routed_at FROM ({PREV_SALES_SQL}) p",
        prev_sales_params(previous_run),
    )
    before = before.cast(pa.schema([("lead_id", pa.string()), ("routed_at", pa.timestamp("us"))]))
    spark.createDataFrame(before, schema="lead_id string, routed_at timestamp_ntz").createOrReplaceTempView(
        "prev_sales"
    )
    text = routing_facts_sql(as_of, sales_types)
    _sql(spark, text, "routing's facts (owner, created_at, activity, Sales touch)", tables).write.mode(
        "overwrite"
    ).parquet(location)
    _stage(warehouse, location, "score_run_facts", run_id, {})


def run_on_spark(
    warehouse: Warehouse,
    features: Mapping[int, FeatureSource],
    *,
    run_id: str,
    as_of: datetime,
    champion: ModelRef,
    challengers: list[ModelRef],
    all_reasons: bool,
    top_n: int,
    spec: SparkSpec,
    workspace: Path,
    sales_types: Sequence[str] = (),
    previous_run: str | None = None,
    progress: Progress | None = None,
    tally: CoverageTally | None = None,
) -> SparkRun:
    """Select, build features and score tonight's open leads on Spark; stage selection, routing facts and scores.

    Each model scores the features of its own fitted spec; models sharing a spec share its Parquet. Routing's
    facts per lead (owner, age, latest activity and Sales touch) come from the same tables (score_run_facts),
    so a run whose canonical tables live only in the lake routes without the warehouse's leads/activities."""
    champion_spec = _spec_of(features[champion.version])
    if champion_spec is None:
        raise JobError(
            f"engine 'spark' computes features from model version {champion.version}'s fitted feature spec; "
            "this run was given a custom feature source without one",
            hint="score with `leadops score --engine duckdb`, or with a model bundle that carries its feature spec",
        )
    spark = session(spec)
    root = f"{output_root(spec, workspace)}/{run_id}"
    remove(root)  # whatever an interrupted attempt left
    tables = register_tables(spark, spec, warehouse, root)
    scratch = [f"{root}/input"]

    selected_at = f"{root}/selected"
    _sql(spark, open_leads_sql(as_of), "selecting the open leads", tables).write.mode("overwrite").parquet(selected_at)
    selected = spark.read.parquet(selected_at)
    selected.createOrReplaceTempView("run_leads")
    total = int(selected.count())
    _stage(warehouse, selected_at, "score_run_leads", run_id, {"chunk": pa.scalar(0, pa.int32())})
    facts_at = f"{root}/routing_facts"
    stage_routing_facts(spark, warehouse, facts_at, run_id, as_of, sales_types, previous_run, tables)
    scratch.append(facts_at)
    checkpoint("spark: open leads selected")
    if progress is not None:
        progress("score", 0, total)

    written: dict[str, str] = {}  # fitted-spec hash -> its features' Parquet

    def features_of(ref: ModelRef) -> tuple[Any, FeaturesSpec]:
        fitted = _spec_of(features[ref.version])
        if fitted is None:
            raise JobError(f"model version {ref.version} has no fitted feature spec for Spark to compute")
        key = hashlib.sha256(fitted.model_dump_json().encode()).hexdigest()[:12]
        if key not in written:
            at = f"{root}/features-{key}"
            try:
                spark_features(spark, fitted, as_of, "run_leads").write.mode("overwrite").parquet(at)
            except Exception as exc:
                where = ", ".join(f"{t}={u}" for t, u in tables.items())
                raise SparkInputError(
                    f"the feature query of model version {ref.version} failed on Spark over {where}: {first_line(exc)}",
                    hint="check that each table in scoring.spark.tables has the canonical columns (docs/CONTRACTS.md)",
                ) from exc
            written[key] = at
            scratch.append(at)
        frame = spark.read.parquet(written[key])
        check_features(ref, [c for c in frame.columns if c != "lead_id"], _dtypes(frame))
        return frame, fitted

    frame, _ = features_of(champion)
    champion_at = written[next(iter(written))]
    checkpoint("spark: features written")
    if tally is not None:
        _coverage(frame.select(*[c for c in champion.feature_names if c in frame.columns]), tally, total)
    scores_at = f"{root}/scores"
    shipped = ship_bundle(spark, champion)
    fn = _scorer_fn(champion, shipped, champion_spec, all_reasons, top_n, shadow=False)
    frame.mapInArrow(fn, _spark_schema(STAGE_SCHEMA)).write.mode("overwrite").parquet(scores_at)
    check_all_scored(selected, spark.read.parquet(scores_at), version=champion.version, total=total, where=scores_at)
    _stage(warehouse, scores_at, "score_stage", run_id, {})
    checkpoint("spark: scores staged")

    problems: dict[int, str] = {}
    for ref in challengers:
        shadow_at = f"{root}/shadow-v{ref.version}"
        try:
            own, own_spec = features_of(ref)
            fn = _scorer_fn(ref, ship_bundle(spark, ref), own_spec, False, top_n, shadow=True)
            own.mapInArrow(fn, _spark_schema(SHADOW_SCHEMA)).write.mode("overwrite").parquet(shadow_at)
            check_all_scored(selected, spark.read.parquet(shadow_at), version=ref.version, total=total, where=shadow_at)
        except Exception as exc:  # a broken challenger never stops the champion's run
            problems[ref.version] = f"challenger v{ref.version}: {first_line(exc)}"
            continue
        _stage(warehouse, shadow_at, "shadow_scores", run_id, {})
    if progress is not None:
        progress("score", total, total)
    return SparkRun(total, problems, SparkFeatureRows(spark, champion_at, champion_spec), root, scratch)


def write_queues(warehouse: Warehouse, run_id: str, root: str) -> dict[str, str]:
    """The published run's Sales and nurture queues as Parquet beside its scores; returns queue -> location."""
    from leadops.features.sql import ql
    from leadops.jobs.engines.spark_tables import local_scratch

    out: dict[str, str] = {}
    scratch = local_scratch()
    try:
        for queue in ("sales_queue", "nurture_queue"):
            local = scratch / f"{queue}.parquet"
            warehouse.copy_to(f"SELECT * FROM {queue} WHERE run_id = {ql(run_id)}", local, "parquet")
            target = f"{root}/{queue}.parquet"
            put_file(local, target)
            out[queue] = target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out
