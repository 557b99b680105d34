"""The API key store: keys shown once, stored hashed, refused when wrong or revoked, fast and multi-process safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadops.errors import NotFoundError
from leadops.serving.keys import KeyStore, KeyStoreError, Role, keys_path

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KeyStore]:
    with KeyStore(tmp_path / ".leadops" / "keys.sqlite", iterations=1000) as opened:
        yield opened


def test_a_created_key_verifies_with_its_role_and_is_listed_without_the_key(store: KeyStore) -> None:
    scorer = store.create("scorer", name="crm webhook")
    viewer = store.create(Role.VIEWER)
    assert scorer.key.startswith(f"lo_{scorer.id}_") and len(scorer.key) > 50
    assert scorer.key != viewer.key and scorer.id != viewer.id
    found = store.verify(scorer.key)
    assert found is not None and found.id == scorer.id and found.role is Role.SCORER and found.name == "crm webhook"
    assert store.verify(viewer.key) is not None and store.verify(viewer.key).role is Role.VIEWER  # type: ignore[union-attr]
    listed = store.list()
    assert [r.id for r in listed] == [scorer.id, viewer.id]
    for record in listed:
        data = record.to_dict()
        assert set(data) == {"id", "name", "role", "created_at", "last_used_at", "revoked_at"}
        assert scorer.key not in json.dumps(data) and scorer.key not in repr(record)
    assert scorer.key not in repr(scorer), "a CreatedKey's repr (a log line) never shows the key"
    assert scorer.to_dict()["key"] == scorer.key and scorer.to_dict()["role"] == "scorer"


def test_wrong_malformed_and_unknown_keys_are_refused(store: KeyStore) -> None:
    good = store.create("admin").key
    key_id = good.split("_")[1]
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    other_id = "0" * 12 if key_id != "0" * 12 else "1" * 12
    for presented in (
        "",
        "lo_",
        good[:-5],
        flipped,
        good + "x",
        good.replace(key_id, other_id),
        good.upper(),
        "Bearer " + good,
        good + "x" * 300,
        f"lo_{key_id}",
        f"lo_{key_id}_",
        good[:-1] + "\udcff",
        good[:-1] + "é",
    ):
        assert store.verify(presented) is None, presented
    assert store.verify(flipped) is None, "a refused key is refused again (from the refused cache)"
    assert store.verify(good) is not None


def test_a_revoked_key_is_refused_at_once_here_and_within_the_cache_time_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    cli_side = KeyStore(path, iterations=1000)
    worker = KeyStore(path, iterations=1000, cache_seconds=0.3)
    slow_worker = KeyStore(path, iterations=1000, cache_seconds=60)
    created = cli_side.create("scorer")
    assert worker.verify(created.key) is not None and slow_worker.verify(created.key) is not None
    revoked = cli_side.revoke(created.id)
    assert revoked.revoked and revoked.revoked_at is not None
    assert cli_side.verify(created.key) is None, "the store that revoked refuses at once"
    assert slow_worker.verify(created.key) is not None, "a worker trusts its cache for cache_seconds"
    time.sleep(0.35)
    assert worker.verify(created.key) is None, "after cache_seconds the worker re-reads the row and refuses"
    again = cli_side.revoke(created.id)
    assert again.revoked_at == revoked.revoked_at, "revoking twice keeps the first time"
    assert [r.revoked for r in cli_side.list()] == [True]


def test_revoking_an_unknown_id_names_it_and_the_list_command(store: KeyStore) -> None:
    with pytest.raises(NotFoundError, match=r"no API key with id 'feedfacecafe'.*leadops keys list"):
        store.revoke("feedfacecafe")
    with pytest.raises(NotFoundError, match="feedfacecafe"):
        store.get("feedfacecafe")


def test_the_key_is_never_stored_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    store = KeyStore(path, iterations=1000)
    created = [store.create(role, name=f"holder {i}") for i, role in enumerate(Role)]
    for item in created:
        assert store.verify(item.key) is not None
    store.revoke(created[0].id)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("keys.sqlite")]
    assert path in files
    for item in created:
        secret = item.key.split("_", 2)[2]
        for file in files:
            data = file.read_bytes()
            assert item.key.encode() not in data and secret.encode() not in data, file.name
            assert secret[:16].encode() not in data, file.name
    store.close()
    data = path.read_bytes()
    assert b"pbkdf2_sha256$1000$" in data, "what is stored is a salted hash"
    assert created[1].id.encode() in data
    if os.name == "posix":
        assert path.stat().st_mode & 0o077 == 0, "the file is readable by its owner only"


def test_roles_are_ordered_viewer_scorer_admin() -> None:
    assert Role.ADMIN.allows(Role.ADMIN) and Role.ADMIN.allows(Role.SCORER) and Role.ADMIN.allows(Role.VIEWER)
    assert Role.SCORER.allows(Role.SCORER) and Role.SCORER.allows(Role.VIEWER) and not Role.SCORER.allows(Role.ADMIN)
    assert Role.VIEWER.allows(Role.VIEWER) and not Role.VIEWER.allows(Role.SCORER)
    assert Role.parse(" Admin ") is Role.ADMIN


def test_a_bad_role_or_name_is_a_key_store_error_naming_it(store: KeyStore) -> None:
    with pytest.raises(KeyStoreError, match=r"role: expected one of viewer, scorer, admin, got 'boss'"):
        store.create("boss")
    with pytest.raises(KeyStoreError, match="name: expected at most 200"):
        store.create("viewer", name="x" * 201)
    with pytest.raises(KeyStoreError, match="name"):
        store.create("viewer", name="bad\nname")
    assert store.list() == []


def test_a_damaged_file_is_a_key_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(KeyStoreError, match=r"keys\.sqlite"):
        KeyStore(path).list()
    with pytest.raises(KeyStoreError, match=r"keys\.sqlite"):
        KeyStore(path).verify("lo_0123456789ab_" + "x" * 43)


def test_use_is_recorded_in_last_used_at(store: KeyStore) -> None:
    created = store.create("viewer")
    assert store.list()[0].last_used_at is None
    before = time.time()
    assert store.verify(created.key) is not None
    used = store.list()[0].last_used_at
    assert used is not None and abs(used.timestamp() - before) < 5


def test_a_cached_verify_costs_microseconds(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite", cache_seconds=60)  # the default, real PBKDF2 cost
    key = store.create("scorer").key
    first = time.perf_counter()
    assert store.verify(key) is not None
    miss = time.perf_counter() - first
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(2000):
            store.verify(key)
        best = min(best, (time.perf_counter() - started) / 2000)
    assert best < 20e-6, f"a cached verify took {best * 1e6:.1f} us"
    assert best * 20 < miss, f"cache hit {best * 1e6:.1f} us vs first verify {miss * 1e6:.1f} us"


def test_keys_path_is_inside_the_workspace(tmp_path: Path) -> None:
    assert keys_path(tmp_path) == tmp_path / ".leadops" / "keys.sqlite"
    assert KeyStore.for_workspace(tmp_path).path == keys_path(tmp_path)


_CREATOR = textwrap.dedent(
    """
    import sys, time
    from leadops.serving.keys import KeyStore
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    store = KeyStore(sys.argv[1], iterations=1000)
    print(store.create("viewer").id)
    """
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_several_processes_creating_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "keys.sqlite"
    start = str(time.time() + 1.5)  # every process past its imports, then all open the missing file together
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATOR, str(path), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(3)
    ]
    ids = []
    for proc in procs:
        out, errors = proc.communicate(timeout=60)
        assert proc.returncode == 0, errors
        ids.append(out.strip())
    assert sorted(r.id for r in KeyStore(path).list()) == sorted(ids)


_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from leadops.serving.keys import KeyStore
    path, revoked_key, kept_key = sys.argv[1:4]
    store = KeyStore(path)  # the defaults a server worker uses
    calls = errors = kept_refused = 0
    refused_at = None
    print("ready", flush=True)
    deadline = time.time() + 25
    while time.time() < deadline:
        try:
            calls += 1
            if store.verify(kept_key) is None:
                kept_refused += 1
            if store.verify(revoked_key) is None and refused_at is None:
                refused_at = time.time()
            if refused_at is not None and time.time() - refused_at > 0.5:
                break
            time.sleep(0.001)  # a request every millisecond or so, not a spin that starves the CLI of the CPU
        except Exception as exc:
            errors += 1
            print(repr(exc), file=sys.stderr)
    print(json.dumps({"calls": calls, "errors": errors, "kept_refused": kept_refused, "refused_at": refused_at}))
    """
)


@pytest.mark.slow
def test_two_worker_processes_verifying_while_the_cli_revokes_refuse_within_seconds(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    init = subprocess.run(
        [sys.executable, "-m", "leadops.cli", "init", str(workspace), "--json"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert init.returncode == 0, init.stderr
    path = keys_path(workspace)

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "leadops.cli", "keys", *args, "-w", str(workspace), "--json"],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    doomed, kept = cli("create", "--role", "scorer"), cli("create", "--role", "viewer")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), doomed["key"], kept["key"]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    for _ in range(3):  # the CLI writes (new keys) while the workers read
        cli("create", "--role", "viewer")
    revoke_started = time.time()
    revoked = cli("revoke", doomed["id"])
    revoked_done = time.time()
    assert revoked["revoked_at"] is not None
    for worker in workers:
        out, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors
        report = json.loads(out.strip().splitlines()[-1])
        assert report["errors"] == 0 and report["kept_refused"] == 0, (report, errors)
        assert report["calls"] > 100
        assert report["refused_at"] is not None, "the revoked key was never refused"
        assert report["refused_at"] >= revoke_started, "refused before it was revoked"
        assert report["refused_at"] - revoked_done < 5.0, report
    assert {r.id: r.revoked for r in KeyStore(path).list()}[doomed["id"]] is True
