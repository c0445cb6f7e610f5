"""The log with real processes: audit and tampering, a sequencer killed mid-batch,
two sequencers at once. SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from fieldproof.client.api import Client, DeviceKeyFile
from tests.support.accounts import wait_for_port
from tests.support.live import LiveServer, Worker, free_port, run_cli
from tests.support.photos import jpeg
from tests.support.postgres import fresh_pg_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def db_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {}
    return {"DATABASE_URL": fresh_pg_schema(request.getfixturevalue("pg_database"))}


def _start(tmp_path: Path, env: dict[str, str]) -> LiveServer:
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2", **env})
    srv.data_dir.mkdir(parents=True)
    return srv.start()


def _capture(srv: LiveServer, tmp_path: Path, n: int) -> tuple[Client, list[str]]:
    token = srv.create_user(f"live{time.monotonic_ns()}@example.org")
    api = Client(srv.url, token)
    key = DeviceKeyFile.load_or_create(tmp_path / "dev.pem", create=True)
    api.enroll(key)
    ids = []
    for i in range(n):
        f = tmp_path / f"p{i}.jpg"
        f.write_bytes(jpeg(make=f"live{i}"))
        ids.append(api.capture_file(key, f, kind="photo")["id"])
    return api, ids


def _wait_anchored(api: Client, ids: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(api.capture(i)["status"] == "anchored" for i in ids):
            return
        time.sleep(0.1)
    raise TimeoutError("captures were not anchored")


def _capture_leaves(srv: LiveServer) -> int:
    """Capture leaves in the log (the rest are custody events: views, anchoring)."""
    size = httpx.get(srv.url + "/api/v1/log").json()["tree_size"]
    entries = httpx.get(srv.url + f"/api/v1/log/entries?start=0&end={size}").json()["entries"]
    assert len(entries) == size
    return sum('"type":"fieldproof.capture"' in e["data"] for e in entries)


def _audit(srv: LiveServer, *extra: str) -> Any:
    return run_cli("log", "audit", "--server", srv.url, *extra)


@pytest.fixture
def live(tmp_path: Path, db_env: dict[str, str]) -> Iterator[tuple[LiveServer, Client, list[str]]]:
    srv = _start(tmp_path, db_env)
    try:
        api, ids = _capture(srv, tmp_path, 5)
        _wait_anchored(api, ids)
        yield srv, api, ids
    finally:
        srv.stop()


def _tamper(srv: LiveServer, db_env: dict[str, str], sql: str) -> None:
    if "DATABASE_URL" in db_env:
        url = db_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        url, _, opts = url.partition("?options=-csearch_path%3D")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{opts}"')
            conn.execute(sql)
    else:
        with sqlite3.connect(srv.data_dir / "fieldproof.sqlite3") as conn:
            conn.execute(sql)


def test_receipt_and_audit_pass(live: Any, tmp_path: Path) -> None:
    srv, api, ids = live
    env = {"FIELDPROOF_SERVER": srv.url, "FIELDPROOF_TOKEN": api.http.headers[
        "Authorization"].split()[1]}
    out = run_cli("client", "receipt", ids[2], env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "PASS    inclusion" in out.stdout and "embedded TSA" in out.stdout
    js = run_cli("client", "receipt", ids[2], "--json", env=env)
    assert '"inclusion_proof"' in js.stdout

    audit = _audit(srv)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "RESULT  all checks passed" in audit.stdout
    assert "anchor  log key" in audit.stdout and "as served" in audit.stdout
    assert "PASS    tiles entries" in audit.stdout and "PASS    tiles hashes" in audit.stdout
    nowhere = _audit(srv, "--tiles", srv.url + "/api/v1/not-the-tiles")  # 404s
    assert nowhere.returncode == 1, nowhere.stdout
    assert "FAIL    tiles: the tiled log serves no checkpoint" in nowhere.stdout

    vkey = httpx.get(srv.url + "/api/v1/log").json()["vkey"]
    assert _audit(srv, "--log-key", vkey).returncode == 0
    wrong = "fieldproof.local/log+12345678+" + "A" * 44
    assert _audit(srv, "--log-key", wrong).returncode != 0


def test_audit_catches_a_changed_entry(live: Any, db_env: dict[str, str]) -> None:
    srv, _, _ = live
    _tamper(srv, db_env, "UPDATE log_entries SET data = replace(data, '\"v\":1', '\"v\":2') "
                         "WHERE leaf_index = 1")
    audit = _audit(srv)
    assert audit.returncode == 1
    assert "FAIL    checkpoint" in audit.stdout and "entry was changed" in audit.stdout
    # the tiles were written before: they still hold the entry as it was
    assert "PASS    tiles entries: " in audit.stdout
    assert "FAIL    tiles entries: 1 bundled entries differ from /log/entries, first leaf 1" \
        in audit.stdout


def test_audit_a_static_copy_of_the_tiles(live: Any, tmp_path: Path) -> None:
    """The stored tiles, copied as PROTOCOL.md says, served by a plain static file server."""
    srv, _, _ = live
    tiles = srv.data_dir / "store" / "objects" / "tiles"
    copy = tmp_path / "static"
    shutil.copytree(tiles, copy, ignore=lambda d, names: ["checkpoint"] if Path(d) == tiles
                    else [])
    shutil.copy(tiles / "checkpoint", copy / "checkpoint")  # the checkpoint last
    port = free_port()
    static = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(copy)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        audit = _audit(srv, "--tiles", f"http://127.0.0.1:{port}")
        assert audit.returncode == 0, audit.stdout
        assert "PASS    tiles hashes" in audit.stdout
        (copy / "tile" / "0" / "000.p").rename(copy / "moved")  # a partial tile goes missing
        audit = _audit(srv, "--tiles", f"http://127.0.0.1:{port}")
        assert audit.returncode == 1 and "FAIL    tiles" in audit.stdout, audit.stdout
    finally:
        static.terminate()
        static.wait(timeout=10)


def test_audit_catches_a_changed_node(live: Any, db_env: dict[str, str]) -> None:
    srv, _, _ = live
    hexed = "X'" + "00" * 32 + "'" if "DATABASE_URL" not in db_env else \
        "'\\x" + "00" * 32 + "'::bytea"
    _tamper(srv, db_env, f"UPDATE log_nodes SET hash = {hexed} WHERE level = 1 AND idx = 0")
    audit = _audit(srv)
    assert audit.returncode == 1, audit.stdout
    assert "FAIL    inclusion" in audit.stdout or "FAIL    consistency" in audit.stdout


def test_sequencer_killed_mid_batch(tmp_path: Path, db_env: dict[str, str]) -> None:
    env = {"FIELDPROOF_SEQUENCER": "off", **db_env}
    srv = _start(tmp_path, env)
    worker = Worker(srv.data_dir, env={**env, "FIELDPROOF_TEST_SEQUENCER_PAUSE": "60"},
                    name="worker-1")
    try:
        api, ids = _capture(srv, tmp_path, 4)
        worker.start()
        worker.wait_for_log("test pause: batch of")  # the 4 captures and their views
        worker.kill()  # SIGKILL with the batch transaction open
        assert httpx.get(srv.url + "/api/v1/log").json()["tree_size"] == 0
        assert all(api.capture(i)["status"] == "stored" for i in ids)

        worker = Worker(srv.data_dir, env=env, name="worker-2").start()
        _wait_anchored(api, ids)
        audit = _audit(srv)
        assert audit.returncode == 0, audit.stdout
        assert _capture_leaves(srv) == 4
    finally:
        worker.kill()
        srv.stop()


def test_two_sequencers_one_log(tmp_path: Path, db_env: dict[str, str]) -> None:
    """A second sequencer (worker + the server's thread) must not fork the log."""
    srv = _start(tmp_path, db_env)
    workers = [Worker(srv.data_dir, env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.05", **db_env},
                      name=f"w{i}").start() for i in range(2)]
    try:
        api, ids = _capture(srv, tmp_path, 12)
        _wait_anchored(api, ids)
        audit = _audit(srv)
        assert audit.returncode == 0, audit.stdout
        assert _capture_leaves(srv) == 12
    finally:
        for w in workers:
            w.kill()
        srv.stop()
