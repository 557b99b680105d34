"""The cluster engine: the same features (as Parquet) scored by the same artifact on Spark executors.

Features are built chunk by chunk with the same FeatureSource as the DuckDB engine and written as Parquet;
Spark scores them with mapInPandas, each executor loading the artifact from its plain files (no pickle), and
writes the score rows as Parquet, which the job stages into the warehouse before routing as usual.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadops.jobs import select
from leadops.jobs.checkpoints import checkpoint
from leadops.jobs.coverage import CoverageTally
from leadops.jobs.errors import EngineUnavailableError
from leadops.jobs.inputs import FeatureSource
from leadops.jobs.model import ModelRef, ScorerLike, check_features, load_model
from leadops.jobs.scoring import SHADOW_SCHEMA, STAGE_SCHEMA, model_matrix, score_chunk, shadow_chunk
from leadops.settings.jobs import SparkSpec
from leadops.warehouse import Warehouse

Progress = Callable[[str, int, int], None]
_SESSIONS: dict[str, Any] = {}


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
    """A SparkSession for `spec.master` (cached per master); workers run this virtualenv's python."""
    problem = spark_available()
    if problem:
        raise EngineUnavailableError(f"engine 'spark' cannot start: {problem}")
    if spec.master in _SESSIONS:
        return _SESSIONS[spec.master]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    extra_path = os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())
    os.environ["PYTHONPATH"] = extra_path
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(spec.master)
        .appName(spec.app_name)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.executorEnv.PYTHONPATH", extra_path)
    )
    for key, value in spec.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _SESSIONS[spec.master] = spark
    return spark


def stop_sessions() -> None:
    """Stop every cached session (end of a test session or a long-running scheduler)."""
    for spark in _SESSIONS.values():
        spark.stop()
    _SESSIONS.clear()


def _spark_schema(schema: pa.Schema) -> str:
    kinds = {pa.string(): "string", pa.float64(): "double", pa.int32(): "int"}
    return ", ".join(f"{f.name} {kinds[f.type]}" for f in schema)


def _scorer_fn(
    ref: ModelRef, all_reasons: bool, top_n: int
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = load_model(ref)  # once per partition, from the artifact's plain files
        for batch in batches:
            X = batch.set_index("lead_id")
            yield score_chunk(model, ref, X, with_reasons=all_reasons, top_n=top_n).to_pandas()

    return score_batches


def _shadow_fn(ref: ModelRef) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = load_model(ref)
        for batch in batches:
            yield shadow_chunk(model, ref, batch.set_index("lead_id")).to_pandas()

    return score_batches


def write_feature_parquet(
    warehouse: Warehouse,
    features: FeatureSource,
    *,
    run_id: str,
    as_of: datetime,
    champion: ModelRef,
    out: Path,
    total: int,
    progress: Progress | None,
    tally: CoverageTally | None = None,
) -> list[str]:
    """One model's features tonight, chunk by chunk, as Parquet parts (what the executors read); returns the
    columns. `champion` is the model whose rows these are (checked against its manifest)."""
    out.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    done = 0
    for chunk in range(select.chunk_count(warehouse, run_id)):
        ids = select.chunk_lead_ids(warehouse, run_id, chunk)
        X = features.build(as_of, ids)
        check_features(champion, list(X.columns), {c: str(t) for c, t in X.dtypes.items()})
        if tally is not None:
            tally.add(model_matrix(champion, X))
        columns = list(X.columns)
        pq.write_table(pa.Table.from_pandas(X.reset_index(), preserve_index=False), out / f"part-{chunk:05d}.parquet")
        done += len(ids)
        if progress is not None:
            progress("features", done, total)
    return columns


def _stage_parquet(warehouse: Warehouse, run_id: str, directory: Path, table: str) -> None:
    """Load Spark's output Parquet into a staging table, batch by batch (flat memory)."""
    files = sorted(directory.glob("*.parquet"))
    for file in files:
        reader = pq.ParquetFile(file)
        for batch in reader.iter_batches(batch_size=200_000):
            data = pa.Table.from_batches([batch])
            data = data.add_column(0, "run_id", pa.array([run_id] * data.num_rows, pa.string()))
            warehouse.insert(table, data)


def score_chunks(
    warehouse: Warehouse,
    features: Mapping[int, FeatureSource],
    *,
    run_id: str,
    as_of: datetime,
    champion: ModelRef,
    challengers: list[ModelRef],
    all_reasons: bool,
    top_n: int,
    total: int,
    spec: SparkSpec,
    workdir: Path,
    progress: Progress | None = None,
    champion_model: ScorerLike | None = None,
    tally: CoverageTally | None = None,
) -> dict[int, str]:
    """Score the run's open leads on Spark; stage the results like the DuckDB engine does.

    Each model reads the Parquet of its own feature source; models sharing a source share its files."""
    spark = session(spec)
    if workdir.exists():
        shutil.rmtree(workdir)  # whatever an interrupted attempt left
    feature_dir = workdir / "features"
    write_feature_parquet(
        warehouse,
        features[champion.version],
        run_id=run_id,
        as_of=as_of,
        champion=champion,
        out=feature_dir,
        total=total,
        progress=progress,
        tally=tally,
    )
    dirs: dict[int, Path] = {id(features[champion.version]): feature_dir}
    checkpoint("spark: features written")
    problems: dict[int, str] = {}
    if total:
        frame = spark.read.parquet(str(feature_dir))
        scores_dir = workdir / "scores"
        frame.mapInPandas(_scorer_fn(champion, all_reasons, top_n), _spark_schema(STAGE_SCHEMA)).write.mode(
            "overwrite"
        ).parquet(str(scores_dir))
        with warehouse.transaction():
            _stage_parquet(warehouse, run_id, scores_dir, "score_stage")
        for ref in challengers:
            shadow_dir = workdir / f"shadow-v{ref.version}"
            try:
                source = features[ref.version]
                if id(source) not in dirs:
                    dirs[id(source)] = workdir / f"features-v{ref.version}"
                    write_feature_parquet(
                        warehouse,
                        source,
                        run_id=run_id,
                        as_of=as_of,
                        champion=ref,
                        out=dirs[id(source)],
                        total=total,
                        progress=None,
                    )
                own = spark.read.parquet(str(dirs[id(source)]))
                check_features(ref, [c for c in own.columns if c != "lead_id"])
                own.mapInPandas(_shadow_fn(ref), _spark_schema(SHADOW_SCHEMA)).write.mode("overwrite").parquet(
                    str(shadow_dir)
                )
            except Exception as exc:  # a broken challenger never stops the champion's run
                problems[ref.version] = f"challenger v{ref.version}: {str(exc).splitlines()[0]}"
                continue
            with warehouse.transaction():
                _stage_parquet(warehouse, run_id, shadow_dir, "shadow_scores")
    if progress is not None:
        progress("score", total, total)
    checkpoint("spark: scores staged")
    shutil.rmtree(workdir, ignore_errors=True)
    return problems
