"""The fictional company day by day, for the closed loop: what happens each day, and what Sales' contacts change.

The world is drawn once up front from the loop's own random streams (who arrives when, what each lead will do,
every uniform that later decides its fate), so everything outside Sales' hands is the same whatever scoring
policy runs; only contacts differ between policies (common random numbers). A contact counts when it happens
within CONTACT_WINDOW_DAYS of the lead's creation; at the end of that window the lead's fate is decided:
it converts when its uniform is below p_convert (contacted in the window) or p_convert_no_contact (not), with the
funnel's logit (simulate/funnel.py). Its stages (SQL, Opportunity, Closed Won / Lost, Disqualified) follow after
the decision and are released on the day they happen; a lead still open STALE_DAYS after creation is closed.
This module writes files only (the day's CRM export and the ground truth); the loop that runs leadops on them
lives in leadops.closed_loop.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from leadops.simulate.activities import ACTIVITY_TYPES, CHANNELS, ActivityBlock, T, draw_activities, merge_sorted
from leadops.simulate.engine import TRUTH_SCHEMA, leads_table
from leadops.simulate.export import (
    ACTIVITY_COLUMNS,
    LEAD_COLUMNS,
    OUTCOME_COLUMNS,
    CsvAppender,
    TimeFormatter,
    TruthWriter,
    account_ids,
    activity_properties,
    lead_ids,
    number_text,
    pick,
    prefixed_ids,
    text_table,
)
from leadops.simulate.funnel import (
    ALPHA,
    CONTACT_LIFT,
    DISQ,
    FIT_WEIGHT,
    INTENT_WEIGHT,
    LAG_MEDIAN_EXTRA_DAYS,
    LAG_MIN_DAYS,
    LAG_SIGMA,
    LOST,
    OPP,
    SQL,
    STAGES,
    WON,
    sigmoid,
)
from leadops.simulate.people import LeadBlock, draw_leads
from leadops.simulate.world import (
    CHUNK_SIZE,
    JOB_STUDENT,
    SOURCE_NAMES,
    STREAM_LOOP_ACTIVITIES,
    STREAM_LOOP_DAYS,
    STREAM_LOOP_FUNNEL,
    STREAM_LOOP_LEADS,
    Accounts,
    SimulationConfig,
    lead_days,
    make_config,
    rng_for,
)

CONTACT_WINDOW_DAYS = 14
"""A Sales contact raises the conversion chance when it comes within this many days of the lead's creation."""
DAY = 86_400
STALE_DAYS = 180
"""A lead neither won, lost nor disqualified this long after it came in is closed (Disqualified: no response),
as a CRM's lead hygiene does; it keeps the nightly job's open population to the leads of the last half year."""
DAY_FILES = ("leads.csv", "activities.csv", "outcomes.csv")
LOOP_ONLY_TRUTH = {"contact_counted": pa.bool_(), "p_effective": pa.float64(), "decided": pa.bool_()}
"""Columns the loop's ground truth adds to the one-pass generator's: whether a contact counted (came within the
window), the probability under the contacts Sales made, and whether the lead's fate is already drawn."""
LOOP_TRUTH_SCHEMA = pa.schema(
    [
        TRUTH_SCHEMA.field(name) if name not in LOOP_ONLY_TRUTH else pa.field(name, LOOP_ONLY_TRUTH[name])
        for name in (
            "lead_id", "account_id", "created_at", "lead_source", "fit", "intent", "p_convert",
            "p_convert_no_contact", "contacted_by_sales", "contacted_at", "contact_counted", "p_effective",
            "decided", "will_convert", "converts_at", "converted", "deal_value",
        )
    ]
)  # fmt: skip
"""The one-pass generator's columns (TRUTH_SCHEMA's types) the loop knows, plus its own."""


def take(block: LeadBlock, idx: np.ndarray) -> LeadBlock:
    """The leads at `idx` of a block, as a block of their own."""
    return LeadBlock(**{f.name: getattr(block, f.name)[idx] for f in fields(LeadBlock)})


def _concat(blocks: list[LeadBlock]) -> LeadBlock:
    return LeadBlock(**{f.name: np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(LeadBlock)})


@dataclass
class Fates:
    """Every uniform and lag that decides a lead's outcome, drawn once when the lead is drawn."""

    u: np.ndarray  # conversion uniform: converts iff u < p (of its contact status)
    lag: np.ndarray  # days from creation to Closed Won
    value: np.ndarray  # deal value if it converts
    sql_frac: np.ndarray
    opp_frac: np.ndarray
    u_sql: np.ndarray
    u_opp: np.ndarray
    u_dq: np.ndarray
    delay_sql: np.ndarray  # days after the decision (non-converters)
    delay_opp: np.ndarray
    delay_lost: np.ndarray
    delay_dq: np.ndarray
    follow: np.ndarray  # bool: a contact gets a follow-up touch
    follow_days: np.ndarray
    call_minutes: np.ndarray
    contact_hours: np.ndarray  # hours after the morning's run that Sales reaches the lead, if it does


@dataclass
class DayExport:
    """What one day added to the CRM: rows per export file, and the paths written."""

    day: date
    leads: int
    activities: int
    outcomes: int
    contacts: int
    files: dict[str, Path]


class DailyCompany:
    """The company of the closed loop: leads, behaviour and fates drawn up front, released day by day."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        start: date,
        days: int,
        leads_per_day: float,
        seed: int,
        first_lead: int,
    ) -> None:
        total = max(1, round(leads_per_day * days))
        self.cfg: SimulationConfig = make_config(
            scenario="baseline", leads=total, days=days, seed=seed, start=start, fault_rate=0.0, drift_day=None
        )
        self.accounts = accounts
        self.first_lead = first_lead
        day_of = lead_days(self.cfg, STREAM_LOOP_DAYS)
        blocks, acts = [], []
        for c in range(self.cfg.n_chunks):
            block = draw_leads(self.cfg, accounts, day_of, c, stream=STREAM_LOOP_LEADS)
            a = draw_activities(self.cfg, block, c, stream=STREAM_LOOP_ACTIVITIES)
            a.lead = a.lead + c * CHUNK_SIZE
            blocks.append(block)
            acts.append(a)
        self.block = _concat(blocks)
        self.local = self.block.index.copy()  # 0-based within the loop
        self.block.index = self.block.index + first_lead
        self.acts = acts[0] if len(acts) == 1 else _merge_all(acts)
        n = len(self.block)
        rng = rng_for(seed, STREAM_LOOP_FUNNEL)
        lag = LAG_MIN_DAYS + np.minimum(np.exp(rng.normal(np.log(LAG_MEDIAN_EXTRA_DAYS), LAG_SIGMA, n)), 330.0)
        employees = accounts.employees[self.block.account].astype(np.float64)
        self.fates = Fates(
            u=rng.random(n),
            lag=lag,
            value=np.round(np.exp(np.log(300.0) + 0.55 * np.log(employees) + rng.normal(0.0, 0.35, n)), 2),
            sql_frac=rng.uniform(0.15, 0.35, n),
            opp_frac=rng.uniform(0.45, 0.7, n),
            u_sql=rng.random(n),
            u_opp=rng.random(n),
            u_dq=rng.random(n),
            delay_sql=rng.uniform(1.0, 30.0, n),
            delay_opp=rng.uniform(5.0, 30.0, n),
            delay_lost=rng.uniform(10.0, 90.0, n),
            delay_dq=rng.uniform(0.5, 20.0, n),
            follow=rng.random(n) < 0.5,
            follow_days=rng.uniform(2.0, 5.0, n),
            call_minutes=rng.integers(2, 31, n).astype(np.float64),
            contact_hours=rng.uniform(1.0, 11.0, n),
        )
        logit0 = ALPHA + FIT_WEIGHT * self.block.fit + INTENT_WEIGHT * self.block.intent + self.block.noise
        self.p0 = sigmoid(logit0)
        self.p1 = sigmoid(logit0 + CONTACT_LIFT)
        self.contacted_at = np.full(n, -1, dtype=np.int64)
        self.decided = np.zeros(n, dtype=bool)
        self.will_convert = np.zeros(n, dtype=bool)
        self.decide_at = self.block.created + CONTACT_WINDOW_DAYS * DAY
        self.order_created = np.argsort(self.block.created, kind="stable")
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.touches: list[ActivityBlock] = []
        self.fmt = TimeFormatter(self.cfg.start_epoch, self.cfg.end_epoch + 400 * DAY)
        self.activity_rows = 0
        self.outcome_rows = 0
        self.won: list[tuple[np.ndarray, np.ndarray]] = []  # (lead, amount) of Closed Won rows released

    # ------------------------------------------------------------------ ids and time
    def index_of(self, lead_ids_: list[str]) -> np.ndarray:
        """Loop-local positions of lead ids (LEAD-00001234 -> 1233 - first_lead); ids not in the loop: -1."""
        numbers = np.array([int(x.rsplit("-", 1)[-1]) - 1 for x in lead_ids_], dtype=np.int64) - self.first_lead
        ok = (numbers >= 0) & (numbers < len(self.block))
        return np.where(ok, numbers, -1)

    def day_start(self, d: int) -> int:
        """UTC seconds of day d's midnight."""
        return self.cfg.start_epoch + d * DAY

    def is_business_day(self, d: int) -> bool:
        """Monday to Friday: when Sales works."""
        return (self.cfg.start.weekday() + d) % 7 < 5

    # ------------------------------------------------------------------ Sales
    def contact(self, idx: np.ndarray, day: int, *, after: int) -> int:
        """Sales contacts these leads on `day` (after the morning's run at `after`); returns how many were new."""
        idx = np.unique(idx[idx >= 0])
        idx = idx[(self.contacted_at[idx] < 0) & (self.block.created[idx] < after)]
        if idx.size == 0:
            return 0
        first = after + (self.fates.contact_hours[idx] * 3600).astype(np.int64)
        self.contacted_at[idx] = first
        follow = self.fates.follow[idx]
        second = first[follow] + (self.fates.follow_days[idx][follow] * DAY).astype(np.int64)
        lead = np.concatenate([idx, idx[follow]])
        t = np.concatenate([first, second])
        phone = ~self.block.do_not_call[lead]
        channel = np.where(phone, CHANNELS.index("Phone"), CHANNELS.index("Email")).astype(np.int8)
        value = np.where(phone, self.fates.call_minutes[lead], np.nan)
        self.touches.append(
            ActivityBlock(lead=lead, t=t, kind=np.full(lead.size, T["sales_touch"], dtype=np.int8), channel=channel,
                          value=value)
        )  # fmt: skip
        return int(idx.size)

    def counted(self) -> np.ndarray:
        """Whether each lead's contact (if any) came within its window: the contact that raised its chance."""
        return (self.contacted_at >= 0) & (self.contacted_at < self.decide_at)

    def p_effective(self) -> np.ndarray:
        """Each lead's true conversion probability under the contacts Sales made."""
        return np.where(self.counted(), self.p1, self.p0)

    # ------------------------------------------------------------------ decisions and stages
    def _decide(self, until: int) -> None:
        """Decide every lead whose contact window closed before `until`; queue its stage rows."""
        idx = np.flatnonzero(~self.decided & (self.decide_at < until))
        if idx.size == 0:
            return
        self.decided[idx] = True
        f = self.fates
        counted = self.counted()[idx]
        p = np.where(counted, self.p1[idx], self.p0[idx])
        will = f.u[idx] < p
        self.will_convert[idx] = will
        decision = self.decide_at[idx]
        created = self.block.created[idx]
        won_t = created + (f.lag[idx] * DAY).astype(np.int64)
        span = np.maximum(won_t - decision, DAY)
        sql_t = decision + (span * f.sql_frac[idx]).astype(np.int64)
        opp_t = decision + (span * f.opp_frac[idx]).astype(np.int64)
        contacted = self.contacted_at[idx] >= 0
        q_sql = 0.8 * sigmoid(np.log(p / (1 - p)) + 0.3)
        sql_other = ~will & (f.u_sql[idx] < q_sql) & contacted
        sql_o = decision + (f.delay_sql[idx] * DAY).astype(np.int64)
        opp_other = sql_other & (f.u_opp[idx] < 0.45)
        opp_o = sql_o + (f.delay_opp[idx] * DAY).astype(np.int64)
        lost_t = opp_o + (f.delay_lost[idx] * DAY).astype(np.int64)
        junk = (self.block.job[idx] == JOB_STUDENT) | self.accounts.competitor[self.block.account[idx]]
        u_dq = f.u_dq[idx]
        disq = ~will & ~sql_other & ((contacted & (u_dq < 0.4)) | (junk & (u_dq < 0.3)) | (u_dq < 0.03))
        disq_t = decision + (f.delay_dq[idx] * DAY).astype(np.int64)
        stale = ~will & ~opp_other & ~disq  # CRM hygiene: still open STALE_DAYS after it came in -> closed
        stale_t = created + STALE_DAYS * DAY
        parts = ((will, sql_t, SQL), (will, opp_t, OPP), (will, won_t, WON), (sql_other, sql_o, SQL),
                 (opp_other, opp_o, OPP), (opp_other, lost_t, LOST), (disq, disq_t, DISQ),
                 (stale, stale_t, DISQ))  # fmt: skip
        for mask, times, stage in parts:
            sel = np.flatnonzero(mask)
            amount = f.value[idx[sel]] if stage == WON else np.full(sel.size, np.nan)
            self.pending.append((idx[sel], times[sel], np.full(sel.size, stage, dtype=np.int8), amount))

    def _release(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The queued stage rows dated in [lo, hi), removed from the queue, in time order."""
        if not self.pending:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.int8), np.zeros(0)
        lead, t, stage, amount = (np.concatenate([p[i] for p in self.pending]) for i in range(4))
        now = (t >= lo) & (t < hi)
        later = t >= hi
        self.pending = [(lead[later], t[later], stage[later], amount[later])]
        order = np.lexsort((lead[now], t[now]))
        return lead[now][order], t[now][order], stage[now][order], amount[now][order]

    # ------------------------------------------------------------------ the day's export
    def end_day(self, d: int, out_dir: Path) -> DayExport:
        """Close day d: decide the leads whose window closed, write the day's leads, activities and outcomes."""
        lo, hi = self.day_start(d), self.day_start(d + 1)
        self._decide(hi)
        out_dir.mkdir(parents=True, exist_ok=True)
        created = self.block.created
        new = np.flatnonzero((created >= lo) & (created < hi))
        a = self.acts
        sel = np.flatnonzero((a.t >= lo) & (a.t < hi))
        day_acts = ActivityBlock(lead=a.lead[sel], t=a.t[sel], kind=a.kind[sel], channel=a.channel[sel],
                                 value=a.value[sel])  # fmt: skip
        touches = self.touches
        if touches:
            tb = touches[0] if len(touches) == 1 else _merge_all(touches)
            now_t = (tb.t >= lo) & (tb.t < hi)
            later = tb.t >= hi
            day_acts = merge_sorted(day_acts, _subset(tb, np.flatnonzero(now_t)))
            self.touches = [_subset(tb, np.flatnonzero(later))] if later.any() else []
        contacts_today = int(np.count_nonzero((self.contacted_at >= lo) & (self.contacted_at < hi)))
        out_lead, out_t, out_stage, out_amount = self._release(lo, hi)
        paths = {name: out_dir / name for name in DAY_FILES}
        block = self.block
        with CsvAppender(paths["leads.csv"], LEAD_COLUMNS, patch_bad_bytes=False) as w:
            w.write(leads_table(take(block, new), self.accounts, self.fmt))
        with CsvAppender(paths["activities.csv"], ACTIVITY_COLUMNS, patch_bad_bytes=False) as w:
            n = len(day_acts)
            ids = prefixed_ids("ACT-L", self.activity_rows + 1 + np.arange(n), 10)
            self.activity_rows += n
            w.write(
                text_table(
                    ACTIVITY_COLUMNS,
                    [
                        ids,
                        lead_ids(block.index[day_acts.lead]),
                        self.fmt.format(day_acts.t, block.region[day_acts.lead]),
                        pick(ACTIVITY_TYPES, day_acts.kind),
                        pick(CHANNELS, day_acts.channel),
                        number_text(day_acts.value),
                        *activity_properties(day_acts.kind, ACTIVITY_TYPES, day_acts.value, day_acts.t),
                    ],
                )
            )
        with CsvAppender(paths["outcomes.csv"], OUTCOME_COLUMNS, patch_bad_bytes=False) as w:
            m = out_lead.size
            ids = prefixed_ids("OUT-L", self.outcome_rows + 1 + np.arange(m), 9)
            self.outcome_rows += m
            w.write(
                text_table(
                    OUTCOME_COLUMNS,
                    [
                        ids,
                        lead_ids(block.index[out_lead]),
                        self.fmt.format(out_t, block.region[out_lead]),
                        pick(STAGES, out_stage),
                        number_text(out_amount),
                    ],
                )
            )
        won = out_stage == WON
        self.won.append((out_lead[won], out_amount[won]))
        return DayExport(
            day=self.cfg.start.fromordinal(self.cfg.start.toordinal() + d),
            leads=int(new.size),
            activities=len(day_acts),
            outcomes=int(m),
            contacts=contacts_today,
            files=paths,
        )

    # ------------------------------------------------------------------ ground truth
    def released(self, until_day: int) -> np.ndarray:
        """Loop-local indices of the leads created before the end of day `until_day` (the ones in the CRM)."""
        return np.flatnonzero(self.block.created < self.day_start(until_day + 1))

    def converted(self) -> tuple[np.ndarray, np.ndarray]:
        """Per lead: converted within the loop (a Closed Won row released), and its deal value (0 otherwise)."""
        n = len(self.block)
        done = np.zeros(n, dtype=bool)
        value = np.zeros(n)
        for lead, amount in self.won:
            done[lead] = True
            value[lead] = amount
        return done, value

    def truth(self, path: Path, until_day: int) -> Path:
        """Write the ground truth of every lead the loop released: both probabilities, contact, fate."""
        idx = self.released(until_day)
        b = take(self.block, idx)
        converted, _ = self.converted()
        contacted = self.contacted_at[idx] >= 0
        will = self.will_convert[idx]
        converts_at = b.created + (self.fates.lag[idx] * DAY).astype(np.int64)
        columns: dict[str, Any] = {
            "lead_id": lead_ids(b.index),
            "account_id": account_ids(b.account),
            "created_at": _ts(b.created),
            "lead_source": pick(SOURCE_NAMES, b.source),
            "fit": b.fit,
            "intent": b.intent,
            "p_convert": self.p1[idx],
            "p_convert_no_contact": self.p0[idx],
            "contacted_by_sales": contacted,
            "contacted_at": _ts(self.contacted_at[idx], contacted),
            "contact_counted": self.counted()[idx],
            "p_effective": self.p_effective()[idx],
            "decided": self.decided[idx],
            "will_convert": will,
            "converts_at": _ts(converts_at, will),
            "converted": converted[idx],
            "deal_value": self.fates.value[idx],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = TruthWriter(path, LOOP_TRUTH_SCHEMA)
        writer.write(columns)
        writer.close()
        return path


def _ts(t: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(t.astype("datetime64[s]"), type=pa.timestamp("s"), mask=mask)


def _subset(a: ActivityBlock, idx: np.ndarray) -> ActivityBlock:
    return ActivityBlock(lead=a.lead[idx], t=a.t[idx], kind=a.kind[idx], channel=a.channel[idx], value=a.value[idx])


def _merge_all(blocks: list[ActivityBlock]) -> ActivityBlock:
    out = blocks[0]
    for b in blocks[1:]:
        out = merge_sorted(out, b)
    return out
