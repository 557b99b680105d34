"""One error tree: every LeadOpsError has an exit code of its own, documented; every hint names a real command."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import typer

import leadops
from leadops.cli import app
from leadops.errors import INTERNAL_EXIT, INTERRUPTED_EXIT, USAGE_EXIT, LeadOpsError

SRC = Path(leadops.__file__).resolve().parent
DOC = SRC.parents[1] / "docs" / "errors.md"


def _import_everything() -> None:
    """Import every leadops module, so every error class defined anywhere is a known subclass."""
    for info in pkgutil.walk_packages([str(SRC)], prefix="leadops."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional engine (pyspark) not installed here
            continue


def _all_errors() -> list[type[LeadOpsError]]:
    _import_everything()
    found: list[type[LeadOpsError]] = [LeadOpsError]
    todo = [LeadOpsError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("leadops.") and sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def test_every_error_class_has_an_exit_code_of_its_own() -> None:
    errors = _all_errors()
    assert len(errors) >= 19
    codes: dict[int, list[str]] = {}
    for cls in errors:
        codes.setdefault(cls.exit_code, []).append(cls.__name__)
    shared = {code: names for code, names in codes.items() if len(names) > 1}
    assert not shared, f"exit codes shared by several errors: {shared}"
    reserved = {0, USAGE_EXIT, INTERNAL_EXIT, INTERRUPTED_EXIT}
    assert not reserved & set(codes), "0, usage (2), internal (70) and interrupted (130) are not error classes"


def test_the_exit_code_table_in_the_docs_matches_the_code() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| `(\w+)` \|", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))
    documented = {name: int(code) for code, name in rows.items()}
    actual = {cls.__name__: cls.exit_code for cls in _all_errors()}
    assert documented == actual


def _command_tree() -> Any:
    """The click command tree typer builds from the app (groups have `commands`)."""
    command = typer.main.get_command(app)
    assert _is_group(command)
    return command


def _is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def _options_of(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", []) if opt.startswith("--")}


def _all_options(group: Any) -> set[str]:
    found = _options_of(group)
    for sub in group.commands.values():
        found |= _all_options(sub) if _is_group(sub) else _options_of(sub)
    return found


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The command a `leadops a b ...` mention names; the words it uses as the path."""
    node = _command_tree()
    path: list[str] = []
    for word in words:
        if _is_group(node) and word in node.commands:
            node = node.commands[word]
            path.append(word)
        else:
            break
    return node, path


def _texts_in_raises_and_hints() -> list[tuple[str, str]]:
    """(where, text) of every hint=, every string given to a raised error and every other non-docstring text
    naming a `leadops ...` command, f-string holes as X."""

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)  # type: ignore[misc]
        return None

    found = []
    for file in SRC.rglob("*.py"):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            # any other user-facing text (warnings, messages built elsewhere) that names a command in backticks
            if isinstance(node, ast.Constant | ast.JoinedStr) and id(node) not in docstrings:
                value = text(node)
                if value is not None and "`leadops " in value:
                    found.append((f"{file.name}:{node.lineno}", value))
            if isinstance(node, ast.keyword) and node.arg == "hint":
                value = text(node.value)
                if value is not None:
                    found.append((f"{file.name}:{node.value.lineno}", value))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for arg in node.exc.args:
                    value = text(arg)
                    if value is not None:
                        found.append((f"{file.name}:{arg.lineno}", value))
    return list(dict.fromkeys(found))


def test_every_command_and_option_a_hint_or_error_names_exists() -> None:
    group = _command_tree()
    every_option = _all_options(group)
    texts = _texts_in_raises_and_hints()
    assert len(texts) > 50
    checked = 0
    problems = []
    for where, value in texts:
        mentions = re.findall(r"`leadops ([^`]*)`", value)
        for mention in mentions:
            words = mention.split()
            command, path = _resolve([w for w in words if not w.startswith("-")])
            if not path and all(w.startswith("-") or w == "..." for w in words):  # `leadops --debug ...`
                problems += [f"{where}: no top-level option {w}" for w in words if w.startswith("-")
                             and w not in _options_of(group)]  # fmt: skip
                checked += 1
                continue
            if not path or _is_group(command):
                problems.append(f"{where}: `leadops {mention}` names no command")
                continue
            for option in (w.split("=")[0] for w in words if w.startswith("--")):
                if option not in _options_of(command) | _options_of(group):
                    problems.append(f"{where}: `leadops {mention}`: {' '.join(path)} has no option {option}")
            checked += 1
        outside = re.sub(r"`leadops [^`]*`", "", value) if mentions else value
        if "hint" in where or mentions or "--" in outside:
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", outside):
                if option not in every_option:
                    problems.append(f"{where}: no leadops command has an option {option}")
                checked += 1
    assert not problems, problems
    assert checked >= 5


def test_the_hint_checker_catches_a_command_that_does_not_exist() -> None:
    command, path = _resolve(["warehouse", "migrate"])
    assert path == [] and _is_group(command)
    command, path = _resolve(["models", "promote"])
    assert path == ["models", "promote"] and "--force" in _options_of(command)
