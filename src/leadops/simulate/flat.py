"""The `leaky` scenario's flat export: the fictional company as one row per lead, as a CRM "leads report" is
exported, carrying three fields a sales rep writes once the outcome is known (the leakage guard's showcase).

After the company is simulated (same world, same seed as `baseline`), its CSV export is folded into
source/leads_flat.csv: the lead's attributes, its account's industry and size, its engagement in the first
day after creation (what the marketing-automation tool had stamped on the record when Sales got it),
`Converted` (1 when a Closed Won outcome exists), and three post-outcome fields of different strengths, none
a perfect separator:

- `Tags` (strong, AUC alone ~0.9): the rep's status tag after working the lead ("Closed by rep", "Will revert
  after reading the email", "Ringing", "Not interested", ...); converts get hopeful tags, others cold ones, with
  overlap, and about a quarter is left empty.
- `LeadQuality` (medium, ~0.8): the rep's rating ("High in Relevance" .. "Worst"), drawn from the outcome and,
  a little, from the lead's true fit (a rep sees the company too).
- `LastActivity` (weak, < 0.7 alone): the last thing the rep logged after the deal was decided ("Contract
  Sent", "Email Opened", ...): filled for ~45 % of converts and ~15 % of the others; its values barely differ.

Draws use their own stream (STREAM_LEAKS) so the relational export is byte-identical to `baseline`'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from leadops.simulate.export import CsvAppender, number_text
from leadops.simulate.world import rng_for

FLAT_FILE = "leads_flat.csv"
STREAM_LEAKS = 9
ENGAGEMENT_DAYS = 1
ENGAGEMENT = (  # flat column, activity type counted in the first ENGAGEMENT_DAYS days
    ("EmailOpensDay1", "email_open"),
    ("EmailClicksDay1", "email_click"),
    ("PageViewsDay1", "page_view"),
    ("PricingViewsDay1", "pricing_view"),
    ("DownloadsDay1", "content_download"),
    ("WebinarsAttendedDay1", "webinar_attendance"),
    ("DemoRequestsDay1", "demo_request"),
)
TAGS = (  # value, share among converts, share among the others (the rest stays empty)
    ("Closed by rep", 0.34, 0.01),
    ("Will revert after reading the email", 0.30, 0.05),
    ("Interested in a demo", 0.10, 0.04),
    ("Busy", 0.04, 0.08),
    ("Ringing", 0.02, 0.22),
    ("Not interested", 0.01, 0.15),
    ("Lost to competitor", 0.01, 0.06),
    ("Wrong number", 0.00, 0.05),
)
QUALITY = ("Worst", "Low in Relevance", "Not Sure", "Might be", "High in Relevance")
LAST_ACTIVITY = (  # value, share among converts, share among the others
    ("Contract Sent", 0.17, 0.03),
    ("Email Opened", 0.16, 0.07),
    ("Meeting Held", 0.12, 0.05),
)
POST_OUTCOME_COLUMNS = ("Tags", "LeadQuality", "LastActivity")


def _choose(rng: np.random.Generator, table: tuple[tuple[str, float, float], ...], converted: np.ndarray) -> pa.Array:
    """One value per lead from the class's shares; the remaining share stays empty (missing)."""
    values = [v for v, _, _ in table]
    out = np.full(converted.size, -1, dtype=np.int64)
    for cls, shares in ((True, [r[1] for r in table]), (False, [r[2] for r in table])):
        idx = np.flatnonzero(converted == cls)
        p = np.array([*shares, 1.0 - sum(shares)], dtype=np.float64)
        out[idx] = rng.choice(len(p), size=idx.size, p=p)
    out[out == len(values)] = -1
    labels = pa.array(values, pa.string())
    return labels.take(pa.array(np.where(out < 0, 0, out), mask=out < 0))


def _quality(rng: np.random.Generator, converted: np.ndarray, fit: np.ndarray) -> pa.Array:
    """The rep's rating: the outcome shifts it by about one step, the lead's fit a little; 35 % left empty."""
    z = 1.45 * converted + 0.25 * (fit - fit.mean()) / (fit.std() or 1.0) + rng.normal(0.0, 0.85, converted.size)
    step = np.clip(np.round(z + 1.6), 0, len(QUALITY) - 1).astype(np.int64)
    empty = rng.random(converted.size) < 0.35
    return pa.array(QUALITY, pa.string()).take(pa.array(step, mask=empty))


def write_leaky_flat(out_dir: Path, seed: int) -> tuple[Path, int, dict[str, int]]:
    """Fold the company's export in out_dir/source into leads_flat.csv; returns (path, rows, converts)."""
    import duckdb

    source = out_dir / "source"
    truth = out_dir / "ground_truth" / "leads_truth.parquet"
    counts = ",\n".join(
        f"count(*) FILTER (WHERE act.ActivityType = '{kind}')::BIGINT AS {name}" for name, kind in ENGAGEMENT
    )
    sql = f"""
        WITH l AS (SELECT * FROM read_csv(?, all_varchar = true, header = true)),
             a AS (SELECT * FROM read_csv(?, all_varchar = true, header = true)),
             act AS (SELECT LeadId, CAST(ActivityDate AS TIMESTAMPTZ) AS t, ActivityType
                     FROM read_csv(?, all_varchar = true, header = true)),
             won AS (SELECT DISTINCT LeadId FROM read_csv(?, all_varchar = true, header = true)
                     WHERE Stage = 'Closed Won'),
             t AS (SELECT lead_id, fit FROM read_parquet(?))
        SELECT l.LeadId, l.LeadSource, l.JobLevel, l.Department, l.Country, a.Industry,
               a.NumberOfEmployees AS Employees, l.HasOptedOutOfEmail, l.DoNotCall,
               {counts},
               (l.LeadId IN (SELECT LeadId FROM won))::INTEGER AS Converted,
               any_value(t.fit) AS fit
        FROM l LEFT JOIN a ON a.AccountId = l.AccountId
        LEFT JOIN act ON act.LeadId = l.LeadId
             AND act.t <= CAST(l.CreatedDate AS TIMESTAMPTZ) + INTERVAL {ENGAGEMENT_DAYS} DAY
        LEFT JOIN t ON t.lead_id = l.LeadId
        GROUP BY ALL ORDER BY l.LeadId
    """
    files = [str(source / f) for f in ("leads.csv", "accounts.csv", "activities.csv", "outcomes.csv")]
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        table = con.sql(sql, params=[*files, str(truth)]).to_arrow_table()
    finally:
        con.close()
    converted = table.column("Converted").to_numpy().astype(bool)
    fit = table.column("fit").to_numpy(zero_copy_only=False).astype(np.float64)
    rng = rng_for(seed, STREAM_LEAKS)
    columns = {name: table.column(name) for name in table.column_names if name != "fit"}
    for name, _ in ENGAGEMENT:
        columns[name] = number_text(table.column(name).to_numpy())
    columns["Converted"] = number_text(table.column("Converted").to_numpy())
    columns["Tags"] = _choose(rng, TAGS, converted)
    columns["LeadQuality"] = _quality(rng, converted, np.nan_to_num(fit))
    columns["LastActivity"] = _choose(rng, LAST_ACTIVITY, converted)
    out = pa.table({k: v.cast(pa.string()) for k, v in columns.items()})
    path = source / FLAT_FILE
    with CsvAppender(path, tuple(out.column_names), patch_bad_bytes=False) as writer:
        writer.write(out)
    return path, out.num_rows, {"converted": int(converted.sum())}
