"""Creating a workspace: the folder layout and the commented leadops.yaml that `leadops init` writes."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from leadops.config import CONFIG_FILE
from leadops.errors import WorkspaceError

FOLDERS = ("source", "exports", "reports")
EXPORT_FORMATS = ("flat", "salesforce")
SOURCES_START = "\nsources:\n"
SOURCES_END = "\n# Data contracts"


def _salesforce(text: str) -> str:
    """The template with its `sources:` block replaced by the Salesforce export's mapping."""
    folder = resources.files("leadops.templates")
    start, end = text.find(SOURCES_START), text.find(SOURCES_END)
    if start < 0 or end < start:
        raise WorkspaceError("the shipped leadops.yaml template lost its sources block (a packaging error)")
    mapping = folder.joinpath("salesforce_sources.yaml").read_text(encoding="utf-8")
    text = text[: start + 1] + mapping.rstrip("\n") + "\n" + text[end:]
    return text.replace("  export_format: flat", "  export_format: salesforce", 1)


def template(export_format: str = "flat") -> str:
    """The commented leadops.yaml shipped with this version, mapped onto the fictional company's export."""
    if export_format not in EXPORT_FORMATS:
        raise WorkspaceError(f"export format '{export_format}' is unknown; expected one of {', '.join(EXPORT_FORMATS)}")
    parts = ["leadops.yaml", "features.yaml", "models.yaml", "operations.yaml"]
    folder = resources.files("leadops.templates")
    texts = [folder.joinpath(p).read_text(encoding="utf-8") for p in parts if folder.joinpath(p).is_file()]
    text = "\n".join(texts)
    return _salesforce(text) if export_format == "salesforce" else text


def init_workspace(directory: Path, *, force: bool = False, export_format: str = "flat") -> dict[str, Any]:
    """Create the workspace folder, its sub-folders and leadops.yaml; refuse to overwrite without force."""
    text = template(export_format)
    root = directory.resolve()
    target = root / CONFIG_FILE
    if target.exists() and not force:
        raise WorkspaceError(f"{target} already exists", hint="pass --force to overwrite it")
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (root / folder).mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(
            "warehouse.duckdb*\nanalytics.duckdb*\nmlflow.db\n.leadops/\nground_truth/\nexports/\n", encoding="utf-8"
        )
    return {"workspace": str(root), "config": str(target), "folders": [str(root / f) for f in FOLDERS],
            "export_format": export_format}  # fmt: skip
