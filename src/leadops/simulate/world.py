"""The fictional company's fixed vocabulary, run settings and accounts: the parts every chunk of leads shares.

Everything random here is drawn from a numpy Generator derived from the run's seed and a named stream, so a
rerun with the same settings reproduces every account byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadops.errors import ConfigError

SCENARIOS: tuple[str, ...] = ("baseline", "drift", "faults", "tutorial", "leaky", "concept")
DEFAULT_START = date(2025, 1, 1)
"""Fixed default start: a default relative to today would make reruns differ, so history runs 2025-01-01 + days."""

CHUNK_SIZE = 100_000
"""Leads per chunk; fixed so that every lead's draws are the same however big the run is."""

# Named random streams (the third element of the SeedSequence entropy after seed and chunk index).
STREAM_ACCOUNTS = 1
STREAM_DAYS = 2
STREAM_LEADS = 3
STREAM_ACTIVITIES = 4
STREAM_FUNNEL = 5
STREAM_FAULTS = 6
STREAM_SALES = 7
STREAM_TUTORIAL = 8
STREAM_CONCEPT = 9  # the concept scenario's reshuffle of which lead's intent drives activities
STREAM_LOOP_DAYS = 11  # the closed loop's own streams (simulate/daily.py): its leads are not the history's
STREAM_LOOP_LEADS = 12
STREAM_LOOP_ACTIVITIES = 13
STREAM_LOOP_FUNNEL = 14

# Regions: label, fixed UTC offset in minutes, offset text, share of accounts, fit weight.
REGIONS: tuple[str, ...] = ("North America", "EMEA", "APAC", "LATAM")
REGION_OFFSET_MIN = np.array([-300, 60, 480, -180], dtype=np.int64)
REGION_OFFSET_TEXT: tuple[str, ...] = ("-05:00", "+01:00", "+08:00", "-03:00")
REGION_SHARE = np.array([0.45, 0.30, 0.15, 0.10])
REGION_FIT = np.array([0.10, 0.0, -0.10, -0.20])

COUNTRIES: tuple[tuple[str, int, float], ...] = (
    # name, region index, share within region
    ("United States", 0, 0.85),
    ("Canada", 0, 0.15),
    ("United Kingdom", 1, 0.28),
    ("Germany", 1, 0.24),
    ("France", 1, 0.16),
    ("Netherlands", 1, 0.10),
    ("Sweden", 1, 0.08),
    ("Spain", 1, 0.14),
    ("Australia", 2, 0.30),
    ("Japan", 2, 0.20),
    ("Singapore", 2, 0.15),
    ("India", 2, 0.35),
    ("Brazil", 3, 0.45),
    ("Mexico", 3, 0.30),
    ("Argentina", 3, 0.12),
    ("Chile", 3, 0.13),
)
COUNTRY_NAMES: tuple[str, ...] = tuple(c[0] for c in COUNTRIES)
COUNTRY_REGION = np.array([c[1] for c in COUNTRIES], dtype=np.int8)

# Industries: label, share of accounts before drift, share of new leads after drift, fit weight.
INDUSTRIES: tuple[tuple[str, float, float, float], ...] = (
    ("Software", 0.18, 0.10, 0.55),
    ("Financial Services", 0.12, 0.08, 0.40),
    ("Healthcare", 0.10, 0.08, 0.20),
    ("Manufacturing", 0.12, 0.10, 0.00),
    ("Retail", 0.10, 0.22, -0.15),
    ("Education", 0.06, 0.14, -0.50),
    ("Government", 0.04, 0.04, -0.30),
    ("Telecom", 0.05, 0.04, 0.25),
    ("Media", 0.06, 0.08, 0.00),
    ("Energy", 0.04, 0.03, 0.05),
    ("Professional Services", 0.09, 0.06, 0.15),
    ("Logistics", 0.04, 0.03, -0.05),
)
INDUSTRY_NAMES: tuple[str, ...] = tuple(i[0] for i in INDUSTRIES)
INDUSTRY_SHARE = np.array([i[1] for i in INDUSTRIES])
INDUSTRY_SHARE_DRIFT = np.array([i[2] for i in INDUSTRIES])
INDUSTRY_FIT = np.array([i[3] for i in INDUSTRIES])

# Lead sources: label, share before drift, share after drift, intent shift, fit shift.
SOURCES: tuple[tuple[str, float, float, float, float], ...] = (
    ("Organic Search", 0.20, 0.14, 0.20, 0.00),
    ("Paid Search", 0.15, 0.11, 0.00, 0.00),
    ("Webinar", 0.10, 0.07, 0.30, 0.05),
    ("Trade Show", 0.08, 0.06, 0.15, 0.10),
    ("Content Syndication", 0.12, 0.08, -0.45, -0.10),
    ("Referral", 0.06, 0.05, 0.60, 0.30),
    ("Partner", 0.07, 0.05, 0.40, 0.20),
    ("Purchased List", 0.12, 0.09, -1.00, -0.30),
    ("Demo Form", 0.10, 0.07, 1.10, 0.10),
    ("Paid Social", 0.00, 0.28, -0.80, -0.35),
)
SOURCE_NAMES: tuple[str, ...] = tuple(s[0] for s in SOURCES)
SOURCE_SHARE = np.array([s[1] for s in SOURCES])
SOURCE_SHARE_DRIFT = np.array([s[2] for s in SOURCES])
SOURCE_INTENT = np.array([s[3] for s in SOURCES])
SOURCE_FIT = np.array([s[4] for s in SOURCES])

# Job levels: canonical name, CRM label, fit weight. Index 6 is the web form's "Select" placeholder.
JOB_LEVELS: tuple[tuple[str, str, float], ...] = (
    ("student", "Student", -1.50),
    ("individual_contributor", "Individual Contributor", -0.25),
    ("manager", "Manager", 0.20),
    ("director", "Director", 0.45),
    ("vp", "VP", 0.45),
    ("c_level", "C-Level", 0.25),
    ("", "Select", -0.35),
)
JOB_LABELS: tuple[str, ...] = tuple(j[1] for j in JOB_LEVELS)
JOB_FIT = np.array([j[2] for j in JOB_LEVELS])
JOB_SHARE = np.array([0.05, 0.33, 0.24, 0.14, 0.07, 0.05, 0.12])
JOB_STUDENT = 0

DEPARTMENTS: tuple[tuple[str, float, float], ...] = (
    # label ("" = not given), share, fit weight
    ("Marketing", 0.22, 0.40),
    ("Sales", 0.16, 0.30),
    ("IT", 0.14, 0.30),
    ("Engineering", 0.12, 0.15),
    ("Finance", 0.08, 0.00),
    ("Operations", 0.10, 0.00),
    ("HR", 0.05, -0.35),
    ("Executive", 0.04, 0.20),
    ("Other", 0.05, -0.20),
    ("", 0.04, -0.10),
)
DEPARTMENT_NAMES: tuple[str, ...] = tuple(d[0] for d in DEPARTMENTS)
DEPARTMENT_SHARE = np.array([d[1] for d in DEPARTMENTS])
DEPARTMENT_FIT = np.array([d[2] for d in DEPARTMENTS])

# Email domain types (canonical order): share, fit weight.
DOMAIN_TYPES: tuple[str, ...] = ("corporate", "free", "edu", "gov", "unknown")
DOMAIN_SHARE = np.array([0.66, 0.23, 0.06, 0.03, 0.02])
DOMAIN_FIT = np.array([0.0, -0.55, -0.80, -0.30, -0.50])
FREE_DOMAINS: tuple[str, ...] = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
EDU_DOMAINS: tuple[str, ...] = ("mit.edu", "stanford.edu", "berkeley.edu", "umich.edu", "nyu.edu", "utexas.edu")
GOV_DOMAINS: tuple[str, ...] = ("agency.gov", "energy.gov", "health.gov", "treasury.gov", "state.gov")

FIRST_NAMES: tuple[str, ...] = tuple(
    [
        "jane",
        "john",
        "maria",
        "david",
        "sarah",
        "michael",
        "emma",
        "james",
        "olivia",
        "robert",
        "sophia",
        "william",
        "ava",
        "daniel",
        "mia",
        "thomas",
        "isabella",
        "joseph",
        "charlotte",
        "matthew",
        "amelia",
        "andrew",
        "harper",
        "lucas",
        "evelyn",
        "ethan",
        "abigail",
        "noah",
        "emily",
        "liam",
        "ella",
        "mason",
        "chloe",
        "logan",
        "grace",
        "elijah",
        "zoe",
        "aiden",
        "lily",
        "carlos",
        "ana",
        "luis",
        "sofia",
        "diego",
        "lucia",
        "javier",
        "camila",
        "pierre",
        "claire",
        "hans",
        "greta",
        "lars",
        "ingrid",
        "kenji",
        "yuki",
        "hiroshi",
        "mei",
        "wei",
        "li",
        "raj",
        "priya",
        "arjun",
        "ananya",
        "omar",
        "fatima",
        "ali",
        "leila",
        "ivan",
        "olga",
        "dmitri",
        "anya",
    ]
)
LAST_NAMES: tuple[str, ...] = tuple(
    [
        "doe",
        "smith",
        "johnson",
        "williams",
        "brown",
        "jones",
        "garcia",
        "miller",
        "davis",
        "rodriguez",
        "martinez",
        "hernandez",
        "lopez",
        "gonzalez",
        "wilson",
        "anderson",
        "thomas",
        "taylor",
        "moore",
        "jackson",
        "martin",
        "lee",
        "perez",
        "thompson",
        "white",
        "harris",
        "sanchez",
        "clark",
        "ramirez",
        "lewis",
        "robinson",
        "walker",
        "young",
        "allen",
        "king",
        "wright",
        "scott",
        "torres",
        "nguyen",
        "hill",
        "flores",
        "green",
        "adams",
        "nelson",
        "baker",
        "hall",
        "rivera",
        "campbell",
        "mitchell",
        "carter",
        "roberts",
        "mueller",
        "schmidt",
        "schneider",
        "fischer",
        "weber",
        "dubois",
        "moreau",
        "laurent",
        "tanaka",
        "suzuki",
        "sato",
        "watanabe",
        "kumar",
        "sharma",
        "patel",
        "singh",
        "silva",
        "santos",
        "oliveira",
        "costa",
        "ivanov",
        "petrov",
        "kowalski",
        "novak",
    ]
)
NAME_HEADS: tuple[str, ...] = tuple(
    [
        "acme",
        "globex",
        "initech",
        "umbrella",
        "hooli",
        "stark",
        "wayne",
        "wonka",
        "tyrell",
        "cyberdyne",
        "soylent",
        "vandelay",
        "northwind",
        "contoso",
        "fabrikam",
        "tailspin",
        "litware",
        "adventure",
        "proseware",
        "wingtip",
        "blue",
        "red",
        "green",
        "silver",
        "golden",
        "iron",
        "granite",
        "summit",
        "pioneer",
        "vertex",
        "apex",
        "nova",
        "orion",
        "atlas",
        "zenith",
        "horizon",
        "quantum",
        "fusion",
        "polar",
        "coastal",
        "prairie",
        "river",
        "harbor",
        "canyon",
        "maple",
        "cedar",
        "oak",
        "willow",
        "falcon",
        "eagle",
        "hawk",
        "lion",
        "tiger",
        "bright",
        "clear",
        "swift",
        "true",
        "bold",
        "prime",
        "next",
        "first",
        "united",
        "global",
        "pacific",
        "atlantic",
        "northern",
        "southern",
        "eastern",
        "western",
    ]
)
NAME_TAILS: tuple[str, ...] = tuple(
    [
        "corp",
        "systems",
        "labs",
        "analytics",
        "logistics",
        "health",
        "capital",
        "foods",
        "motors",
        "energy",
        "media",
        "networks",
        "solutions",
        "partners",
        "industries",
        "dynamics",
        "software",
        "retail",
        "bank",
        "insurance",
        "consulting",
        "works",
        "group",
        "holdings",
        "technologies",
        "devices",
        "pharma",
        "foods",
        "supply",
        "digital",
    ]
)


def _index(names: tuple[str, ...], name: str) -> int:
    """Index of a category by name, for readable code."""
    return names.index(name)


IND_SOFTWARE = _index(INDUSTRY_NAMES, "Software")
SRC_PAID_SOCIAL = _index(SOURCE_NAMES, "Paid Social")


@dataclass(frozen=True)
class SimulationConfig:
    """One run's validated settings."""

    scenario: str
    leads: int
    days: int
    seed: int
    start: date
    fault_rate: float
    drift_day: int | None
    sales_capacity: int | None = None
    """New leads the simulated Sales team contacts per weekday (None = about 12 % of the daily lead flow)."""

    @property
    def start_epoch(self) -> int:
        """UTC seconds of the start date's midnight."""
        return int(datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp())

    @property
    def end_epoch(self) -> int:
        """UTC seconds of the end (exclusive): midnight after the last simulated day."""
        return self.start_epoch + self.days * 86_400

    @property
    def n_chunks(self) -> int:
        """How many fixed-size chunks of leads the run writes."""
        return max(1, -(-self.leads // CHUNK_SIZE))

    @property
    def drift_active(self) -> bool:
        """Whether leads from drift_day on come from the drifted world."""
        return self.scenario == "drift" and self.drift_day is not None

    @property
    def concept_active(self) -> bool:
        """Whether leads from drift_day on act on another lead's intent (pure concept drift: the same mix, the
        same activity distributions, but what a lead does no longer says how likely it is to buy)."""
        return self.scenario == "concept" and self.drift_day is not None


def make_config(
    *,
    scenario: str,
    leads: int,
    days: int,
    seed: int,
    start: date | None,
    fault_rate: float,
    drift_day: int | None,
    sales_capacity: int | None = None,
) -> SimulationConfig:
    """Validate the public arguments; every failure names the argument, what was expected and what came."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"simulate: unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    if not isinstance(leads, int) or leads < 1:
        raise ConfigError(f"simulate: leads must be a positive integer, got {leads!r}")
    if not isinstance(days, int) or days < 1:
        raise ConfigError(f"simulate: days must be a positive integer, got {days!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"simulate: seed must be a non-negative integer, got {seed!r}")
    if not 0.0 <= fault_rate < 0.5:
        raise ConfigError(f"simulate: fault_rate must be in [0, 0.5), got {fault_rate!r}")
    if sales_capacity is not None and (not isinstance(sales_capacity, int) or sales_capacity < 1):
        raise ConfigError(f"simulate: sales_capacity must be a positive integer, got {sales_capacity!r}")
    if scenario in ("drift", "concept"):
        drift_day = days * 2 // 3 if drift_day is None else drift_day
        if not 0 < drift_day < days:
            raise ConfigError(f"simulate: drift_day must be between 1 and days-1 ({days - 1}), got {drift_day!r}")
    else:
        drift_day = None
    return SimulationConfig(
        scenario=scenario,
        leads=leads,
        days=days,
        seed=seed,
        start=start or DEFAULT_START,
        fault_rate=float(fault_rate),
        drift_day=drift_day,
        sales_capacity=sales_capacity,
    )


def rng_for(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    """A Generator for one named stream of one chunk: independent of every other stream and chunk."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, chunk]))


@dataclass
class Accounts:
    """Every account of the company's market, as columns; index i is AccountId number i + 1."""

    industry: np.ndarray  # int8 index into INDUSTRIES
    employees: np.ndarray  # int64
    revenue: np.ndarray  # int64 whole dollars
    country: np.ndarray  # int16 index into COUNTRIES
    region: np.ndarray  # int8
    profitable: np.ndarray  # bool
    competitor: np.ndarray  # bool
    hidden_fit: np.ndarray  # float64: budget/timing nobody can observe
    fit: np.ndarray  # float64: firmographic part of fit (observable + hidden)
    name: pa.Array  # string
    domain: pa.Array  # string, e.g. acme-analytics.com
    by_industry: list[np.ndarray]  # account indices per industry, for drawing a lead's account

    def __len__(self) -> int:
        return int(self.industry.shape[0])


def size_fit(employees: np.ndarray) -> np.ndarray:
    """Fit from company size: mid-market and enterprise buy, one-person shops rarely do."""
    return 0.45 * np.tanh(np.log10(np.maximum(employees, 1)) - 1.8)


def make_accounts(cfg: SimulationConfig) -> Accounts:
    """Draw the accounts (about one per three leads) with firmographics and their part of the hidden fit."""
    rng = rng_for(cfg.seed, STREAM_ACCOUNTS)
    n = max(len(INDUSTRIES), cfg.leads // 3)
    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_SHARE / INDUSTRY_SHARE.sum()).astype(np.int8)
    # make sure every industry owns at least one account so a lead of any industry can be placed
    industry[: len(INDUSTRIES)] = np.arange(len(INDUSTRIES), dtype=np.int8)
    log_emp = rng.normal(1.9, 0.85, n)
    employees = np.clip(np.round(10**log_emp), 1, 400_000).astype(np.int64)
    rev_per_emp = np.exp(rng.normal(np.log(160_000), 0.45, n))
    revenue = np.round(employees * rev_per_emp, -3).astype(np.int64)
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE).astype(np.int8)
    country = np.empty(n, dtype=np.int16)
    for r in range(len(REGIONS)):
        idx = np.flatnonzero(region == r)
        members = np.flatnonzero(r == COUNTRY_REGION)
        share = np.array([COUNTRIES[m][2] for m in members])
        country[idx] = members[rng.choice(len(members), size=idx.size, p=share / share.sum())]
    profitable = rng.random(n) < 0.55 + 0.05 * np.tanh(log_emp - 2)
    competitor = rng.random(n) < 0.015
    hidden_fit = rng.normal(0.0, 0.20, n)
    fit = (
        INDUSTRY_FIT[industry]
        + size_fit(employees)
        + 0.20 * profitable
        - 3.0 * competitor
        + REGION_FIT[region]
        + hidden_fit
    )
    head = rng.integers(0, len(NAME_HEADS), n)
    tail = rng.integers(0, len(NAME_TAILS), n)
    heads = pa.array(NAME_HEADS).take(pa.array(head))
    tails = pa.array(NAME_TAILS).take(pa.array(tail))
    name = pc.binary_join_element_wise(pc.utf8_capitalize(heads), pc.utf8_capitalize(tails), " ")
    domain = pc.binary_join_element_wise(heads, "-", tails, ".com", "")
    by_industry = [np.flatnonzero(industry == k) for k in range(len(INDUSTRIES))]
    return Accounts(
        industry=industry,
        employees=employees,
        revenue=revenue,
        country=country,
        region=region,
        profitable=profitable,
        competitor=competitor,
        hidden_fit=hidden_fit,
        fit=fit,
        name=name,
        domain=domain,
        by_industry=by_industry,
    )


def lead_days(cfg: SimulationConfig, stream: int = STREAM_DAYS) -> np.ndarray:
    """Creation day of every lead (sorted): weekday-heavy arrivals with mild growth over the history."""
    rng = rng_for(cfg.seed, stream)
    day = np.arange(cfg.days)
    weekday = (cfg.start.weekday() + day) % 7  # Monday = 0
    weekday_weight = np.array([1.0, 1.1, 1.1, 1.05, 0.9, 0.3, 0.25])[weekday]
    weight = weekday_weight * (1.0 + 0.3 * day / max(cfg.days, 1))
    counts = rng.multinomial(cfg.leads, weight / weight.sum())
    return np.repeat(day, counts).astype(np.int32)
