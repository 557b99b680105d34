"""Online scoring over HTTP: `leadops serve` vs `mlflow models serve` of the same LightGBM vs a FastAPI hello.

One run, three real server processes side by side, load from separate processes:
- leadops `POST /v1/score` with one lead given as raw attributes + activities (features computed by the
  server, reasons included), on a workspace prepared here (simulate, ingest, train `predictive` with ~100
  trees, promote), served by `leadops serve`;
- `mlflow models serve` of the same LightGBM booster (the bundle's model.txt saved with mlflow.lightgbm), fed
  the same lead's feature row, from full MLflow in its own virtual environment (cached under
  ~/.cache/leadops-bench/: full MLflow downgrades pyarrow, so never in ours);
- a FastAPI hello endpoint under uvicorn (the floor of the Python HTTP stack), posted the same body.
wrk measures p50/p99 at 1 connection and requests/s at 16 connections, the three interleaved, best of N rounds;
then a fixed-rate (open-loop) run at 80 % of leadops' measured capacity by benchmarks.serving_load.
Without wrk on PATH the rows say so and are skipped. run(quick) returns rows; it prints nothing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from leadops.errors import LeadOpsError

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("LEADOPS_BENCH_CACHE", str(Path.home() / ".cache" / "leadops-bench")))
MLFLOW_SPEC = "mlflow==3.17.2"  # the newest full release that resolves (../shared/design/STACK-NOTES.md)
# ~100 trees: 100 rounds at a learning rate slow enough that early stopping keeps (nearly) all of them
MODEL_ENV = {
    "LEADOPS_MODELS__PREDICTIVE__N_ESTIMATORS": "100",
    "LEADOPS_MODELS__PREDICTIVE__LEARNING_RATE": "0.03",
    "LEADOPS_MODELS__PREDICTIVE__EARLY_STOPPING_ROUNDS": "100",
}
# the uvicorn stack `leadops serve` runs (serving/runner.py), so the floor is the floor of *its* stack
HELLO_STACK = ["--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning"]
# the same stack for `mlflow models serve`, whose uvicorn reads UVICORN_* (without it: asyncio, h11, access log)
MLFLOW_STACK_ENV = {
    "UVICORN_HTTP": "httptools",
    "UVICORN_LOOP": "uvloop",
    "UVICORN_ACCESS_LOG": "false",
    "UVICORN_LOG_LEVEL": "warning",
}
WORKERS_ENV = "LEADOPS_BENCH_SERVING_WORKERS"  # worker processes of each of the three servers (default 1)
P99_GOAL_MS = 2.0
MLFLOW_GOAL = 20.0
HELLO_GOAL = 0.5
FIXED_SHARE = 0.8
HELLO_APP = '''"""The floor of the Python HTTP stack: FastAPI under uvicorn answering a constant (body unread)."""
from fastapi import FastAPI

app = FastAPI()


@app.post("/hello")
async def hello() -> dict[str, bool]:
    return {"ok": True}


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}
'''
SAVE_MLFLOW_MODEL = """
import sys, json
import lightgbm as lgb, pandas as pd, mlflow.lightgbm
from mlflow.models import infer_signature
booster = lgb.Booster(model_file=sys.argv[1])
columns = json.loads(sys.argv[3])
example = pd.DataFrame([[0.0] * len(columns)], columns=columns, dtype="float64")
mlflow.lightgbm.save_model(booster, sys.argv[2], signature=infer_signature(example, booster.predict(example)))
"""


class ServingBenchError(LeadOpsError):
    """A server of the serving benchmark failed to install, start or answer as expected."""


@dataclass(frozen=True)
class Target:
    """One running server and the request wrk sends it."""

    name: str
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Figures:
    """The best of N rounds for one target: latency at 1 connection, throughput at 16."""

    p50_ms: float
    p99_ms: float
    rps: float
    errors: int


def load_now() -> str:
    """The machine load (`uptime`'s three averages): every figure is reported with it."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------ the workspace


def prepare_workspace(ws: Path, leads: int) -> Any:
    """init -> simulate -> ingest -> train `predictive` (~100 trees) -> promote it champion; the settings."""
    from leadops import config
    from leadops.crm import ingest
    from leadops.modeling.review import promote_ref
    from leadops.modeling.train import train_model
    from leadops.simulate import simulate
    from leadops.warehouse import open_warehouse
    from leadops.workspace import init_workspace

    init_workspace(ws)
    settings = config.load(ws, environ=MODEL_ENV)
    simulate(ws, scenario="baseline", leads=leads, seed=42, sales_capacity=settings.business.declared_capacity())
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ingest(settings, wh)
        trained = train_model(settings, wh, "predictive")
        promote_ref(settings, wh, str(trained.version), first_champion="bench_serving: the served model")
    return settings


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _json_object(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


def sample_lead(settings: Any) -> tuple[dict[str, Any], datetime]:
    """The newest open lead with 15-30 activities, as the CRM would post it (raw fields, account, activities)."""
    from leadops.demo import simulation_end
    from leadops.warehouse import open_warehouse

    lead_cols = [
        "lead_id",
        "account_id",
        "created_at",
        "email_domain_type",
        "job_level",
        "department",
        "country",
        "region",
        "lead_source",
        "do_not_email",
        "do_not_call",
        "attributes",
    ]
    account_cols = ["account_id", "name", "industry", "employees", "annual_revenue", "country", "region"]
    account_cols += ["profitable_last_quarter", "is_competitor", "attributes"]
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        pick = wh.rows(
            "SELECT a.lead_id FROM activities a JOIN leads l USING (lead_id) "
            "WHERE a.lead_id NOT IN (SELECT lead_id FROM outcomes) GROUP BY a.lead_id, l.created_at "
            "HAVING count(*) BETWEEN 15 AND 30 ORDER BY l.created_at DESC, a.lead_id LIMIT 1"
        )
        if not pick:
            raise ServingBenchError("bench_serving: the simulated warehouse has no open lead with activities")
        lead_id = str(pick[0][0])
        row = wh.rows(f"SELECT {', '.join(lead_cols)} FROM leads WHERE lead_id = ?", [lead_id])[0]
        lead = {k: _iso(v) for k, v in zip(lead_cols, row, strict=True)}
        lead["attributes"] = _json_object(lead["attributes"])
        acc = wh.rows(f"SELECT {', '.join(account_cols)} FROM accounts WHERE account_id = ?", [lead["account_id"]])
        if acc:
            account = dict(zip(account_cols, acc[0], strict=True))
            account["attributes"] = _json_object(account["attributes"])
            lead["account"] = account
        acts = wh.rows(
            "SELECT activity_type, occurred_at, channel, value, properties FROM activities "
            "WHERE lead_id = ? ORDER BY occurred_at",
            [lead_id],
        )
    lead["activities"] = [
        {"activity_type": t, "occurred_at": _iso(at), "channel": ch, "value": v, "properties": _json_object(p)}
        for t, at, ch, v, p in acts
    ]
    as_of = max(simulation_end(settings.workspace), datetime.fromisoformat(str(lead["activities"][-1]["occurred_at"])))
    return lead, as_of + timedelta(hours=1)


def feature_row(bundle: Any, lead: Mapping[str, Any], as_of: datetime) -> tuple[list[str], list[float | None]]:
    """The lead's row as the booster reads it (the bundle's single-lead path + the scorer's matrix), NaN as None."""
    frame = bundle.online_row(lead, lead.get("account"), list(lead["activities"]), as_of)
    matrix = bundle.scorer.matrix(frame)
    values = [None if math.isnan(float(x)) else float(x) for x in matrix[0]]
    return list(bundle.scorer.columns_), values


# ------------------------------------------------------------------------------------------ processes


@contextmanager
def server(name: str, argv: list[str], health: str, env: Mapping[str, str], log: Path) -> Iterator[None]:
    """Start a server in its own process group, wait until `health` answers 200, stop that group at exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-1500:]
                raise ServingBenchError(f"bench_serving: {name} exited with {proc.returncode} at start: {tail}")
            try:
                with urllib.request.urlopen(health, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ServingBenchError(f"bench_serving: {name} did not answer {health} within 180 s (log {log})")
            time.sleep(0.25)
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def post(url: str, body: bytes, headers: Mapping[str, str]) -> Any:
    """One POST with urllib; the decoded JSON answer (a non-200 is an error naming the URL and the body)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise ServingBenchError(f"bench_serving: POST {url} answered {exc.code}: {exc.read()[:500]!r}") from exc


def stack_packages() -> list[str]:
    """uvicorn's C parser and event loop at our versions: what every server of the benchmark runs on."""
    return [f"{name}=={installed_version(name)}" for name in ("uvloop", "httptools")]


def ensure_mlflow_venv(cache: Path) -> Path:
    """The python of a virtual environment with full MLflow, our LightGBM and our uvicorn stack, made once."""
    spec = [MLFLOW_SPEC, f"lightgbm=={installed_version('lightgbm')}"]
    venv = cache / "mlflow-venv"
    marker = venv / "leadops-bench-installed.txt"
    python = venv / "bin" / "python"
    if marker.exists() and marker.read_text().split() == spec and python.exists():
        _ensure_stack(python, venv / "leadops-bench-stack.txt")
        return python
    cache.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(venv, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(python), "-m", "pip", "install", "--quiet", *spec],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise ServingBenchError(
                f"bench_serving: making the MLflow environment failed at `{' '.join(step)}`: {done.stderr[-800:]}"
            )
    marker.write_text(" ".join(spec))
    _ensure_stack(python, venv / "leadops-bench-stack.txt")
    return python


def _ensure_stack(python: Path, marker: Path) -> None:
    """uvloop and httptools in the MLflow venv (its uvicorn uses them when told to, see MLFLOW_STACK_ENV)."""
    stack = stack_packages()
    if marker.exists() and marker.read_text().split() == stack:
        return
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *stack], capture_output=True, text=True)
    if done.returncode != 0:
        raise ServingBenchError(
            f"bench_serving: installing {stack} into the MLflow environment failed: {done.stderr[-800:]}"
        )
    marker.write_text(" ".join(stack))


def save_mlflow_model(python: Path, model_txt: Path, columns: list[str], into: Path) -> Path:
    """The bundle's LightGBM text model saved with mlflow.lightgbm (signature: the feature columns, doubles)."""
    done = subprocess.run(
        [str(python), "-c", SAVE_MLFLOW_MODEL, str(model_txt), str(into), json.dumps(columns)],
        capture_output=True,
        text=True,
        env=mlflow_env(python),
    )
    if done.returncode != 0:
        raise ServingBenchError(f"bench_serving: mlflow.lightgbm.save_model failed: {done.stderr[-800:]}")
    return into


def mlflow_env(python: Path) -> dict[str, str]:
    """Our environment with the MLflow venv first on PATH (it execs `uvicorn`), no PYTHONPATH (our tree), and
    uvicorn told to run the stack the other two servers run (`mlflow models serve` has no flags for it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **MLFLOW_STACK_ENV}


# ------------------------------------------------------------------------------------------ measuring


def wrk_script(target: Target) -> str:
    """wrk's Lua: the POST with its body and headers, and a JSON summary line with exact percentiles (us)."""
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in target.headers.items())
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{target.body.decode()}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"{headers}"
        "done = function(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        '  io.write(string.format(\'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
        '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n\', summary.requests, '
        "summary.duration, latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, "
        "e.status, e.timeout))\n"
        "end\n"
    )


def run_wrk(wrk: str, target: Target, script: Path, connections: int, seconds: float) -> dict[str, Any]:
    """One wrk run (1 thread); its summary with requests/s and the error count."""
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), target.url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise ServingBenchError(f"bench_serving: wrk against {target.name} failed: {done.stdout[-400:]}{done.stderr}")
    got: dict[str, Any] = json.loads(line[len("BENCH ") :])
    got["rps"] = got["requests"] / (got["duration_us"] / 1e6)
    got["errors"] = sum(got[k] for k in ("connect", "read", "write", "status", "timeout"))
    return got


def measure(wrk: str, targets: list[Target], tmp: Path, rounds: int, seconds: float) -> dict[str, Figures]:
    """Interleaved rounds (each target at 1 then 16 connections per round); the best figure of each target."""
    scripts = {}
    for t in targets:
        scripts[t.name] = tmp / f"{t.name}.lua"
        scripts[t.name].write_text(wrk_script(t))
        run_wrk(wrk, t, scripts[t.name], 4, 1.0)  # warm-up: imports, first-call caches, connection setup
    seen: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {t.name: [] for t in targets}
    for _ in range(rounds):
        for t in targets:
            one = run_wrk(wrk, t, scripts[t.name], 1, seconds)
            many = run_wrk(wrk, t, scripts[t.name], 16, seconds)
            seen[t.name].append((one, many))
    return {
        name: Figures(
            p50_ms=min(one["p50_us"] for one, _ in runs) / 1000.0,
            p99_ms=min(one["p99_us"] for one, _ in runs) / 1000.0,
            rps=max(many["rps"] for _, many in runs),
            errors=sum(one["errors"] + many["errors"] for one, many in runs),
        )
        for name, runs in seen.items()
    }


def fixed_rate(target: Target, rate: float, seconds: float, tmp: Path) -> dict[str, Any]:
    """An open-loop run at `rate` requests/s from its own process (benchmarks.serving_load); its summary."""
    body = tmp / f"{target.name}.json"
    body.write_bytes(target.body)
    argv = [sys.executable, "-m", "benchmarks.serving_load", "--url", target.url, "--rate", f"{rate:.1f}"]
    argv += ["--seconds", f"{seconds:g}", "--body", str(body)]
    for k, v in target.headers.items():
        argv += ["--header", f"{k}: {v}"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 120)
    if done.returncode != 0:
        raise ServingBenchError(f"bench_serving: the fixed-rate load against {target.name} failed: {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def check_answers(targets: dict[str, Target], bundle: Any, lead: Mapping[str, Any], as_of: datetime) -> str:
    """Each server answers the benchmark's request correctly (the same model); leadops' model version."""
    import numpy as np

    frame = bundle.online_row(lead, lead.get("account"), list(lead["activities"]), as_of)
    expected = float(bundle.scorer.score(frame)["probability"].iloc[0])
    raw = float(bundle.scorer.booster_.predict(bundle.scorer.matrix(frame))[0])
    ours = post(targets["leadops"].url, targets["leadops"].body, targets["leadops"].headers)
    result = ours["results"][0]
    if not np.isclose(result["probability"], expected, rtol=0, atol=1e-9) or not result["reasons"]:
        raise ServingBenchError(
            f"bench_serving: leadops scored lead {lead['lead_id']} {result['probability']!r} with reasons "
            f"{result['reasons']!r}; expected the bundle's own probability {expected!r} and some reasons"
        )
    theirs = post(targets["mlflow"].url, targets["mlflow"].body, targets["mlflow"].headers)
    got = float(np.ravel(theirs["predictions"])[0])
    if not np.isclose(got, raw, rtol=0, atol=1e-9):
        raise ServingBenchError(f"bench_serving: mlflow serve predicted {got!r}; the same booster here gives {raw!r}")
    hello = post(targets["hello"].url, targets["hello"].body, targets["hello"].headers)
    if hello != {"ok": True}:
        raise ServingBenchError(f"bench_serving: the hello endpoint answered {hello!r}, expected {{'ok': True}}")
    return str(result["model_version"])


def web_form_lead(lead: Mapping[str, Any], n: int) -> dict[str, Any]:
    """A new web-form lead shaped like the sample (its fields and account), fresh ids, activities an hour ago."""
    now = datetime.now(UTC).replace(tzinfo=None)
    fields = ("email_domain_type", "job_level", "department", "country", "region", "lead_source")
    body: dict[str, Any] = {k: lead[k] for k in fields if lead.get(k) is not None}
    body["lead_id"] = f"bench-web-{n}-{uuid.uuid4().hex[:8]}"
    if lead.get("account") is not None:
        account = {k: v for k, v in lead["account"].items() if k not in ("attributes",) and v is not None}
        account["account_id"] = f"bench-acct-{n}-{uuid.uuid4().hex[:8]}"
        body["account"] = account
    kinds = [a["activity_type"] for a in lead["activities"]][-5:]
    body["activities"] = [
        {"activity_type": kind, "occurred_at": (now - timedelta(minutes=10 * (len(kinds) - i))).isoformat() + "Z"}
        for i, kind in enumerate(kinds)
    ]
    return body


def intake_latency(target: Target, base: str, lead: Mapping[str, Any], n: int) -> dict[str, float]:
    """POST /v1/leads of n new leads one after another (each its own Idempotency-Key; each answered 201 stored),
    beside POST /v1/score of the same bodies, interleaved: p50/p99 ms of each (urllib, one connection each)."""
    leads, scores = [], []
    for i in range(n):
        body = web_form_lead(lead, i)
        headers = {**target.headers, "Idempotency-Key": f"bench-{body['lead_id']}"}
        started = time.perf_counter()
        answer = post(base + "/v1/leads", json.dumps(body).encode(), headers)
        leads.append(time.perf_counter() - started)
        if answer.get("stored") != "stored":
            raise ServingBenchError(f"bench_serving: POST /v1/leads answered {answer!r}, expected a stored lead")
        started = time.perf_counter()
        post(target.url, json.dumps({"leads": [body]}).encode(), target.headers)
        scores.append(time.perf_counter() - started)

    def pct(xs: list[float], q: float) -> float:
        ordered = sorted(xs)
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000.0

    return {"leads_p50": pct(leads, 0.5), "leads_p99": pct(leads, 0.99), "score_p50": pct(scores, 0.5),
            "score_p99": pct(scores, 0.99), "n": float(n)}  # fmt: skip


def create_key(workspace: Path) -> str:
    """A scorer API key from the CLI (`leadops keys create --role scorer --json`), as a client gets one."""
    argv = [sys.executable, "-m", "leadops.cli", "keys", "create", "--workspace", str(workspace)]
    done = subprocess.run([*argv, "--role", "scorer", "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise ServingBenchError(f"bench_serving: `leadops keys create` failed: {done.stdout}{done.stderr}")
    return str(json.loads(done.stdout)["key"])


def bench_workers() -> int:
    """Worker processes per server from LEADOPS_BENCH_SERVING_WORKERS (1 when unset): the same for all three."""
    raw = os.environ.get(WORKERS_ENV, "1")
    try:
        workers = int(raw)
    except ValueError:
        raise ServingBenchError(f"{WORKERS_ENV}: expected a whole number of workers, got {raw!r}") from None
    if workers < 1:
        raise ServingBenchError(f"{WORKERS_ENV}: expected at least 1 worker, got {workers}")
    return workers


def _skipped(why: str) -> list[dict[str, Any]]:
    return [
        {"name": "serving: leadops vs mlflow serve vs hello", "ours": None, "baseline": None, "ratio": None}
        | {"goal": "", "unit": "", "note": f"skipped: {why}"}
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """Prepare the workspace and the three servers, measure them interleaved, then the fixed-rate run."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return _skipped("wrk is not installed (Debian: `apt-get install -y wrk`); no serving figure measured")
    leads, rounds, seconds, fixed_seconds = (5_000, 3, 5.0, 20.0) if quick else (20_000, 3, 10.0, 60.0)
    workers = bench_workers()
    intake_n = 30 if quick else 100
    mlflow_python = ensure_mlflow_venv(CACHE)
    from leadops.bundle.store import load_bundle
    from leadops.registry.loading import load_artifact_dir
    from leadops.scorers.lightgbm_scorer import LightGBMScorer

    with tempfile.TemporaryDirectory(prefix="bench_serving_") as name, ExitStack() as stack:
        tmp = Path(name)
        settings = prepare_workspace(tmp / "ws", leads)
        lead, as_of = sample_lead(settings)
        bundle_dir = load_artifact_dir(settings, "champion")
        bundle = load_bundle(bundle_dir)
        if not isinstance(bundle.scorer, LightGBMScorer):
            raise ServingBenchError(f"bench_serving: the champion is a {bundle.scorer.scorer_type}, not LightGBM")
        trees = bundle.scorer.booster_.num_trees()
        columns, values = feature_row(bundle, lead, as_of)
        mlflow_model = save_mlflow_model(mlflow_python, bundle_dir / "model.txt", columns, tmp / "mlflow-model")
        key = create_key(settings.workspace)
        (tmp / "bench_hello.py").write_text(HELLO_APP)
        env = {**os.environ, **MODEL_ENV}
        ports = {n: free_port() for n in ("hello", "leadops", "mlflow")}
        base = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
        uvicorn = [sys.executable, "-m", "uvicorn", "bench_hello:app", "--app-dir", str(tmp), "--host", "127.0.0.1"]
        uvicorn += ["--port", str(ports["hello"]), "--workers", str(workers), *HELLO_STACK]
        serve = [sys.executable, "-m", "leadops.cli", "serve", "--workspace", str(settings.workspace)]
        serve += ["--host", "127.0.0.1", "--port", str(ports["leadops"]), "--workers", str(workers)]
        mlflow = [str(mlflow_python.parent / "mlflow"), "models", "serve", "-m", str(mlflow_model), "-h", "127.0.0.1"]
        mlflow += ["-p", str(ports["mlflow"]), "--env-manager", "local", "-w", str(workers)]
        stack.enter_context(server("hello", uvicorn, base["hello"] + "/health", env, tmp / "hello.log"))
        stack.enter_context(server("leadops serve", serve, base["leadops"] + "/health", env, tmp / "leadops.log"))
        stack.enter_context(
            server("mlflow serve", mlflow, base["mlflow"] + "/ping", mlflow_env(mlflow_python), tmp / "mlflow.log")
        )
        body = json.dumps({"leads": [lead], "as_of": as_of.isoformat()}).encode()
        targets = {
            "hello": Target("hello", base["hello"] + "/hello", body, {}),
            "leadops": Target("leadops", base["leadops"] + "/v1/score", body, {"Authorization": f"Bearer {key}"}),
            "mlflow": Target(
                "mlflow",
                base["mlflow"] + "/invocations",
                json.dumps({"dataframe_split": {"columns": columns, "data": [values]}}).encode(),
                {},
            ),
        }
        model_version = check_answers(targets, bundle, lead, as_of)
        load_before = load_now()
        figures = measure(wrk, list(targets.values()), tmp, rounds, seconds)
        load_after = load_now()
        rate = FIXED_SHARE * figures["leadops"].rps
        fixed = fixed_rate(targets["leadops"], rate, fixed_seconds, tmp)
        load_fixed = load_now()
        intake = intake_latency(targets["leadops"], base["leadops"], lead, intake_n)
        load_intake = load_now()
    context = (
        f"{trees} trees, {len(columns)} features, one lead with "
        f"{len(lead['activities'])} activities, model v{model_version}; {workers} worker(s) per server; "
        f"best of {rounds} x {seconds:g} s, "
        f"interleaved; {load_before} -> {load_after}"
    )
    out = rows(figures, fixed, fixed_seconds, context, load_fixed)
    out.append(
        {
            "name": "POST /v1/leads (new lead: contracts, stored, routed) vs POST /v1/score of the same lead, p50",
            "ours": round(intake["leads_p50"], 1),
            "baseline": round(intake["score_p50"], 2),
            "ratio": round(intake["leads_p50"] / intake["score_p50"], 1),
            "goal": "",
            "unit": "ms",
            "note": f"{intake['n']:.0f} leads one at a time, interleaved; p99 /v1/leads {intake['leads_p99']:.1f} ms, "
            f"/v1/score {intake['score_p99']:.2f} ms; ratio = ours / baseline; {load_intake}",
        }
    )
    return out


def rows(
    figures: dict[str, Figures], fixed: dict[str, Any], seconds: float, context: str, load: str
) -> list[dict[str, Any]]:
    """The benchmark's rows: ratios are always 'higher is better for leadops'."""
    ours, ml, hello = figures["leadops"], figures["mlflow"], figures["hello"]
    errors = f"wrk errors: leadops {ours.errors}, mlflow {ml.errors}, hello {hello.errors}"

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    out = [
        {
            "name": "p99 @1 conn: leadops /v1/score vs mlflow serve",
            "ours": ours.p99_ms,
            "baseline": ml.p99_ms,
            "ratio": ml.p99_ms / ours.p99_ms,
            "goal": f"ours <= {P99_GOAL_MS:g} ms",
            "unit": "ms",
            "note": f"{met(ours.p99_ms <= P99_GOAL_MS)}; ratio = theirs / ours; {context}; {errors}",
        },
        {
            "name": "p50 @1 conn: leadops /v1/score vs mlflow serve",
            "ours": ours.p50_ms,
            "baseline": ml.p50_ms,
            "ratio": ml.p50_ms / ours.p50_ms,
            "goal": "",
            "unit": "ms",
            "note": "ratio = theirs / ours",
        },
        {
            "name": "p50 @1 conn: leadops /v1/score vs FastAPI hello",
            "ours": ours.p50_ms,
            "baseline": hello.p50_ms,
            "ratio": hello.p50_ms / ours.p50_ms,
            "goal": "",
            "unit": "ms",
            "note": "ratio = floor / ours",
        },
        {
            "name": "p99 @1 conn: leadops /v1/score vs FastAPI hello",
            "ours": ours.p99_ms,
            "baseline": hello.p99_ms,
            "ratio": hello.p99_ms / ours.p99_ms,
            "goal": "",
            "unit": "ms",
            "note": "ratio = floor / ours",
        },
        {
            "name": "req/s @16 conn: leadops /v1/score vs mlflow serve",
            "ours": ours.rps,
            "baseline": ml.rps,
            "ratio": ours.rps / ml.rps,
            "goal": f">= {MLFLOW_GOAL:g}x",
            "unit": "req/s",
            "note": met(ours.rps >= MLFLOW_GOAL * ml.rps),
        },
        {
            "name": "req/s @16 conn: leadops /v1/score vs FastAPI hello",
            "ours": ours.rps,
            "baseline": hello.rps,
            "ratio": ours.rps / hello.rps,
            "goal": f">= {HELLO_GOAL:g}x",
            "unit": "req/s",
            "note": met(ours.rps >= HELLO_GOAL * hello.rps),
        },
    ]
    fixed_ok = fixed["error_count"] == 0 and fixed["completed"] == fixed["due"]
    out.append(
        {
            "name": f"fixed rate {FIXED_SHARE:.0%} of capacity, {seconds:g} s: leadops p99",
            "ours": fixed["p99_ms"],
            "baseline": None,
            "ratio": None,
            "goal": "0 errors",
            "unit": "ms",
            "note": (
                f"{met(fixed_ok)}: {fixed['rate']:.0f} req/s due, {fixed['completed']}/{fixed['due']} answered, "
                f"errors {fixed['errors'] or 0}; p50 {fixed['p50_ms']:.2f} ms, p99.9 {fixed['p999_ms']:.2f} ms, "
                f"max {fixed['max_ms']:.1f} ms (from the due time, open loop); generator send lag p99 "
                f"{fixed['send_lag_p99_ms']:.2f} ms; {load}"
            ),
        }
    )
    return out
