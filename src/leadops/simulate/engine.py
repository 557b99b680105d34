"""`simulate`: run the fictional company for a history and write its CRM export plus the ground truth.

Two passes over fixed-size chunks of leads: the first draws leads and their activities to learn what the
naive Sales rule sees in each lead's first two days; the global Sales policy then decides who is contacted
when; the second pass redraws the same activities (same per-chunk streams), adds the sales touches and the
funnel, and appends every chunk to the CSV files, so memory stays bounded by one chunk plus a few columns per
lead. Same arguments, same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadops.simulate import funnel as funnel_mod
from leadops.simulate.activities import ACTIVITY_TYPES, CHANNELS, draw_activities, early_sales_score, merge_sorted
from leadops.simulate.export import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    LEAD_COLUMNS,
    OUTCOME_COLUMNS,
    CsvAppender,
    TimeFormatter,
    TruthWriter,
    account_ids,
    activity_ids,
    activity_properties,
    bool_text,
    lead_ids,
    number_text,
    outcome_ids,
    owner_ids,
    pick,
    text_table,
    write_json,
)
from leadops.simulate.faults import FaultContext, FaultInput, inject
from leadops.simulate.funnel import STAGES, run_funnel, sales_policy, sales_touches
from leadops.simulate.people import LeadBlock, chunk_bounds, draw_leads
from leadops.simulate.tutorial import make_tutorial
from leadops.simulate.world import (
    CHUNK_SIZE,
    COUNTRY_NAMES,
    DEPARTMENT_NAMES,
    DOMAIN_TYPES,
    EDU_DOMAINS,
    FIRST_NAMES,
    FREE_DOMAINS,
    GOV_DOMAINS,
    INDUSTRY_NAMES,
    JOB_LABELS,
    LAST_NAMES,
    REGIONS,
    SOURCE_NAMES,
    STREAM_FAULTS,
    STREAM_FUNNEL,
    Accounts,
    SimulationConfig,
    make_accounts,
    make_config,
    rng_for,
)

Progress = Callable[[str, float], None]
GENERATOR_VERSION = 1
EXPORT_FILES = ("accounts.csv", "leads.csv", "activities.csv", "outcomes.csv")
EXPORT_FORMATS = ("flat", "salesforce")
TUTORIAL_FILE = "tutorial_leads.csv"
DANGLING_LEAD_BASE = 90_000_000

TRUTH_SCHEMA = pa.schema(
    [
        ("lead_id", pa.string()),
        ("account_id", pa.string()),
        ("created_at", pa.timestamp("s")),
        ("lead_source", pa.string()),
        ("fit", pa.float64()),
        ("intent", pa.float64()),
        ("engagement", pa.float64()),
        ("noise", pa.float64()),
        ("p_convert", pa.float64()),
        ("p_convert_no_contact", pa.float64()),
        ("contacted_by_sales", pa.bool_()),
        ("contacted_at", pa.timestamp("s")),
        ("will_convert", pa.bool_()),
        ("converts_at", pa.timestamp("s")),
        ("converted", pa.bool_()),
        ("converted_at", pa.timestamp("s")),
        ("deal_value", pa.float64()),
        ("post_drift", pa.bool_()),
    ]
)
TUTORIAL_TRUTH_SCHEMA = pa.schema(
    [
        ("lead_id", pa.string()),
        ("fit", pa.float64()),
        ("intent", pa.float64()),
        ("p_convert", pa.float64()),
        ("p_convert_no_contact", pa.float64()),
        ("contacted_by_sales", pa.bool_()),
        ("converted", pa.bool_()),
        ("converted_at", pa.timestamp("s")),
        ("deal_value", pa.float64()),
        ("observable_logit", pa.float64()),
        ("noise", pa.float64()),
        ("intercept", pa.float64()),
    ]
)


@dataclass
class SimulationSummary:
    """What a run wrote and how long it took."""

    scenario: str
    seed: int
    leads: int
    accounts: int
    activities: int
    outcomes: int
    faulty_rows: int
    days: int
    start: date
    end: date
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    drift_day: int | None = None
    converted: int = 0
    contacted: int = 0
    export_format: str = "flat"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (dates ISO, paths as strings)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        out["files"] = {k: str(v) for k, v in self.files.items()}
        return out


def _timestamps(t: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """UTC seconds as naive timestamp[s]; invalid entries null."""
    mask = None if valid is None else ~valid
    return pa.array(t.astype("datetime64[s]"), type=pa.timestamp("s"), mask=mask)


def _emails(block: LeadBlock, accounts: Accounts) -> pa.Array:
    """jane.doe@acme-analytics.com, jane.doe42@gmail.com, ... (missing for the 'unknown' domain type)."""
    name = pc.binary_join_element_wise(
        pa.array(FIRST_NAMES).take(pa.array(block.first.astype(np.int64))),
        pa.array(LAST_NAMES).take(pa.array(block.last.astype(np.int64))),
        ".",
    )
    dt = block.domain_type
    free = dt == DOMAIN_TYPES.index("free")
    digits = pc.cast(pa.array(np.maximum(block.email_digits, 0).astype(np.int64)), pa.string())
    local = pc.if_else(pa.array(free & (block.email_digits >= 0)), pc.binary_join_element_wise(name, digits, ""), name)
    domain = accounts.domain.take(pa.array(block.account))
    for kind, names in (("free", FREE_DOMAINS), ("edu", EDU_DOMAINS), ("gov", GOV_DOMAINS)):
        sel = dt == DOMAIN_TYPES.index(kind)
        alt = pa.array(names).take(pa.array((block.domain_pick % len(names)).astype(np.int64)))
        domain = pc.if_else(pa.array(sel), alt, domain)
    email = pc.binary_join_element_wise(local, "@", domain, "")
    unknown = pa.array(dt == DOMAIN_TYPES.index("unknown"))
    return pc.if_else(unknown, pa.nulls(len(block), pa.string()), email)


def _accounts_table(accounts: Accounts) -> pa.Table:
    """accounts.csv rows for every account."""
    n = len(accounts)
    return text_table(
        ACCOUNT_COLUMNS,
        [
            account_ids(np.arange(n)),
            accounts.name,
            pick(INDUSTRY_NAMES, accounts.industry),
            number_text(accounts.employees),
            number_text(accounts.revenue),
            pick(COUNTRY_NAMES, accounts.country),
            pick(REGIONS, accounts.region),
            bool_text(accounts.profitable),
            bool_text(accounts.competitor),
        ],
    )


def leads_table(block: LeadBlock, accounts: Accounts, fmt: TimeFormatter) -> pa.Table:
    """leads.csv rows for one chunk."""
    return text_table(
        LEAD_COLUMNS,
        [
            lead_ids(block.index),
            account_ids(block.account),
            fmt.format(block.created, block.region),
            _emails(block, accounts),
            pick(JOB_LABELS, block.job),
            pick(DEPARTMENT_NAMES, block.dept),
            pick(COUNTRY_NAMES, block.country),
            pick(SOURCE_NAMES, block.source),
            bool_text(block.do_not_email),
            bool_text(block.do_not_call),
            owner_ids(block.region, block.index),
        ],
    )


class _Run:
    """State of one run of the company (not the tutorial)."""

    def __init__(self, cfg: SimulationConfig, out_dir: Path, progress: Progress | None) -> None:
        self.cfg = cfg
        self.source = out_dir / "source"
        self.truth_dir = out_dir / "ground_truth"
        self.progress = progress
        self.faults = cfg.scenario == "faults"
        self.ctx = FaultContext(end_epoch=cfg.end_epoch)

    def report(self, stage: str, fraction: float) -> None:
        """Tell the caller how far we are."""
        if self.progress is not None:
            self.progress(stage, min(1.0, max(0.0, fraction)))

    def maybe_break(
        self,
        inp: FaultInput,
        chunk: int,
        *,
        renumber: Callable[[np.ndarray], pa.Array] | None = None,
        fresh_id: Callable[[int], str] | None = None,
    ) -> pa.Table:
        """Insert this file's broken rows into a chunk when running the faults scenario."""
        if not self.faults:
            if renumber is not None:
                ids = renumber(inp.first_row + np.arange(inp.table.num_rows))
                cols = inp.table.column_names
                return inp.table.set_column(cols.index(cols[0]), cols[0], ids)
            return inp.table
        rng = rng_for(self.cfg.seed, STREAM_FAULTS, chunk * 8 + EXPORT_FILES.index(inp.file))
        return inject(
            inp,
            self.cfg.fault_rate,
            rng,
            self.ctx,
            renumber=renumber,
            fresh_id=fresh_id,
            dangling_lead=lambda k: lead_ids(np.array([DANGLING_LEAD_BASE + k]))[0].as_py(),
        )


def simulate(
    out_dir: Path,
    *,
    scenario: str = "baseline",
    leads: int = 20_000,
    days: int = 365,
    seed: int = 42,
    start: date | None = None,
    fault_rate: float = 0.02,
    drift_day: int | None = None,
    progress: Callable[[str, float], None] | None = None,
    sales_capacity: int | None = None,
    export_format: str = "flat",
) -> SimulationSummary:
    """Write the fictional company's CRM export into out_dir/source and its ground truth into out_dir/ground_truth.

    `start` defaults to 2025-01-01 (a fixed date keeps reruns byte-identical); the history covers
    start .. start + days (exclusive). `sales_capacity` is the simulated Sales team's contacts per weekday
    (`business.capacity` of the workspace; None = about 12 % of the daily lead flow). `export_format`
    "salesforce" writes the same company as a Salesforce export (simulate/salesforce.py). Unknown scenarios and
    invalid arguments raise ConfigError.
    """
    from leadops.errors import ConfigError
    from leadops.simulate.salesforce import remove_salesforce, write_salesforce

    if export_format not in EXPORT_FORMATS:
        raise ConfigError(f"export format '{export_format}' is unknown; expected one of {', '.join(EXPORT_FORMATS)}")
    if export_format == "salesforce" and scenario in ("tutorial", "faults"):
        raise ConfigError(
            f"--export-format salesforce writes the company's relational export; scenario '{scenario}' writes "
            "only the flat one (use baseline or drift)"
        )
    began = time.perf_counter()
    cfg = make_config(
        scenario=scenario,
        leads=leads,
        days=days,
        seed=seed,
        start=start,
        fault_rate=fault_rate,
        drift_day=drift_day,
        sales_capacity=sales_capacity,
    )
    out_dir = Path(out_dir)
    (out_dir / "source").mkdir(parents=True, exist_ok=True)
    (out_dir / "ground_truth").mkdir(parents=True, exist_ok=True)
    remove_salesforce(out_dir / "source")
    if cfg.scenario == "tutorial":
        summary = _simulate_tutorial(cfg, out_dir, progress)
    else:
        summary = _simulate_company(cfg, out_dir, progress)
    _leaky_flat(cfg, out_dir, summary)  # reads the relational CSVs: before a Salesforce export replaces them
    if cfg.scenario != "tutorial" and export_format == "salesforce":
        for name in EXPORT_FILES:
            summary.files.pop(name.removesuffix(".csv"), None)
        summary.files |= write_salesforce(out_dir / "source")
    summary.export_format = export_format
    summary.seconds = round(time.perf_counter() - began, 3)
    return summary


def _leaky_flat(cfg: SimulationConfig, out_dir: Path, summary: SimulationSummary) -> None:
    """The leaky scenario adds the company's flat export with post-outcome fields; others remove a stale one."""
    from leadops.simulate.flat import FLAT_FILE, write_leaky_flat

    if cfg.scenario != "leaky":
        _remove_stale([out_dir / "source" / FLAT_FILE])
        return
    summary.files["leads_flat"] = write_leaky_flat(out_dir, cfg.seed)[0]


def _remove_stale(paths: list[Path]) -> None:
    """Delete outputs of a different scenario left in the same workspace by an earlier run."""
    for p in paths:
        if p.exists():
            p.unlink()


def _simulate_tutorial(cfg: SimulationConfig, out_dir: Path, progress: Progress | None) -> SimulationSummary:
    """The flat textbook data set."""
    source, truth_dir = out_dir / "source", out_dir / "ground_truth"
    _remove_stale([source / f for f in EXPORT_FILES] + [truth_dir / "faults.csv"])
    if progress:
        progress("tutorial", 0.0)
    data = make_tutorial(cfg)
    path = source / TUTORIAL_FILE
    with CsvAppender(path, tuple(data.table.column_names), patch_bad_bytes=False) as out:
        out.write(data.table)
    n = cfg.leads
    truth = dict(data.truth)
    truth["converted_at"] = pa.nulls(n, pa.timestamp("s"))
    truth["deal_value"] = pa.nulls(n, pa.float64())
    writer = TruthWriter(truth_dir / "leads_truth.parquet", TUTORIAL_TRUTH_SCHEMA)
    writer.write(truth)
    writer.close()
    end = cfg.start + timedelta(days=cfg.days)
    files = {"tutorial_leads": path, "leads_truth": truth_dir / "leads_truth.parquet"}
    converted = int(np.sum(data.truth["converted"]))
    manifest = {
        "scenario": cfg.scenario,
        "seed": cfg.seed,
        "leads": n,
        "days": cfg.days,
        "start": cfg.start.isoformat(),
        "end": end.isoformat(),
        "generator_version": GENERATOR_VERSION,
        "counts": {"tutorial_leads": n, "converted": converted},
        "conversion_rate": round(converted / n, 6),
        "files": {k: str(v.relative_to(out_dir)) for k, v in files.items()},
    }
    write_json(truth_dir / "manifest.json", manifest)
    files["manifest"] = truth_dir / "manifest.json"
    if progress:
        progress("done", 1.0)
    return SimulationSummary(
        scenario=cfg.scenario,
        seed=cfg.seed,
        leads=n,
        accounts=0,
        activities=0,
        outcomes=0,
        faulty_rows=0,
        days=cfg.days,
        start=cfg.start,
        end=end,
        files=files,
        converted=converted,
    )


def _simulate_company(cfg: SimulationConfig, out_dir: Path, progress: Progress | None) -> SimulationSummary:
    """Baseline, drift and faults: the full company in two passes over chunks of leads."""
    run = _Run(cfg, out_dir, progress)
    source, truth_dir = run.source, run.truth_dir
    _remove_stale([source / TUTORIAL_FILE] + ([] if run.faults else [truth_dir / "faults.csv"]))
    from leadops.simulate.world import lead_days

    run.report("accounts", 0.0)
    accounts = make_accounts(cfg)
    days_all = lead_days(cfg)
    n_chunks = cfg.n_chunks

    blocks: list[LeadBlock] = []
    scores: list[np.ndarray] = []
    for c in range(n_chunks):
        block = draw_leads(cfg, accounts, days_all, c)
        scores.append(early_sales_score(block, draw_activities(cfg, block, c)))
        blocks.append(block)
        run.report("leads", (c + 1) / n_chunks * 0.25)
    contact_day = sales_policy(cfg, days_all, np.concatenate(scores))
    run.report("sales", 0.3)

    fmt = TimeFormatter(cfg.start_epoch, cfg.end_epoch)
    patch = run.faults
    paths = {f: source / f for f in EXPORT_FILES}
    file_columns = (ACCOUNT_COLUMNS, LEAD_COLUMNS, ACTIVITY_COLUMNS, OUTCOME_COLUMNS)
    out = {
        f: CsvAppender(paths[f], cols, patch_bad_bytes=patch)
        for f, cols in zip(EXPORT_FILES, file_columns, strict=True)
    }
    truth_path = truth_dir / "leads_truth.parquet"
    truth = TruthWriter(truth_path, TRUTH_SCHEMA)
    n_accounts = len(accounts)
    counts = {"converted": 0, "will_convert": 0, "contacted": 0, "activities": 0, "outcomes": 0}
    try:
        acc_table = _accounts_table(accounts)
        for a in range(0, n_accounts, CHUNK_SIZE):
            part = acc_table.slice(a, CHUNK_SIZE)
            inp = FaultInput("accounts.csv", part, out["accounts.csv"].rows + 1)
            out["accounts.csv"].write(
                run.maybe_break(
                    inp, a // CHUNK_SIZE, fresh_id=lambda k: account_ids(np.array([n_accounts + k]))[0].as_py()
                )
            )
        for c in range(n_chunks):
            block = blocks[c]
            lo, hi = chunk_bounds(cfg, c)
            acts = draw_activities(cfg, block, c)
            rng = rng_for(cfg.seed, STREAM_FUNNEL, c)
            touches, touch_time = sales_touches(cfg, block, contact_day[lo:hi], rng)
            fun = run_funnel(cfg, block, accounts, touch_time, rng)
            acts = merge_sorted(acts, touches)
            counts["activities"] += len(acts)
            counts["outcomes"] += int(fun.out_lead.size)

            inp = FaultInput("leads.csv", leads_table(block, accounts, fmt), out["leads.csv"].rows + 1)
            out["leads.csv"].write(
                run.maybe_break(inp, c, fresh_id=lambda k: lead_ids(np.array([cfg.leads + k]))[0].as_py())
            )
            act_lead = block.index[acts.lead]
            act_table = text_table(
                ACTIVITY_COLUMNS,
                [
                    pa.nulls(len(acts), pa.string()),
                    lead_ids(act_lead),
                    fmt.format(acts.t, block.region[acts.lead]),
                    pick(ACTIVITY_TYPES, acts.kind),
                    pick(CHANNELS, acts.channel),
                    number_text(acts.value),
                    *activity_properties(acts.kind, ACTIVITY_TYPES, acts.value, acts.t),
                ],
            )
            del acts, act_lead
            inp = FaultInput("activities.csv", act_table, out["activities.csv"].rows + 1)
            out["activities.csv"].write(run.maybe_break(inp, c, renumber=activity_ids))
            del act_table, inp

            out_table = text_table(
                OUTCOME_COLUMNS,
                [
                    pa.nulls(fun.out_lead.size, pa.string()),
                    lead_ids(block.index[fun.out_lead]),
                    fmt.format(fun.out_t, block.region[fun.out_lead]),
                    pick(STAGES, fun.out_stage),
                    number_text(fun.out_amount),
                ],
            )
            inp = FaultInput(
                "outcomes.csv",
                out_table,
                out["outcomes.csv"].rows + 1,
                lead_created=block.created[fun.out_lead],
                lead_region=block.region[fun.out_lead],
            )
            out["outcomes.csv"].write(run.maybe_break(inp, c, renumber=outcome_ids))

            contacted = touch_time >= 0
            counts["converted"] += int(fun.converted.sum())
            counts["will_convert"] += int(fun.will_convert.sum())
            counts["contacted"] += int(contacted.sum())
            truth.write(
                {
                    "lead_id": lead_ids(block.index),
                    "account_id": account_ids(block.account),
                    "created_at": _timestamps(block.created),
                    "lead_source": pick(SOURCE_NAMES, block.source),
                    "fit": block.fit,
                    "intent": block.intent,
                    "engagement": block.engagement,
                    "noise": block.noise,
                    "p_convert": fun.p,
                    "p_convert_no_contact": fun.p_no_contact,
                    "contacted_by_sales": contacted,
                    "contacted_at": _timestamps(touch_time, contacted),
                    "will_convert": fun.will_convert,
                    "converts_at": _timestamps(fun.converted_at, fun.will_convert),
                    "converted": fun.converted,
                    "converted_at": _timestamps(fun.converted_at, fun.converted),
                    "deal_value": pa.array(fun.deal_value, from_pandas=True),
                    "post_drift": block.post_drift,
                }
            )
            run.report("export", 0.3 + 0.7 * (c + 1) / n_chunks)
    finally:
        for appender in out.values():
            appender.close()
        truth.close()

    files: dict[str, Path] = {f.removesuffix(".csv"): p for f, p in paths.items()}
    files["leads_truth"] = truth_path
    faulty = len(run.ctx.records)
    if run.faults:
        faults_path = truth_dir / "faults.csv"
        records = sorted(run.ctx.records, key=lambda r: (EXPORT_FILES.index(r[0]), r[1]))
        with faults_path.open("w", encoding="utf-8", newline="") as fh:
            fh.write("file,row_number,fault_kind,field\n")
            fh.writelines(f"{f},{r},{k},{fld}\n" for f, r, k, fld in records)
        files["faults"] = faults_path
    end = cfg.start + timedelta(days=cfg.days)
    rows = {f.removesuffix(".csv"): out[f].rows for f in EXPORT_FILES}
    per_file_faults = {f.removesuffix(".csv"): sum(1 for r in run.ctx.records if r[0] == f) for f in EXPORT_FILES}
    manifest = {
        "scenario": cfg.scenario,
        "seed": cfg.seed,
        "leads": cfg.leads,
        "days": cfg.days,
        "start": cfg.start.isoformat(),
        "end": end.isoformat(),
        "drift_day": cfg.drift_day,
        "drift_date": (cfg.start + timedelta(days=cfg.drift_day)).isoformat() if cfg.drift_day is not None else None,
        "fault_rate": cfg.fault_rate if run.faults else 0.0,
        "chunk_size": CHUNK_SIZE,
        "generator_version": GENERATOR_VERSION,
        "counts": {
            "accounts": n_accounts,
            "leads": cfg.leads,
            "activities": counts["activities"],
            "outcomes": counts["outcomes"],
            "converted": counts["converted"],
            "will_convert": counts["will_convert"],
            "contacted_by_sales": counts["contacted"],
            "rows_written": rows,
            "faulty_rows": per_file_faults,
        },
        "parameters": {
            "alpha": funnel_mod.ALPHA,
            "contact_lift": funnel_mod.CONTACT_LIFT,
            "sales_capacity_per_weekday": funnel_mod.sales_capacity(cfg),
        },
        "files": {k: str(v.relative_to(out_dir)) for k, v in files.items()},
    }
    write_json(truth_dir / "manifest.json", manifest)
    files["manifest"] = truth_dir / "manifest.json"
    run.report("done", 1.0)
    return SimulationSummary(
        scenario=cfg.scenario,
        seed=cfg.seed,
        leads=cfg.leads,
        accounts=n_accounts,
        activities=counts["activities"],
        outcomes=counts["outcomes"],
        faulty_rows=faulty,
        days=cfg.days,
        start=cfg.start,
        end=end,
        files=files,
        drift_day=cfg.drift_day,
        converted=counts["converted"],
        contacted=counts["contacted"],
    )
