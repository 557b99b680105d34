"""Config that cannot hurt: alias bombs refused fast, paths kept in the workspace, credentials never shown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadops.cli import app
from leadops.config import effective, load
from leadops.errors import ConfigError
from leadops.redaction import redact_text, redact_url

runner = CliRunner()

BOMB = """
sources:
  - name: crm_leads
    table: leads
    path: source/leads.csv
    constants:
      a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
      h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
      i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _ws(tmp_path: Path, text: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "leadops.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_an_alias_bomb_under_constants_is_a_one_line_error_in_well_under_a_second(tmp_path: Path) -> None:
    ws = _ws(tmp_path, BOMB)
    started = time.perf_counter()
    result = runner.invoke(app, ["config", "show", "--workspace", str(ws)])
    assert time.perf_counter() - started < 2.0
    assert result.exit_code == 3
    message = result.stderr.strip()
    assert "\n" not in message and "expands to more than" in message and "line " in message


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "name: &x [1, *x]\n")
    with pytest.raises(ConfigError, match="refers to itself"):
        load(ws, environ={})


def test_small_anchors_still_work(tmp_path: Path) -> None:
    ws = _ws(tmp_path, "simulate: &s {seed: 3}\nname: ok\n")
    assert load(ws, environ={}).simulate.seed == 3


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../outside.csv", "source/../../outside.csv", "/etc/*", "source/*/../../../etc/passwd"]
)
def test_a_source_path_outside_the_workspace_is_refused_without_reading_it(tmp_path: Path, path: str) -> None:
    ws = _ws(tmp_path / "ws", f"sources:\n  - {{name: s, table: leads, path: '{path}'}}\n")
    with pytest.raises(ConfigError, match=r"key 'sources.0.path'.*outside the workspace") as caught:
        load(ws, environ={})
    assert "root:" not in str(caught.value)


def test_an_allowed_directory_admits_a_path_outside(tmp_path: Path) -> None:
    outside = tmp_path / "shared"
    outside.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    text = (
        f"security: {{allowed_dirs: ['{outside}']}}\nsources:\n  - {{name: s, table: leads, path: '{outside}/x.csv'}}\n"
    )
    settings = load(_ws(ws, text), environ={})
    assert settings.sources[0].path == f"{outside}/x.csv"


def test_exports_dir_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    ws = _ws(tmp_path / "ws", "scoring: {exports: {dir: /tmp}}\n")
    with pytest.raises(ConfigError, match=r"scoring.exports.dir"):
        load(ws, environ={})


def test_ingest_of_an_outside_file_prints_no_line_of_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    ws = _ws(tmp_path / "ws", "sources:\n  - {name: s, table: leads, path: ../secret.csv}\n")
    result = runner.invoke(app, ["ingest", "--workspace", str(ws)])
    assert result.exit_code == 3
    assert "root:x" not in result.output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@db:5432/crm", "postgresql://u:***@db:5432/crm"),
        ("postgresql://db/crm?user=u&password=s3cret&sslmode=require",
         "postgresql://db/crm?user=u&password=***&sslmode=require"),
        ("https://tok3n@mlflow.example.com/api", "https://***@mlflow.example.com/api"),
        ("https://mlflow.example.com/?token=s3cret", "https://mlflow.example.com/?token=***"),
        ("duckdb:///warehouse.duckdb", "duckdb:///warehouse.duckdb"),
    ],
)  # fmt: skip
def test_redact_url_masks_passwords_tokens_and_query_secrets(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_masks_urls_and_conninfo_inside_messages() -> None:
    text = "cannot connect to postgresql://u:s3cret@h/db: password=s3cret host=h failed"
    assert "s3cret" not in redact_text(text)


def test_config_show_masks_every_url_warehouse_registry_and_sources(tmp_path: Path) -> None:
    text = (
        "warehouse: {url: 'postgresql://u:pw1@h/db'}\n"
        "registry: {uri: 'https://u:pw2@mlflow.example.com'}\n"
        "sources:\n  - {name: q, table: leads, query: 'SELECT 1', connection: 'postgresql://h/db?password=pw3'}\n"
    )
    ws = _ws(tmp_path, text)
    shown = json.dumps(effective(load(ws, environ={})))
    assert "pw1" not in shown and "pw2" not in shown and "pw3" not in shown
    result = runner.invoke(app, ["config", "show", "--workspace", str(ws), "--json"])
    assert result.exit_code == 0 and "pw" not in result.stdout.replace("password", "")


def test_an_error_naming_a_connection_url_never_shows_its_password(tmp_path: Path) -> None:
    text = "sources:\n  - {name: q, table: leads, query: 'SELECT 1', connection: 'postgresql://u:pw9@127.0.0.1:1/x'}\n"
    ws = _ws(tmp_path, text)
    result = runner.invoke(app, ["ingest", "--workspace", str(ws)])
    assert result.exit_code != 0 and "pw9" not in result.output and "u:***@" in result.output
