"""Config that cannot hurt the machine: YAML whose aliases expand without bound is refused before it is built,
and file paths from the config stay inside the workspace unless a directory is explicitly allowed.

An alias bomb (`a: &a [x, x]`, `b: &b [*a, *a]`, ...) parses into a few shared nodes but expands to billions
of values as soon as anything walks it (validation, `config show`); counting the expanded size over the
composed node graph (memoised per node, so linear in the file) stops it in milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from leadops.errors import ConfigError

if TYPE_CHECKING:
    from leadops.config import Settings

MAX_YAML_VALUES = 200_000  # expanded scalars + collections; the shipped template holds about 1,500


def _expanded_size(root: yaml.Node, limit: int, where: str) -> int:
    """Values the node graph expands to (aliases counted every time they are used); raises past `limit`."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            line = node.start_mark.line + 1
            raise ConfigError(f"{where}: line {line}: a YAML alias refers to itself (recursive anchors are refused)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        sizes[key] = total
        if total > limit:
            line = node.start_mark.line + 1
            raise ConfigError(
                f"{where}: line {line}: the YAML expands to more than {limit:,} values "
                "(aliases like *name repeat what they point to); write the values out instead"
            )
        return total

    return size(root)


def load_yaml(text: str, *, where: str, limit: int = MAX_YAML_VALUES) -> Any:
    """yaml.safe_load with the expanded size bounded: an alias bomb is a one-line ConfigError, fast."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML: {exc}".replace("\n", " ")) from exc
        if node is None:
            return None
        _expanded_size(node, limit, where)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}: not valid YAML: {exc}".replace("\n", " ")) from exc
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------------------- paths
def _glob_root(path: Path) -> Path:
    """The part of a path before its first glob character (what a glob can reach at most)."""
    parts: list[str] = []
    for part in path.parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(path.anchor or ".")


def _normal(path: Path) -> Path:
    """`..` and `.` folded away without following symlinks: a link someone placed in the workspace is their
    choice, a `../../etc` typed into the config is not."""
    return Path(os.path.normpath(path.absolute()))


def allowed_roots(workspace: Path, allowed_dirs: Iterable[str]) -> list[Path]:
    """The workspace and every allowed directory (relative ones against the workspace)."""
    roots = [_normal(workspace)]
    for entry in allowed_dirs:
        candidate = Path(entry).expanduser()
        roots.append(_normal(candidate if candidate.is_absolute() else workspace / candidate))
    return roots


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path` (with `..` folded) lies inside one of `roots`."""
    normal = _normal(path)
    return any(normal == root or normal.is_relative_to(root) for root in roots)


def check_inside(key: str, value: str, workspace: Path, roots: Sequence[Path]) -> None:
    """Refuse a configured path outside the workspace and the allowed directories, naming the key (never the
    file's content)."""
    candidate = Path(value).expanduser()
    full = candidate if candidate.is_absolute() else workspace / candidate
    # a glob reaches at most its root, unless `..` follows a wildcard (source/*/../../etc): fold that too
    if not is_inside(_glob_root(full), roots) or not is_inside(full, roots):
        raise ConfigError(
            f"key '{key}': {value!r} is outside the workspace {workspace}",
            hint="move the file into the workspace or list its folder under security.allowed_dirs",
        )


def check_settings_paths(settings: Settings) -> None:
    """Every configured file path (sources[].path, scoring.exports.dir) inside the workspace or an allowed dir."""
    workspace = settings.workspace
    roots = allowed_roots(workspace, settings.security.allowed_dirs)
    for i, source in enumerate(settings.sources):
        if source.path is not None:
            check_inside(f"sources.{i}.path", source.path, workspace, roots)
        for j, lookup in enumerate(source.lookups):
            check_inside(f"sources.{i}.lookups.{j}.path", lookup.path, workspace, roots)
    check_inside("scoring.exports.dir", settings.scoring.exports.dir, workspace, roots)
