"""Feature build speed and memory: leadops' one-pass SQL vs one hand-written DuckDB query (the engine's own
limit), vs a straightforward pandas groupby version, and the same build on PostgreSQL vs on DuckDB.

Synthetic data (1M leads, ~20M activities; quick: 100k / ~2M) is written straight into a DuckDB file (and, when
LEADOPS_BENCH_PG_URL or LEADOPS_TEST_PG_URL names a server, copied into a scratch PostgreSQL schema); each
implementation runs in its own subprocess (timing from opening the warehouse to a finished feature table, peak
RSS from /proc VmHWM) on the fictional company's feature spec (src/leadops/templates/features.yaml). The runs are
interleaved (ours, hand, pandas, ours, hand, ...) and each figure is the best of its rounds; every output is
compared with ours row by row, so a baseline that computes something else shows up in the note.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from leadops.simulate.activities import ACTIVITY_TYPES

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "src" / "leadops" / "templates" / "features.yaml"
HAND_SQL = Path(__file__).resolve().parent / "features_hand.sql"
PG_ENV = ("LEADOPS_BENCH_PG_URL", "LEADOPS_TEST_PG_URL")
AS_OF = datetime(2026, 1, 15, 6, 0, 0)
TYPES = list(ACTIVITY_TYPES)  # the canonical activity types, as the simulator writes them
WEIGHTS = [30, 10, 25, 5, 2, 6, 3, 2, 1, 1, 2, 2, 4, 3, 1, 3]


def _spec() -> Any:
    import yaml

    from leadops.settings.features import FeaturesSpec

    return FeaturesSpec.model_validate(yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))["features"])


def make_data(path: Path, leads: int, acts_per_lead: int) -> int:
    """Write accounts, leads and activities into a fresh DuckDB file; return the activity count."""
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE MACRO h(a, b) AS CAST(hash(a, b) >> 1 AS BIGINT)")  # hash() is UBIGINT
    n_acc = max(1, leads // 5)
    cum = [sum(WEIGHTS[: i + 1]) for i in range(len(WEIGHTS))]
    case = " ".join(f"WHEN r < {c} THEN '{t}'" for c, t in zip(cum, TYPES, strict=True))
    con.execute(f"""
      CREATE TABLE accounts AS SELECT 'A' || i AS account_id, 'acct ' || i AS name,
        (['software','retail','healthcare','education','energy'])[1 + h(i, 1) % 5] AS industry,
        CAST(1 + h(i, 2) % 5000 AS INTEGER) AS employees,
        CAST(h(i, 3) % 100000000 AS DOUBLE) AS annual_revenue,
        'US' AS country, (['na','emea','apac'])[1 + h(i, 4) % 3] AS region,
        h(i, 5) % 2 = 0 AS profitable_last_quarter, h(i, 6) % 50 = 0 AS is_competitor,
        NULL::JSON AS attributes, NULL::VARCHAR AS ingest_run_id
      FROM range({n_acc}) t(i)""")
    con.execute(f"""
      CREATE TABLE leads AS SELECT 'L' || lpad(CAST(i AS VARCHAR), 8, '0') AS lead_id,
        'A' || (h(i, 7) % {n_acc}) AS account_id,
        TIMESTAMP '2025-01-01' + to_microseconds(CAST(h(i, 8) % 31536000000000 AS BIGINT)) AS created_at,
        NULL::VARCHAR AS email,
        (['corporate','free','edu','gov','unknown'])[1 + h(i, 9) % 5] AS email_domain_type,
        (['student','individual_contributor','manager','director','vp','c_level'])[1 + h(i, 10) % 6]
          AS job_level,
        (['sales','marketing','it','finance','hr','ops','legal','eng'])[1 + h(i, 11) % 8] AS department,
        'US' AS country, (['na','emea','apac'])[1 + h(i, 12) % 3] AS region,
        (['organic_search','paid_search','webinar','referral','partner','demo_form'])[1 + h(i, 13) % 6]
          AS lead_source,
        h(i, 14) % 10 = 0 AS do_not_email, h(i, 15) % 20 = 0 AS do_not_call,
        NULL::JSON AS attributes, NULL::VARCHAR AS ingest_run_id
      FROM range({leads}) t(i)""")
    con.execute(f"""
      CREATE TABLE activities AS SELECT 'X' || j AS activity_id,
        'L' || lpad(CAST(h(j, 20) % {leads} AS VARCHAR), 8, '0') AS lead_id,
        TIMESTAMP '2025-01-01' + to_microseconds(CAST(h(j, 21) % 34560000000000 AS BIGINT)) AS occurred_at,
        CASE {case} ELSE 'email_open' END AS activity_type, NULL::VARCHAR AS channel,
        CAST(h(j, 23) % 1000 AS DOUBLE) / 100 AS value, NULL::VARCHAR AS ingest_run_id
      FROM (SELECT j, h(j, 22) % {cum[-1]} AS r FROM range({leads * acts_per_lead}) t(j))""")
    con.execute(
        "CREATE TABLE outcomes (outcome_id VARCHAR, lead_id VARCHAR, occurred_at TIMESTAMP, "
        "outcome VARCHAR, deal_value DOUBLE, ingest_run_id VARCHAR)"
    )
    count = int(con.execute("SELECT count(*) FROM activities").fetchall()[0][0])
    con.close()
    return count


# ---------------------------------------------------------------------------------------------- children
def run_ours(db: str, out: str) -> float:
    """leadops' set-based path; returns seconds (result written to `out` after the clock stops)."""
    import time

    import pyarrow.parquet as pq

    from leadops.features.build import build_features
    from leadops.warehouse import Warehouse

    spec = _spec()
    started = time.perf_counter()
    postgres = db.startswith("postgresql://")
    wh = Warehouse(db if postgres else f"duckdb:///{db}", read_only=not postgres)
    if not postgres:
        wh.execute("SET enable_progress_bar = false")
    table = build_features(spec, wh, as_of=AS_OF)
    seconds = time.perf_counter() - started
    wh.close()
    pq.write_table(table, out)  # type: ignore[arg-type]
    return seconds


def run_hand(db: str, out: str) -> float:
    """The hand-written DuckDB query (benchmarks/features_hand.sql) straight on DuckDB's own API."""
    import time

    import duckdb
    import pyarrow.parquet as pq

    sql = HAND_SQL.read_text(encoding="utf-8").replace("{as_of}", f"TIMESTAMP '{AS_OF.isoformat(sep=' ')}'")
    started = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    con.execute("SET enable_progress_bar = false")
    table = con.sql(sql).to_arrow_table()
    seconds = time.perf_counter() - started
    con.close()
    pq.write_table(table, out)
    return seconds


def _vector(node: Any, cols: dict[str, Any]) -> Any:
    """Evaluate a derived expression on pandas columns (the baseline's own, vectorised)."""
    import numpy as np

    op = node.op
    if op == "num":
        return node.value
    if op == "ref":
        return cols[node.name]
    a = [_vector(x, cols) for x in node.args]
    if op == "neg":
        return -a[0]
    if op in ("+", "-", "*"):
        return {"+": a[0] + a[1], "-": a[0] - a[1], "*": a[0] * a[1]}[op]
    if op == "/":
        return a[0] / a[1].where(a[1] != 0) if hasattr(a[1], "where") else a[0] / a[1]
    if op in ("<", "<=", ">", ">=", "==", "!="):
        res = {
            "<": a[0] < a[1],
            "<=": a[0] <= a[1],
            ">": a[0] > a[1],
            ">=": a[0] >= a[1],
            "==": a[0] == a[1],
            "!=": a[0] != a[1],
        }[op]
        return res.astype("float64")
    if op in ("min", "max"):
        import pandas as pd

        frame = pd.concat([x if hasattr(x, "index") else pd.Series(x, index=a[0].index) for x in a], axis=1)
        return frame.min(axis=1, skipna=False) if op == "min" else frame.max(axis=1, skipna=False)
    if op == "log1p":
        return np.log1p(a[0].where(a[0] > -1))
    return a[0].abs()


def run_pandas(db: str, out: str) -> float:
    """The same features with pandas: load the tables, filter, groupby per feature."""
    import time

    import duckdb
    import numpy as np
    import pandas as pd

    from leadops.settings.features import ActivityFeature, AttributeFeature, BuiltinFeature, DerivedFeature

    spec = _spec()
    started = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    leads = con.sql("SELECT * FROM leads").df()
    accounts = con.sql("SELECT * FROM accounts").df()
    acts = con.sql("SELECT lead_id, occurred_at, activity_type, value FROM activities").df()
    as_of = pd.Timestamp(AS_OF)
    leads = leads[leads["created_at"].isna() | (leads["created_at"] <= as_of)]
    frame = leads.merge(accounts.add_prefix("acct_"), left_on="account_id", right_on="acct_account_id", how="left")
    frame = frame.set_index("lead_id").sort_index()
    acts = acts[acts["occurred_at"] <= as_of]
    age = (as_of - acts["occurred_at"]).dt.total_seconds() / 86400.0
    out_cols: dict[str, Any] = {}
    for f in spec.definitions:
        if isinstance(f, AttributeFeature):
            col = f.column if f.source == "lead" else f"acct_{f.column}"
            values = frame[col]
            if f.type == "categorical":
                if f.categories is not None and spec.policy(f) == "other":
                    values = values.where(values.isna() | values.isin(f.categories), "other")
                out_cols[f.name] = values.astype("str")
            else:
                out_cols[f.name] = values.astype("float64")
        elif isinstance(f, BuiltinFeature):
            out_cols[f.name] = (as_of - frame["created_at"]).dt.total_seconds() / 86400.0
        elif isinstance(f, ActivityFeature):
            mask = np.ones(len(acts), dtype=bool)
            if f.types:
                mask &= acts["activity_type"].isin(f.types).to_numpy()
            if f.window_days is not None:
                mask &= (age < f.window_days).to_numpy()
            sub = acts[mask]
            groups = sub.groupby("lead_id")
            if f.agg in ("count", "exists"):
                s = groups.size().reindex(frame.index, fill_value=0).astype("float64")
                out_cols[f.name] = s if f.agg == "count" else (s > 0).astype("float64")
            elif f.agg == "recency":
                out_cols[f.name] = age[mask].groupby(sub["lead_id"]).min().reindex(frame.index)
            elif f.agg == "decayed_sum":
                w = np.power(0.5, age[mask] / (f.half_life_days or 1.0))
                out_cols[f.name] = w.groupby(sub["lead_id"]).sum().reindex(frame.index, fill_value=0.0)
            else:
                out_cols[f.name] = sub["value"].groupby(sub["lead_id"]).sum().reindex(frame.index, fill_value=0.0)
    for d in spec.derived_order():
        out_cols[d.name] = _vector(d.tree(), out_cols)
    result = pd.DataFrame({n: out_cols[n] for n in spec.names() if not isinstance(n, DerivedFeature)})
    result.index.name = "lead_id"
    result = result.reset_index()
    seconds = time.perf_counter() - started
    result.to_parquet(out)
    return seconds


def _child(role: str, db: str, out: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, role, db, out], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{role} benchmark failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _pg_url() -> str | None:
    import os

    return next((os.environ[k] for k in PG_ENV if os.environ.get(k)), None)


def copy_to_postgres(db: Path, url: str, schema: str) -> str:
    """The same accounts, leads and activities in a fresh PostgreSQL schema (migrated, COPY, ANALYZE)."""
    import duckdb
    import psycopg

    from leadops.warehouse import open_warehouse

    target = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    open_warehouse(target).close()  # the canonical tables, migrated
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET enable_progress_bar = false")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            for table in ("accounts", "leads", "activities"):
                names = ", ".join(f'"{r[0]}"' for r in con.execute(f"DESCRIBE {table}").fetchall())
                csv = Path(db).with_suffix(f".{table}.csv")
                con.execute(f"COPY (SELECT {names} FROM {table}) TO '{csv}' (FORMAT csv, HEADER false)")
                sql = f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)"
                with conn.cursor() as cur, cur.copy(sql) as copy, open(csv, "rb") as handle:
                    while block := handle.read(1 << 22):
                        copy.write(block)
                csv.unlink()
                conn.execute(f"ANALYZE {table}")
    finally:
        con.close()
    return target


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _compare(a_path: str, b_path: str) -> tuple[float, int]:
    """Largest relative numeric difference and number of categorical mismatches between the two outputs."""
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(a_path).set_index("lead_id").sort_index()
    b = pd.read_parquet(b_path).set_index("lead_id").sort_index()
    assert list(a.index) == list(b.index), "the two implementations produced different leads"
    worst, bad = 0.0, 0
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]):
            x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
            both = ~(np.isnan(x) | np.isnan(y))
            bad += int((np.isnan(x) != np.isnan(y)).sum())
            if both.any():
                rel = np.abs(x[both] - y[both]) / np.maximum(1.0, np.abs(y[both]))
                worst = max(worst, float(rel.max()))
        else:
            bad += int((a[c].fillna("\x00").astype(str) != b[c].fillna("\x00").astype(str)).sum())
    return worst, bad


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest round's seconds and CPU, the largest peak RSS (memory is not luck)."""
    return {
        "seconds": min(r["seconds"] for r in runs),
        "cpu": min(r["cpu"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "all": [round(r["seconds"], 2) for r in runs],
    }


@contextlib.contextmanager
def _server_autogroup() -> Iterator[None]:
    """While PostgreSQL rounds run, give the server's session the autogroup weight this benchmark has: with Linux
    session autogroups on, the bench wrapper's raised autogroup lifts only our process, so PostgreSQL's backends
    (the server's own session) otherwise compete with every other session while DuckDB runs in ours.
    LEADOPS_BENCH_PG_PID names the postmaster (local servers only); unset, nothing changes."""
    pid = os.environ.get("LEADOPS_BENCH_PG_PID")
    if not pid:
        yield
        return
    target = Path(f"/proc/{int(pid)}/autogroup")
    before = target.read_text().split()[-1]
    target.write_text(Path("/proc/self/autogroup").read_text().split()[-1])
    try:
        yield
    finally:
        target.write_text(before)


def _row(name: str, ours: dict[str, Any], base: dict[str, Any], key: str, goal: float, unit: str, note: str,
         digits: int = 3) -> dict[str, Any]:  # fmt: skip
    """One result row: ours and the baseline's `key`, ratio baseline / ours (above 1: ours is faster or smaller)."""
    return {"name": name, "ours": round(ours[key], digits), "baseline": round(base[key], digits),
            "ratio": round(base[key] / ours[key], 2), "goal": goal, "unit": unit, "note": note}  # fmt: skip


def run(quick: bool) -> list[dict[str, Any]]:
    """Time every implementation on the same synthetic warehouse, interleaved, best of N rounds.

    LEADOPS_BENCH_FEATURES_PARTS: which of duckdb (ours vs hand-written), pandas, postgres to run (default all;
    each part fits one bench lock at 1M); LEADOPS_BENCH_FEATURES_DATA: a folder keeping the DuckDB file and the
    PostgreSQL schema between calls (made once)."""
    leads = 100_000 if quick else 1_000_000
    per_lead = 20
    rounds = 3
    pandas_rounds = 3 if quick else 2
    url = _pg_url()
    parts = set(os.environ.get("LEADOPS_BENCH_FEATURES_PARTS", "duckdb,pandas,postgres").split(","))
    keep = os.environ.get("LEADOPS_BENCH_FEATURES_DATA")
    with tempfile.TemporaryDirectory(prefix="bench_features_") as tmp:
        home = Path(keep or tmp) / f"{leads // 1000}k"
        home.mkdir(parents=True, exist_ok=True)
        db = str(home / "bench.duckdb")
        if not (keep and (home / "made.json").exists()):
            Path(db).unlink(missing_ok=True)
            (home / "made.json").write_text(json.dumps({"activities": make_data(Path(db), leads, per_lead)}))
        n_acts = int(json.loads((home / "made.json").read_text())["activities"])
        out = {r: str(Path(tmp) / f"{r}.parquet") for r in ("ours", "hand", "pandas", "postgres")}
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "hand": [], "pandas": [], "postgres": [], "duck": []}
        for i in range(rounds):
            if "duckdb" in parts or ("pandas" in parts and i < pandas_rounds):
                runs["ours"].append(_child("ours", db, out["ours"]))
            if "duckdb" in parts:
                runs["hand"].append(_child("hand", db, out["hand"]))
            if "pandas" in parts and i < pandas_rounds:
                runs["pandas"].append(_child("pandas", db, out["pandas"]))
        pg_note = "skipped: set LEADOPS_BENCH_PG_URL (or LEADOPS_TEST_PG_URL) to a PostgreSQL server"
        if url is not None and "postgres" in parts:
            schema = f"bench_features_{leads // 1000}k_kept" if keep else f"bench_features_{os.getpid()}"
            try:
                if keep and (home / "postgres.json").exists():
                    target = json.loads((home / "postgres.json").read_text())["target"]
                else:
                    _drop_schema(url, schema)
                    target = copy_to_postgres(Path(db), url, schema)
                    if keep:
                        (home / "postgres.json").write_text(json.dumps({"target": target}))
                with _server_autogroup():
                    for _ in range(2 if not quick else rounds):
                        runs["postgres"].append(_child("ours", target, out["postgres"]))
                        runs["duck"].append(_child("ours", db, out["ours"]))  # interleaved with PostgreSQL's rounds
            finally:
                if not keep:
                    _drop_schema(url, schema)
        checks = {r: _compare(out["ours"], out[r]) for r in ("hand", "pandas", "postgres") if runs[r]}
    best = {r: _best(v) for r, v in runs.items() if v}
    features = len(_spec().names())

    def agree(role: str) -> str:
        worst, bad = checks[role]
        return f"outputs agree with ours: max rel diff {worst:.1e}, {bad} missing/categorical mismatches"

    size = f"{leads:,} leads, {n_acts:,} activities, {features} features"
    tag = f"{leads // 1000}k_leads"
    rows: list[dict[str, Any]] = []
    ours = best.get("ours")
    hand = best.get("hand")
    if ours and hand:
        note = f"{size}; baseline = one hand-written DuckDB query (benchmarks/features_hand.sql); "
        note += f"rounds ours {ours['all']} hand {hand['all']}; {agree('hand')}"
        rows.append(_row(f"features_vs_hand_duckdb_{tag}", ours, hand, "seconds", 0.8, "s", note))
    base = best.get("pandas")
    if ours and base:
        ceiling = f"; the hand-written DuckDB query is {base['seconds'] / hand['seconds']:.2f}x pandas" if hand else ""
        note = f"{size}; baseline = pandas groupby per feature, rounds {base['all']}; {agree('pandas')}{ceiling}"
        rows.append(_row(f"features_build_{tag}", ours, base, "seconds", 10.0, "s", note))
        note = "user+sys CPU of each whole subprocess (imports and output write included); wall-clock ratios shrink"
        note += " on a shared host where DuckDB's threads wait for cores" + (
            f"; hand: {hand['cpu']:.2f}" if hand else ""
        )
        rows.append(_row(f"features_cpu_{tag}", ours, base, "cpu", 10.0, "cpu s", note, 2))
        note = "peak RSS of each subprocess (VmHWM: getrusage's maxrss keeps the parent's across exec)"
        note += f"; hand-written: {hand['peak_mb']:.1f}" if hand else ""
        rows.append(_row(f"features_peak_rss_{tag}", ours, base, "peak_mb", 1.0, "MB", note, 1))
    if "postgres" in best:
        pg, duck = best["postgres"], best["duck"]
        note = f"{size}; leadops' build on PostgreSQL (ours) vs on DuckDB (baseline), rounds {pg['all']} vs "
        note += f"{duck['all']}; goal: within 3x of DuckDB; {agree('postgres')}"
        rows.append(_row(f"features_postgres_vs_duckdb_{tag}", pg, duck, "seconds", round(1 / 3, 2), "s", note))
    else:
        rows.append({"name": f"features_postgres_vs_duckdb_{tag}", "note": pg_note})
    return rows


if __name__ == "__main__":
    import resource

    role, db_path, out_path = sys.argv[1:4]
    secs = {"ours": run_ours, "hand": run_hand, "pandas": run_pandas}[role](db_path, out_path)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if not math.isfinite(secs):
        sys.exit(1)
    cpu = usage.ru_utime + usage.ru_stime
    with open("/proc/self/status") as status:  # VmHWM: this process's own peak, whatever its parent held
        peak_mb = int(next(ln.split()[1] for ln in status if ln.startswith("VmHWM:"))) / 1024
    sys.stdout.write(json.dumps({"seconds": secs, "peak_mb": peak_mb, "cpu": cpu}) + "\n")
