"""`leadops erase LEAD_ID...`: remove people from every table and every CSV/Parquet file leadops keeps.

Tables are discovered, not listed: every base table of the warehouse with a `lead_id` column loses the rows of
the named leads (canonical leads/activities/outcomes, scores, queues, shadow scores, feature snapshots, and
any table added later), and every table of the workspace's SQLite stores (`.leadops/*.sqlite`: the shadow
log, the intake spool and its request ledger); quarantine entries whose raw values or detail mention a lead
id or its email are deleted. Export files (exports/<date>/*.csv, *.parquet) are rewritten without their rows;
the other CSV and Parquet files of the workspace and the configured sources (the CRM's own export, the
simulator's ground truth) are listed, and rewritten too with `rewrite_sources`; monitoring's kept samples (keyed
by sha256 of the lead id, crm.erase_samples) lose their rows. Each request is audited in
`erasure_log` with who, when and how many rows per table and file, never the erased values; a second run finds
nothing and says so.
`erased_leads` keeps sha256 of each erased id so ingest leaves them out when the CRM export still has them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadops.actor import default_actor
from leadops.crm.erase_samples import erase_in_samples, key_of
from leadops.crm.erase_stores import erase_in_stores
from leadops.crm.readers import resolve_files
from leadops.errors import ConfigError, IngestError

if TYPE_CHECKING:
    import pyarrow as pa

    from leadops.settings.crm import SourceSpec
    from leadops.warehouse.connection import Warehouse

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
WORD = re.compile(r"[A-Za-z0-9_.@+\-]+")
LIKE_TOKENS = 50  # up to this many ids and emails, the database pre-filters quarantine rows with LIKE
FILE_SUFFIXES = (".csv", ".parquet")
SKIP_DIRS = (".leadops", "mlartifacts", "mlruns", ".git")
MAX_IDS = 10_000


@dataclass
class Mentions:
    """What identifies the people being erased: their lead ids and the email addresses found beside them."""

    ids: set[str]
    emails: set[str] = field(default_factory=set)
    _cache: set[str] | None = field(default=None, repr=False)

    def add_emails(self, found: Iterable[str]) -> None:
        """Addresses seen beside their ids (a CRM export row): looked for too from now on."""
        self.emails.update(found)
        self._cache = None

    def tokens(self) -> set[str]:
        """Every value whose appearance means the row is about one of them."""
        return self.ids | self.emails

    def found_in(self, text: str) -> bool:
        """Whether `text` holds one of the tokens as a whole word (LEAD-1 is not in LEAD-10), ignoring case.

        Words are split on anything but letters, digits and `_ . @ + -` (trailing dots dropped), then looked up
        in a set: linear in the text whatever the number of people erased."""
        wanted = self._lowered()
        lowered = text.lower()
        if len(wanted) <= LIKE_TOKENS and not any(t in lowered for t in wanted):
            return False  # a few people: a substring test rules out almost every text at C speed
        return any(word.rstrip(".") in wanted for word in WORD.findall(lowered))

    def _lowered(self) -> set[str]:
        if self._cache is None:
            self._cache = {t.lower() for t in self.tokens()}
        return self._cache


def _check_ids(lead_ids: Sequence[str]) -> set[str]:
    ids = {i.strip() for i in lead_ids}
    if not lead_ids or "" in ids:
        raise ConfigError("erase: give one or more non-empty lead ids, e.g. `leadops erase LEAD-00000042`")
    if len(ids) > MAX_IDS:
        raise ConfigError(f"erase: at most {MAX_IDS:,} lead ids per request, got {len(ids):,}; split the list")
    return ids


# ------------------------------------------------------------------------------------------- warehouse
def lead_tables(warehouse: Warehouse) -> list[str]:
    """Every base table of the warehouse's schema with a lead_id column (views follow their tables)."""
    rows = warehouse.rows(
        "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
        "WHERE c.column_name = 'lead_id' AND t.table_type = 'BASE TABLE' AND c.table_schema = current_schema() "
        "ORDER BY c.table_name"
    )
    return [str(r[0]) for r in rows]


def _in_list(values: Iterable[str]) -> tuple[str, list[str]]:
    items = sorted(values)
    return ", ".join("?" for _ in items), items


def _stored_emails(warehouse: Warehouse, ids: set[str]) -> set[str]:
    """The addresses the leads table holds for them (only when a source keeps emails)."""
    marks, params = _in_list(ids)
    rows = warehouse.rows(f"SELECT email FROM leads WHERE lead_id IN ({marks}) AND email IS NOT NULL", params)
    return {str(r[0]) for r in rows if r[0]}


def _quarantine_matches(warehouse: Warehouse, who: Mentions) -> list[tuple[Any, ...]]:
    """Keys of the quarantine entries whose raw values or detail mention one of them."""
    text = f"CAST(raw AS {warehouse.sql.text})"
    tokens = sorted(who.tokens())
    where, params = "", []
    if len(tokens) <= LIKE_TOKENS:
        likes = []
        for token in tokens:
            like = "%" + token.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            likes.append(f"lower({text}) LIKE ? ESCAPE '\\' OR lower(detail) LIKE ? ESCAPE '\\'")
            params += [like, like]
        where = " WHERE " + " OR ".join(likes)
    rows = warehouse.rows(f"SELECT source, row_number, reason, row_hash, {text}, detail FROM quarantine{where}", params)
    found = []
    for source, number, reason, digest, raw, detail in rows:
        values = list(json.loads(raw).values()) if raw else []
        if any(isinstance(v, str) and who.found_in(v) for v in [*values, detail]):
            found.append((source, number, reason, digest))
    return found


def _erase_rows(warehouse: Warehouse, who: Mentions, tables: list[str], dry_run: bool) -> dict[str, int]:
    """Delete their rows from every lead table and the quarantine, in one transaction; counts per table."""
    from leadops.warehouse.connection import quote_ident

    counts: dict[str, int] = {}
    marks, params = _in_list(who.ids)
    with warehouse.transaction():
        for table in tables:
            where = f"lead_id IN ({marks})"
            n = int(warehouse.scalar(f"SELECT count(*) FROM {quote_ident(table)} WHERE {where}", params) or 0)
            counts[table] = n
            if n and not dry_run:
                warehouse.execute(f"DELETE FROM {quote_ident(table)} WHERE {where}", params)
        if warehouse.table_exists("quarantine"):
            matches = _quarantine_matches(warehouse, who)
            counts["quarantine"] = len(matches)
            if not dry_run:
                for source, number, reason, digest in matches:
                    warehouse.execute(
                        "DELETE FROM quarantine WHERE source = ? AND row_number = ? AND reason = ? "
                        "AND row_hash IS NOT DISTINCT FROM ?",
                        [source, number, reason, digest],
                    )
    return counts


def lead_key(lead_id: str) -> str:
    """What the suppression list keeps of an erased lead: sha256 of its id, hex (the id is not stored)."""
    return key_of(lead_id)


def _suppress(warehouse: Warehouse, ids: set[str], at: Any) -> None:
    rows = [[lead_key(i), at] for i in sorted(ids)]
    for row in rows:
        warehouse.execute("INSERT INTO erased_leads (lead_key, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING", row)


def drop_erased(warehouse: Warehouse, rows: str) -> int:
    """Ingest's seam: delete from the batch table `rows` (with a lead_id column) the rows of erased leads;
    return how many (reported as filtered 'erased', so nothing is lost from the accounting)."""
    if not warehouse.scalar("SELECT count(*) > 0 FROM erased_leads"):
        return 0
    where = f"{warehouse.sql.sha256_hex('lead_id')} IN (SELECT lead_key FROM erased_leads)"
    n = int(warehouse.scalar(f"SELECT count(*) FROM {rows} WHERE lead_id IS NOT NULL AND {where}") or 0)
    if n:
        warehouse.execute(f"DELETE FROM {rows} WHERE lead_id IS NOT NULL AND {where}")
    return n


def erased_keys(warehouse: Warehouse) -> set[str]:
    """The suppression list (for ingest paths that map rows outside the warehouse)."""
    return {str(r[0]) for r in warehouse.rows("SELECT lead_key FROM erased_leads")}


def drop_erased_rows(batch: pa.Table, keys: set[str]) -> tuple[pa.Table, int]:
    """The mapped batch without the rows of erased leads, and how many were dropped (Arrow, in memory)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not keys or "lead_id" not in batch.column_names or batch.num_rows == 0:
        return batch, 0
    hit = [v is not None and lead_key(v) in keys for v in batch.column("lead_id").to_pylist()]
    n = sum(hit)
    return (batch.filter(pc.invert(pa.array(hit))), n) if n else (batch, 0)


# ------------------------------------------------------------------------------------------------ files
def _file_mentions(path: Path, who: Mentions) -> bool:
    """Whether the file's bytes hold any token at all (cheap pre-check before parsing)."""
    if path.suffix == ".parquet":
        return True  # compressed: only reading it can tell
    tokens = [t.lower().encode("utf-8") for t in who.tokens()]
    overlap = max(len(t) for t in tokens)
    with open(path, "rb") as handle:
        tail = b""
        while chunk := handle.read(8 << 20):
            block = (tail + chunk).lower()
            if any(t in block for t in tokens):
                return True
            tail = block[-overlap:]
    return False


def _records(handle: io.TextIOBase) -> Iterator[str]:
    """The file's CSV records as their exact text (a quoted field may span lines)."""
    pending: list[str] = []
    odd = False
    for line in handle:
        pending.append(line)
        odd ^= line.count('"') % 2 == 1
        if not odd:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)


def _csv_rewrite(path: Path, who: Mentions, dry_run: bool, emails: set[str]) -> int:
    """Drop the CSV records mentioning them (the header and every other record kept byte for byte)."""
    removed = 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.erase.tmp")
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(open(path, encoding="utf-8", errors="surrogateescape", newline=""))
        out = None
        if not dry_run:
            out = stack.enter_context(open(tmp, "w", encoding="utf-8", errors="surrogateescape", newline=""))
        for number, record in enumerate(_records(handle)):
            if number > 0 and who.found_in(record):
                removed += 1
                emails.update(EMAIL.findall(record))
            elif out is not None:
                out.write(record)
    if not dry_run and removed:
        os.replace(tmp, path)
    tmp.unlink(missing_ok=True)
    return removed


def _parquet_rewrite(path: Path, who: Mentions, dry_run: bool, emails: set[str]) -> int:
    """Drop the Parquet rows with a text value naming them (schema and compression kept); rows removed."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    tokens = pa.array(sorted(who.tokens() | {e.lower() for e in who.emails}), pa.string())
    hit = pa.array([False] * table.num_rows)
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            text = pc.cast(column, pa.string())
            match = pc.fill_null(
                pc.or_(pc.is_in(text, value_set=tokens), pc.is_in(pc.utf8_lower(text), value_set=tokens)), False
            )
            hit = pc.or_(hit, match)
    removed = int(pc.sum(hit).as_py() or 0)
    if removed:
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_string(column.type):
                for value in column.filter(hit).to_pylist():
                    if isinstance(value, str):
                        emails.update(EMAIL.findall(value))
    if removed and not dry_run:
        meta = pq.ParquetFile(path).metadata
        compression = meta.row_group(0).column(0).compression.lower() if meta.num_row_groups else "zstd"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.erase.tmp")
        pq.write_table(table.filter(pc.invert(hit)), tmp, compression=compression)
        os.replace(tmp, path)
    return removed


def candidate_files(workspace: Path, exports_dir: Path, sources: Sequence[SourceSpec]) -> tuple[list[Path], list[Path]]:
    """(export files leadops owns, other CSV/Parquet files: the workspace's and the configured sources')."""
    exports = (
        sorted(p for p in exports_dir.rglob("*") if p.is_file() and p.suffix in FILE_SUFFIXES)
        if exports_dir.is_dir()
        else []
    )
    others: set[Path] = set()
    for path in workspace.rglob("*"):
        rel = path.relative_to(workspace).parts
        if (
            path.is_file()
            and path.suffix in FILE_SUFFIXES
            and not any(p in SKIP_DIRS or p.startswith(".") for p in rel)
        ):
            others.add(path)
    for spec in sources:
        if spec.path is None:
            continue
        full = Path(spec.path) if Path(spec.path).is_absolute() else workspace / spec.path
        try:
            others.update(p for p in resolve_files(full, spec.name) if p.suffix in FILE_SUFFIXES)
        except IngestError:
            continue
    owned = set(exports)
    return exports, sorted(p for p in others if p not in owned)


def _scan(path: Path, who: Mentions, rewrite: bool, emails: set[str]) -> int:
    if not _file_mentions(path, who):
        return 0
    try:
        if path.suffix == ".parquet":
            return _parquet_rewrite(path, who, not rewrite, emails)
        return _csv_rewrite(path, who, not rewrite, emails)
    except (OSError, ValueError) as exc:
        raise IngestError(f"erase: cannot rewrite {path}: {type(exc).__name__}: {exc}") from exc


# ---------------------------------------------------------------------------------------------- erase
def erase(
    warehouse: Warehouse,
    lead_ids: Sequence[str],
    *,
    workspace: Path,
    exports_dir: Path,
    sources: Sequence[SourceSpec] = (),
    rewrite_sources: bool = False,
    dry_run: bool = False,
    analytics_copy: Path | None = None,
    sample_dirs: Sequence[Path] = (),
) -> dict[str, Any]:
    """Remove the named leads everywhere leadops keeps them; return per table and file what was removed.

    `analytics_copy`: the analysts' read-only copy of the warehouse, rewritten (when it exists) so it keeps none
    of them either. `sample_dirs`: folders of kept per-lead samples keyed by `lead_key` (monitoring's)."""
    from leadops.warehouse.connection import utcnow

    ids = _check_ids(lead_ids)
    who = Mentions(ids)
    with warehouse.writer("erase"):
        warehouse.migrate()
        who.add_emails(_stored_emails(warehouse, ids))
        exports, others = candidate_files(workspace, exports_dir, sources)
        # first pass over the files: count (and learn the addresses beside the ids) without writing
        listed: dict[str, int] = {}
        for path in others:
            learned: set[str] = set()
            n = _scan(path, who, False, learned)
            who.add_emails(learned)
            if n:
                listed[str(path)] = n
        tables = lead_tables(warehouse)
        counts = _erase_rows(warehouse, who, tables, dry_run)
        rewritten: dict[str, int] = {}
        for path in exports + ([Path(p) for p in listed] if rewrite_sources else []):
            n = _scan(path, who, not dry_run, set())
            if n:
                rewritten[str(path)] = n
        for name in rewritten:
            listed.pop(name, None)
        stores = erase_in_stores(workspace, who, dry_run=dry_run)  # the shadow log, the intake spool, ...
        samples = erase_in_samples(sample_dirs, ids, dry_run=dry_run)  # monitoring's kept samples
        if not dry_run and any(counts.values()):
            warehouse.compact([t for t, n in counts.items() if n])  # deleted rows leave no bytes in its files
        removed = sum(counts.values()) + sum(stores.values()) + sum(samples.values())
        at = utcnow()
        entry: dict[str, Any] = {
            "erasure_id": f"erase-{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
            "erased_at": at.isoformat(timespec="seconds"),
            "actor": default_actor(),
            "leads_requested": len(ids),
            "rows_removed": removed,
            "tables": {t: n for t, n in counts.items()},
            "files": {"rewritten": rewritten, "still_mentioning": listed},
            "stores": stores,
            "samples": samples,
        }
        if not dry_run:
            _suppress(warehouse, ids, at)
            json_cast = f"CAST(? AS {warehouse.sql.json})"
            warehouse.execute(
                "INSERT INTO erasure_log (erasure_id, erased_at, actor, leads_requested, rows_removed, tables, files) "
                f"VALUES (?, ?, ?, ?, ?, {json_cast}, {json_cast})",
                [entry["erasure_id"], at, entry["actor"], len(ids), removed,
                 json.dumps({**entry["tables"], **stores}), json.dumps({**entry["files"], "samples": samples})],
            )  # fmt: skip
            if analytics_copy is not None and analytics_copy.exists() and removed:
                from leadops.warehouse.snapshot import publish_copy

                entry["analytics_copy"] = publish_copy(warehouse, analytics_copy).path
    nothing = removed == 0 and not rewritten
    entry["dry_run"] = dry_run
    entry["nothing_to_erase"] = nothing
    entry["message"] = (
        f"nothing to erase: no table row or export file mentions these {len(ids)} lead(s)"
        if nothing
        else f"{'would remove' if dry_run else 'removed'} {removed} row(s) from "
        f"{sum(1 for n in counts.values() if n) + len(stores)} table(s) and "
        f"{sum(rewritten.values()) + sum(samples.values())} row(s) from {len(rewritten) + len(samples)} file(s)"
    )
    if listed:
        entry["warning"] = (
            f"{len(listed)} file(s) outside exports/ still mention them (the CRM export itself?): remove them at "
            "the source or rerun with --rewrite-sources, or the next ingest loads them again"
        )
    return entry
