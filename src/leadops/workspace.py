"""Creating a workspace: the folder layout and the commented leadops.yaml that `leadops init` writes."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from leadops.config import CONFIG_FILE
from leadops.errors import WorkspaceError

FOLDERS = ("source", "exports", "reports")


def template() -> str:
    """The commented leadops.yaml shipped with this version (mapped onto the fictional company)."""
    parts = ["leadops.yaml", "features.yaml", "models.yaml", "operations.yaml"]
    folder = resources.files("leadops.templates")
    texts = [folder.joinpath(p).read_text(encoding="utf-8") for p in parts if folder.joinpath(p).is_file()]
    return "\n".join(texts)


def init_workspace(directory: Path, *, force: bool = False) -> dict[str, Any]:
    """Create the workspace folder, its sub-folders and leadops.yaml; refuse to overwrite without force."""
    root = directory.resolve()
    target = root / CONFIG_FILE
    if target.exists() and not force:
        raise WorkspaceError(f"{target} already exists", hint="pass --force to overwrite it")
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (root / folder).mkdir(exist_ok=True)
    target.write_text(template(), encoding="utf-8")
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("warehouse.duckdb*\nmlflow.db\n.leadops/\nground_truth/\nexports/\n", encoding="utf-8")
    return {"workspace": str(root), "config": str(target), "folders": [str(root / f) for f in FOLDERS]}
