"""`leadops simulate --closed-loop`: the fictional company day by day, with the real leadops in it.

Each simulated morning the real nightly job (`jobs.run.score_job`, in process) scores the warehouse as it stands
and publishes the queues; on business days the simulated Sales team works the published Sales queue in rank
order, at most `business.capacity` new leads a day, and its contacts raise those leads' conversion chance as the
ground truth says (simulate/daily.py); at night the day's new leads, activities and outcomes go in through the
real ingest (`crm.ingest`, the workspace's own mapping); monitoring and the retraining policy run when the
workspace configures them. The ground truth keeps every lead's probability with and without a contact, so the
true effect of whatever policy ran is known (`expected_conversions`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from leadops.closed_loop.errors import ClosedLoopError
from leadops.config import Settings
from leadops.errors import LeadOpsError
from leadops.warehouse import Warehouse

Progress = Callable[[str, float], None]
LOOP_DIR = "closed_loop"
RUN_HOUR = 5
"""The nightly job runs at 05:00 UTC of each simulated day, before the business day starts."""
HISTORY_SCENARIOS = ("baseline", "drift")
FLAT_FILES = {"leads": "leads.csv", "activities": "activities.csv", "outcomes": "outcomes.csv"}


@dataclass
class ClosedLoopResult:
    """What a closed-loop run did and what it achieved, observed and true (`--json`)."""

    days: int
    start: date
    end: date
    seed: int
    leads: int
    leads_per_day: float
    runs_published: int
    contacts: int
    conversions: int
    revenue: float
    expected_conversions: float
    expected_conversions_without_sales: float
    true_contact_effect: float
    expected_revenue: float
    capacity_per_day: int
    monitored: int = 0
    retraining: list[dict[str, Any]] = field(default_factory=list)
    champions: list[int] = field(default_factory=list)
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dates ISO)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data


# ---------------------------------------------------------------------------------------------- history
def bootstrap(
    settings: Settings,
    warehouse: Warehouse,
    *,
    leads_per_day: float,
    seed: int,
    models: list[str] | None = None,
    days: int | None = None,
) -> dict[str, Any]:
    """A one-pass history for the loop to start from: simulate, ingest, train the models, promote the first.

    The first of `models` (default simulate.closed_loop.models) becomes the champion (a new workspace's first
    champion, audited as such), the others challengers.
    """
    from leadops.crm import ingest
    from leadops.modeling.review import promote_ref
    from leadops.modeling.train import train_model
    from leadops.registry import Registry
    from leadops.simulate import simulate

    loop = settings.simulate.closed_loop
    names = list(models or loop.models)
    unknown = [m for m in names if m not in settings.models]
    if unknown or not names:
        raise ClosedLoopError(
            f"simulate.closed_loop.models: {unknown or 'none given'} not configured under models: "
            f"(configured: {sorted(settings.models)})"
        )
    span = days or loop.history_days
    summary = simulate(
        settings.workspace,
        scenario="baseline",
        leads=max(100, round(leads_per_day * span)),
        days=span,
        seed=seed,
        start=loop.history_start,
        fault_rate=0.0,
        sales_capacity=settings.business.declared_capacity(),
    )
    report = ingest(settings, warehouse)
    trained = {name: train_model(settings, warehouse, name, register=True) for name in names}
    first = trained[names[0]]
    promote_ref(settings, warehouse, str(first.version), first_champion="closed loop: first champion of the history")
    registry = Registry(settings, warehouse)
    for name in names[1:]:
        registry.set_challenger(str(trained[name].version), reason="closed loop: challenger trained on the history")
    return {
        "leads": summary.leads,
        "days": summary.days,
        "start": summary.start.isoformat(),
        "end": summary.end.isoformat(),
        "rows_loaded": report.rows_loaded,
        "models": {n: {"version": t.version, "auc": t.metrics.get("auc")} for n, t in trained.items()},
    }


def _history(settings: Settings) -> dict[str, Any] | None:
    """The one-pass history's manifest, or None when the workspace has none."""
    path = settings.workspace / "ground_truth" / "manifest.json"
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClosedLoopError(f"{path}: cannot read the history's manifest: {exc}") from exc
    scenario = data.get("scenario")
    if scenario not in HISTORY_SCENARIOS:
        raise ClosedLoopError(
            f"{path}: the history is scenario {scenario!r}; the closed loop continues a company history, expected "
            f"one of {', '.join(HISTORY_SCENARIOS)}",
            hint="run `leadops simulate --scenario baseline`, ingest, train and promote first",
        )
    return data


def _day_sources(settings: Settings) -> tuple[list[str], Callable[[Path], Settings]]:
    """The sources fed each day (leads, activities, outcomes) and the settings pointing them at one day's files."""
    from leadops.simulate.daily import DAY_FILES

    fed: dict[str, str] = {}
    for spec in settings.sources:
        if spec.table not in FLAT_FILES:
            continue
        name = Path(spec.path or "").name
        if spec.path is None or name != FLAT_FILES[spec.table] or spec.routes:
            raise ClosedLoopError(
                f"sources: '{spec.name}' ({spec.table}) reads {spec.path or 'a query'}; the closed loop writes the "
                f"flat export ({', '.join(DAY_FILES)}) and feeds it through that mapping",
                hint="run the closed loop in a workspace made by `leadops init --export-format flat`",
            )
        fed[spec.name] = FLAT_FILES[spec.table]
    missing = [t for t in FLAT_FILES if not any(s.table == t and s.name in fed for s in settings.sources)]
    if missing:
        raise ClosedLoopError(f"sources: no source loads {missing}; the closed loop feeds leads, activities, outcomes")

    def for_day(folder: Path) -> Settings:
        specs = [s.model_copy(update={"path": str(folder / fed[s.name])}) if s.name in fed else s
                 for s in settings.sources]  # fmt: skip
        return settings.model_copy(update={"sources": specs})

    return list(fed), for_day


def night_settings(settings: Settings) -> Settings:
    """The nightly job's settings inside the loop: no CRM export files and no analysts' copy every simulated night.

    Nobody imports tonight's CSV or opens a BI tool inside a simulation; the files (`simulate.closed_loop.exports`)
    and the analysts' copy (refreshed once when the loop ends) would otherwise cost more than the scoring.
    """
    on = settings.simulate.closed_loop.exports
    exports = settings.scoring.exports.model_copy(update={"csv": on, "parquet": on})
    return settings.model_copy(
        update={
            "scoring": settings.scoring.model_copy(update={"exports": exports}),
            "warehouse": settings.warehouse.model_copy(update={"analytics_copy": ""}),
        }
    )


class CachedModels:
    """The registry's champion and challengers, looked up (and their scorers loaded) once and again only after
    the loop retrained.

    Inside the loop nothing but the retraining policy changes the registry, so asking MLflow every simulated
    night (a quarter of a second) would only repeat the same answer; anything else (an experiment's pinned
    version) goes to the registry as the job would ask it.
    """

    def __init__(self, settings: Settings, warehouse: Warehouse) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.reset()

    def reset(self) -> None:
        """Forget the answers: the registry changed (a retraining registered or promoted a version)."""
        from leadops.jobs.model import RegistryModels

        self.source = RegistryModels(self.settings, self.warehouse)
        self._champion: Any = None
        self._challengers: Any = None
        self._loaded: dict[tuple[int, str], Any] = {}

    def champion(self) -> Any:
        """The champion's ModelRef (cached)."""
        if self._champion is None:
            self._champion = self.source.champion()
        return self._champion

    def challengers(self) -> Any:
        """The challengers' ModelRefs (cached)."""
        if self._challengers is None:
            self._challengers = self.source.challengers()
        return self._challengers

    def loaded(self, ref: Any) -> Any:
        """The version's scorer, loaded from its bundle once (a loaded scorer keeps what it prepared: the SHAP
        memo's split pattern, the single-row predictors)."""
        from leadops.jobs.model import load_model

        key = (int(ref.version), str(ref.path))
        if key not in self._loaded:
            self._loaded[key] = load_model(ref)
        return self._loaded[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


def _retraining_configured(settings: Settings) -> bool:
    r = settings.retraining
    return any(x is not None and x is not False for x in (r.every_days, r.on_drift, r.new_labels)) or bool(
        r.on_performance_drop
    )


# ---------------------------------------------------------------------------------------------- the loop
def run_closed_loop(
    settings: Settings,
    warehouse: Warehouse,
    *,
    days: int,
    leads_per_day: float | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> ClosedLoopResult:
    """Run the company `days` days from the end of its history with leadops in the loop; return what happened.

    A workspace without a history first gets one (`bootstrap`). Deterministic for a seed: the world is drawn
    from the loop's own streams and every model is trained on simulated data only.
    """
    from leadops.crm import ingest
    from leadops.jobs.run import score_job
    from leadops.simulate.daily import DailyCompany
    from leadops.simulate.world import make_accounts, make_config

    began = time.perf_counter()
    loop = settings.simulate.closed_loop
    if not isinstance(days, int) or days < 1:
        raise ClosedLoopError(f"--days: expected a positive number of days, got {days!r}")
    if leads_per_day is not None and not leads_per_day > 0:
        raise ClosedLoopError(f"--leads-per-day: expected a positive number, got {leads_per_day!r}")
    seed = settings.simulate.seed if seed is None else seed
    truth_dir = settings.workspace / "ground_truth" / LOOP_DIR
    if (truth_dir / "manifest.json").exists():
        raise ClosedLoopError(
            f"{truth_dir / 'manifest.json'}: this workspace already ran a closed loop; a loop starts from a "
            "one-pass history",
            hint="run it in a new workspace (`leadops init`), or delete the workspace's warehouse and ground_truth/",
        )
    fed, for_day = _day_sources(settings)
    nightly = night_settings(settings)
    models = CachedModels(settings, warehouse)
    history = _history(settings)
    booted: dict[str, Any] = {}
    booted_seconds = 0.0
    if history is None:
        rate = leads_per_day or loop.leads_per_day or settings.simulate.leads / settings.simulate.days
        booted = bootstrap(settings, warehouse, leads_per_day=rate, seed=seed)
        history = _history(settings)
        assert history is not None
        booted_seconds = time.perf_counter() - began
    rate = float(leads_per_day or loop.leads_per_day or history["leads"] / history["days"])
    start = date.fromisoformat(str(history["end"]))
    end = start + timedelta(days=days)
    limit = today or datetime.now(UTC).date()
    if end > limit:
        raise ClosedLoopError(
            f"--days {days}: the loop would run {start} .. {end}, past today ({limit}); ingest refuses events from "
            "the future",
            hint=f"at most --days {(limit - start).days} from this history, or start from an earlier history",
        )
    history_cfg = make_config(
        scenario="baseline", leads=int(history["leads"]), days=int(history["days"]), seed=int(history["seed"]),
        start=date.fromisoformat(str(history["start"])), fault_rate=0.0, drift_day=None,
    )  # fmt: skip
    company = DailyCompany(
        accounts=make_accounts(history_cfg), start=start, days=days, leads_per_day=rate, seed=seed,
        first_lead=int(history["leads"]),
    )  # fmt: skip
    outside = _HistoryLeads(settings.workspace, start)
    capacity = settings.business.capacity.total_per_day()
    monitored = _retraining_configured(settings), "monitoring" in settings.model_fields_set
    timing = dict.fromkeys(("score", "sales", "export", "ingest", "monitor", "retrain"), 0.0)
    timing |= {"bootstrap": booted_seconds, "world": time.perf_counter() - began - booted_seconds}
    cpu = time.process_time()
    runs, contacts, n_monitored = 0, 0, 0
    retrains: list[dict[str, Any]] = []
    champions: list[int] = []
    day_root = settings.workspace / "source" / LOOP_DIR
    with warehouse.few_checkpoints():  # a year of nightly commits, the WAL folded in now and then
        for d in range(days):
            today_d = start + timedelta(days=d)
            as_of = datetime(today_d.year, today_d.month, today_d.day, RUN_HOUR)
            try:
                run_id = None
                if loop.score_on == "every_day" or company.is_business_day(d):
                    clock = time.perf_counter()
                    result = score_job(nightly, warehouse, as_of=as_of, models=models)
                    timing["score"] += time.perf_counter() - clock
                    run_id = result.run_id
                    runs += 1 if result.status == "published" else 0
                    if not champions or champions[-1] != result.model_version:
                        champions.append(result.model_version)
                    if monitored[1] and runs % loop.monitor_every_days == 1 % loop.monitor_every_days:
                        clock = time.perf_counter()
                        from leadops.monitoring.monitor import monitor

                        monitor(settings, warehouse, run_id=run_id)
                        n_monitored += 1
                        timing["monitor"] += time.perf_counter() - clock
                if run_id is not None and company.is_business_day(d):
                    clock = time.perf_counter()
                    contacts += _work_queue(warehouse, company, outside, run_id, d, as_of, capacity)
                    timing["sales"] += time.perf_counter() - clock
                clock = time.perf_counter()
                folder = day_root / today_d.isoformat()
                company.end_day(d, folder)
                outside.end_day(company.day_start(d), company.day_start(d + 1), folder)
                timing["export"] += time.perf_counter() - clock
                clock = time.perf_counter()
                ingest(for_day(folder), warehouse, sources=fed)
                timing["ingest"] += time.perf_counter() - clock
                if not loop.keep_day_files:
                    shutil.rmtree(folder, ignore_errors=True)
                if monitored[0] and (d + 1) % loop.retrain_every_days == 0:
                    clock = time.perf_counter()
                    from leadops.modeling.retrain import retrain

                    decided = retrain(settings, warehouse, now=as_of + timedelta(hours=19))
                    models.reset()
                    retrains.append({"day": today_d.isoformat(), "decision": decided.decision, "reason": decided.reason,
                                     "version": decided.version})  # fmt: skip
                    timing["retrain"] += time.perf_counter() - clock
            except LeadOpsError as exc:
                raise ClosedLoopError(
                    f"closed loop, day {d + 1} of {days} ({today_d}): {exc.message}", hint=exc.hint
                ) from exc
            if progress is not None:
                progress(f"day {d + 1}/{days}", (d + 1) / days)
    if not loop.keep_day_files and day_root.exists() and not any(day_root.iterdir()):
        day_root.rmdir()
    timing["cpu_days"] = time.process_time() - cpu  # this process's CPU over the simulated days (load-proof-ish)
    _refresh_analytics_copy(settings, warehouse)
    return _finish(settings, warehouse, company, history, booted, days, seed, rate, capacity, runs, contacts,
                   n_monitored, retrains, champions, timing, began, truth_dir)  # fmt: skip


def _refresh_analytics_copy(settings: Settings, warehouse: Warehouse) -> None:
    """The analysts' copy (warehouse.analytics_copy), once, showing the loop's last published run."""
    from leadops.jobs.run import refresh_copy
    from leadops.warehouse.snapshot import copy_path, current_run_id

    target = copy_path(warehouse, settings.warehouse.analytics_copy, settings.workspace)
    run_id = current_run_id(warehouse)
    if target is not None and run_id is not None:
        with warehouse.writer("closed-loop"):
            refresh_copy(warehouse, target, run_id)


def _work_queue(
    warehouse: Warehouse,
    company: Any,
    outside: _HistoryLeads,
    run_id: str,
    day: int,
    as_of: datetime,
    capacity: int,
) -> int:
    """Sales' business day: the published queue in rank order, leads not yet contacted, up to capacity."""
    rows = warehouse.rows("SELECT lead_id FROM sales_queue WHERE run_id = ? ORDER BY score_rank, lead_id", [run_id])
    ids = [str(r[0]) for r in rows]
    idx = company.index_of(ids)
    after = int(as_of.replace(tzinfo=UTC).timestamp())
    fresh = (idx < 0) | (company.contacted_at[np.maximum(idx, 0)] < 0)
    fresh &= (idx < 0) | (company.block.created[np.maximum(idx, 0)] < after)
    picked = [i for i, ok in enumerate(fresh) if ok and (idx[i] >= 0 or ids[i] not in outside.contacted)][:capacity]
    mine = idx[[i for i in picked if idx[i] >= 0]]
    theirs = [ids[i] for i in picked if idx[i] < 0]
    made = company.contact(np.asarray(mine, dtype=np.int64), day, after=after)
    outside.contact(theirs, after)
    return made + len(theirs)


class _HistoryLeads:
    """Leads of the one-pass history inside the loop: their conversions after its end arrive during the loop, the
    ones still open STALE_DAYS after creation are closed as the loop's own leads are, and Sales may call them."""

    def __init__(self, workspace: Path, start: date) -> None:
        import pyarrow.parquet as pq
        from pyarrow import csv as pacsv

        from leadops.simulate.daily import STALE_DAYS

        self.contacted: set[str] = set()
        self.touches: list[tuple[str, int]] = []
        self.rows: list[tuple[str, int, str, str]] = []  # lead, time, stage, amount text
        path = workspace / "ground_truth" / "leads_truth.parquet"
        if not path.exists():
            self.t = np.zeros(0, dtype=np.int64)
            return
        truth = pq.read_table(path, columns=["lead_id", "created_at", "will_convert", "converts_at", "deal_value"])
        frame = truth.to_pandas()
        edge = np.datetime64(start.isoformat(), "s")
        converts = frame["converts_at"].to_numpy(dtype="datetime64[s]")
        late = frame["will_convert"].to_numpy() & (converts >= edge)
        for lead, t, value in zip(frame["lead_id"][late], converts[late], frame["deal_value"][late], strict=True):
            self.rows.append((str(lead), int(t.astype(np.int64)), "Closed Won", f"{float(value):.2f}"))
        outcomes = workspace / "source" / "outcomes.csv"
        closed: set[str] = set()
        if outcomes.exists():
            table = pacsv.read_csv(outcomes, convert_options=pacsv.ConvertOptions(include_columns=["LeadId", "Stage"]))
            stages = table.to_pandas()
            closed = set(stages["LeadId"][stages["Stage"].isin(["Closed Won", "Closed Lost", "Disqualified"])])
        created = frame["created_at"].to_numpy(dtype="datetime64[s]").astype(np.int64)
        open_ = ~frame["will_convert"].to_numpy() & ~frame["lead_id"].isin(closed).to_numpy()
        for lead, t in zip(frame["lead_id"][open_], created[open_] + STALE_DAYS * 86_400, strict=True):
            self.rows.append((str(lead), int(t), "Disqualified", ""))
        self.t = np.array([r[1] for r in self.rows], dtype=np.int64)
        self.first = True

    def contact(self, lead_ids: list[str], after: int) -> None:
        """Sales called these history leads (a touch an hour into the working day; no effect on their fate)."""
        for k, lead in enumerate(lead_ids):
            self.contacted.add(lead)
            self.touches.append((lead, after + 3600 + 60 * k))

    def end_day(self, lo: int, hi: int, folder: Path) -> None:
        """Append the day's rows of history leads to the day's activity and outcome files (the first day also
        closes the history's leads already past STALE_DAYS: the CRM's hygiene catching up)."""
        touches = [(lead, t) for lead, t in self.touches if lo <= t < hi]
        self.touches = [(lead, t) for lead, t in self.touches if t >= hi]
        if touches:
            with (folder / "activities.csv").open("a", encoding="utf-8") as fh:
                for k, (lead, t) in enumerate(touches):
                    fh.write(f"ACT-H{lo // 86_400:06d}{k:05d},{lead},{_iso(t)},sales_touch,Phone,10,Outbound,"
                             "Connected,\n")  # fmt: skip
        due = (self.t < hi) if getattr(self, "first", False) else ((self.t >= lo) & (self.t < hi))
        self.first = False
        sel = np.flatnonzero(due)
        if sel.size:
            with (folder / "outcomes.csv").open("a", encoding="utf-8") as fh:
                for i in sel:
                    lead, t, stage, amount = self.rows[i]
                    fh.write(f"OUT-H{i + 1:08d},{lead},{_iso(t)},{stage},{amount}\n")


def _iso(t: int) -> str:
    return str(np.datetime_as_string(np.datetime64(t, "s"))) + "Z"


# ---------------------------------------------------------------------------------------------- the readout
def _finish(
    settings: Settings,
    warehouse: Warehouse,
    company: Any,
    history: dict[str, Any],
    booted: dict[str, Any],
    days: int,
    seed: int,
    rate: float,
    capacity: int,
    runs: int,
    contacts: int,
    n_monitored: int,
    retrains: list[dict[str, Any]],
    champions: list[int],
    timing: dict[str, float],
    began: float,
    truth_dir: Path,
) -> ClosedLoopResult:
    """Observed and true figures, the ground truth file and the loop's manifest."""
    from leadops.simulate.daily import CONTACT_WINDOW_DAYS
    from leadops.simulate.export import write_json

    released = company.released(days - 1)
    converted, value = company.converted()
    p_eff = company.p_effective()[released]
    counted = company.counted()[released]
    p0, p1 = company.p0[released], company.p1[released]
    deal = company.fates.value[released]
    truth_path = company.truth(truth_dir / "leads_truth.parquet", days - 1)
    result = ClosedLoopResult(
        days=days,
        start=company.cfg.start,
        end=company.cfg.start + timedelta(days=days),
        seed=seed,
        leads=int(released.size),
        leads_per_day=round(rate, 3),
        runs_published=runs,
        contacts=contacts,
        conversions=int(converted.sum()),
        revenue=round(float(value.sum()), 2),
        expected_conversions=round(float(p_eff.sum()), 3),
        expected_conversions_without_sales=round(float(p0.sum()), 3),
        true_contact_effect=round(float((p1 - p0)[counted].sum()), 3),
        expected_revenue=round(float((p_eff * deal).sum()), 2),
        capacity_per_day=capacity,
        monitored=n_monitored,
        retraining=retrains,
        champions=champions,
        arms=arm_truth(
            warehouse, company, datetime.combine(company.cfg.start + timedelta(days=days), datetime.min.time())
        ),
        history=booted or {k: history.get(k) for k in ("leads", "days", "start", "end", "seed")},
        timing={k: round(v, 2) for k, v in timing.items()},
    )
    result.seconds = round(time.perf_counter() - began, 2)
    manifest = result.to_dict() | {
        "parameters": {"contact_window_days": CONTACT_WINDOW_DAYS, "run_hour_utc": RUN_HOUR},
        "files": {"leads_truth": str(truth_path.relative_to(settings.workspace))},
    }
    manifest.pop("timing")
    manifest.pop("seconds")
    write_json(truth_dir / "manifest.json", manifest)
    result.files = {"leads_truth": str(truth_path), "manifest": str(truth_dir / "manifest.json")}
    return result


def arm_truth(warehouse: Warehouse, company: Any, until: datetime) -> dict[str, dict[str, Any]]:
    """Per experiment arm (experiment_assignments, when the workspace runs experiments): the true outcome.

    `true_rate` is the mean of each assigned lead's probability under the contacts Sales made (p_convert when a
    contact came within the window, else p_convert_no_contact); `true_lift` (T - C) / C against the experiment's
    control arm: what an experiment's readout estimates. `mature_*`: the same over the units whose KPI window
    closed by `until` (the ones a readout at the end of the loop counts).
    """
    if not warehouse.table_exists("experiment_assignments"):
        return {}
    rows = warehouse.rows("SELECT experiment, arm, lead_id, assigned_at FROM experiment_assignments")
    if not rows:
        return {}
    specs = {str(r[0]): (str(r[1]), int(r[2]))
             for r in warehouse.rows("SELECT name, control_arm, window_days FROM experiments")}  # fmt: skip
    p_eff = company.p_effective()
    counted = company.counted()
    converted, value = company.converted()
    by: dict[str, dict[str, tuple[list[int], list[bool]]]] = {}
    positions = company.index_of([str(r[2]) for r in rows])
    for (experiment, arm, _, assigned), pos in zip(rows, positions, strict=True):
        if pos < 0:  # not a lead of the loop (history leads' fates were drawn by the one-pass generator)
            continue
        window = specs.get(str(experiment), ("", 0))[1]
        members, mature = by.setdefault(str(experiment), {}).setdefault(str(arm), ([], []))
        members.append(int(pos))
        mature.append(assigned + timedelta(days=window) <= until)
    out: dict[str, dict[str, Any]] = {}
    for experiment, arms in by.items():
        figures: dict[str, dict[str, Any]] = {}
        for arm, (members, mature) in sorted(arms.items()):
            idx = np.array(members, dtype=np.int64)
            ripe = idx[np.array(mature, dtype=bool)]
            figures[arm] = {
                "units": int(idx.size),
                "contacted": int(counted[idx].sum()),
                "true_rate": float(p_eff[idx].mean()),
                "observed_rate": float(converted[idx].mean()),
                "revenue": round(float(value[idx].sum()), 2),
                "mature_units": int(ripe.size),
                "mature_true_rate": float(p_eff[ripe].mean()) if ripe.size else None,
            }
        control = specs.get(experiment, ("", 0))[0] or ("control" if "control" in figures else sorted(figures)[0])
        base = figures.get(control, {}).get("true_rate")
        ripe_base = figures.get(control, {}).get("mature_true_rate")
        for arm, f in figures.items():
            treated = arm != control
            f["true_lift"] = (f["true_rate"] - base) / base if treated and base else None
            ripe_rate = f["mature_true_rate"]
            f["mature_true_lift"] = (ripe_rate - ripe_base) / ripe_base if treated and ripe_base and ripe_rate else None
        out[experiment] = {"control": control, "arms": figures}
    return out
