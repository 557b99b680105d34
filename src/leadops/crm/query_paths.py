"""Relative file paths inside a DuckDB `query:` resolve against the workspace, not the current directory.

`read_csv('source/x.csv')` in a query source means the workspace's file, wherever leadops runs from. DuckDB's
own tokenizer finds the string literals; each one that is a relative path naming a file (or a glob matching
files) inside the workspace is replaced by its absolute path, and nothing else in the SQL changes. Literals
that name no workspace file (a value in a WHERE clause) stay as they are.
"""

from __future__ import annotations

import glob
from pathlib import Path


def _literal_end(query: str, start: int) -> int:
    """Index just past the single-quoted literal starting at `start` ('' is an escaped quote)."""
    i = start + 1
    while i < len(query):
        if query[i] == "'":
            if i + 1 < len(query) and query[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return len(query)


def _names_workspace_file(text: str, workspace: Path) -> bool:
    if not text or Path(text).is_absolute() or "://" in text or "\n" in text:
        return False
    candidate = workspace / text
    if not candidate.resolve().is_relative_to(workspace):
        return False  # '../x' stays relative, and the sandbox refuses it
    if any(ch in text for ch in "*?["):
        return bool(glob.glob(str(candidate), recursive=True))
    return candidate.exists()


def anchor_paths(query: str, workspace: Path) -> str:
    """The query with every relative path literal that names a workspace file made absolute."""
    import duckdb

    try:
        tokens = duckdb.tokenize(query)
    except (duckdb.Error, RuntimeError):
        return query  # the sandbox's parser reports what is wrong with the SQL
    out: list[str] = []
    done = 0
    root = workspace.resolve()
    for start, kind in tokens:
        if kind != duckdb.token_type.string_const or query[start] != "'":
            continue
        end = _literal_end(query, start)
        text = query[start + 1 : end - 1].replace("''", "'")
        if _names_workspace_file(text, root):
            out += [query[done:start], "'" + str(root / text).replace("'", "''") + "'"]
            done = end
    out.append(query[done:])
    return "".join(out)
