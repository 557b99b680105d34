"""Erasure in the kept per-lead Parquet samples (monitoring's `monitoring.sample_dir`), keyed by `lead_key`.

A kept sample holds no lead id, only `lead_key` (sha256 of the id, hex: what `erased_leads` keeps too), so the
text scan of the workspace's files cannot find an erased person there; here every `*.parquet` file of the
folder loses the rows whose `lead_key` is one of theirs (rewritten beside, then renamed). A file without the
column cannot tell whose rows it holds: it is removed (monitoring rebuilds a missing sample from the warehouse).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from leadops.errors import IngestError

KEY = "lead_key"


class SampleEraseError(IngestError):
    """A kept sample file could not be read or rewritten while erasing."""

    exit_code = 43


def key_of(lead_id: str) -> str:
    """sha256 of a lead id, hex: how erased_leads and the kept samples name a lead without its id."""
    return hashlib.sha256(lead_id.encode("utf-8")).hexdigest()


def _erase_file(path: Path, keys: Iterable[str], dry_run: bool) -> int:
    """Rows of one file about them (all of them when it has no lead_key), rewritten or removed unless dry_run."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if KEY not in table.column_names:
        if not dry_run:
            path.unlink(missing_ok=True)
        return table.num_rows
    hit = pc.fill_null(pc.is_in(table.column(KEY), value_set=pa.array(sorted(keys), pa.string())), False)
    removed = int(pc.sum(hit).as_py() or 0)
    if removed and not dry_run:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.erase.tmp")
        pq.write_table(table.filter(pc.invert(hit)), tmp, compression="zstd")
        os.replace(tmp, path)
    return removed


def erase_in_samples(directories: Sequence[Path], lead_ids: Iterable[str], *, dry_run: bool) -> dict[str, int]:
    """Delete their rows from every kept sample under the folders; rows per file (only files with some)."""
    keys = {key_of(i) for i in lead_ids}
    counts: dict[str, int] = {}
    for folder in directories:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.parquet")):
            try:
                n = _erase_file(path, keys, dry_run)
            except (OSError, ValueError) as exc:
                raise SampleEraseError(
                    f"erase: cannot rewrite the kept sample {path}: {type(exc).__name__}: {exc}",
                    hint="remove the file (monitoring rebuilds it) and run erase again: it is idempotent",
                ) from exc
            if n:
                counts[str(path)] = n
    return counts
