"""Shared fixtures: real databases (SQLite and PostgreSQL), an app, users, device keys.

PostgreSQL: the suite talks to the server at 127.0.0.1:5432 (trust auth) and
creates a throwaway database for the session. On a machine with no server it
starts one itself with Debian's initdb/pg_ctl; if that is impossible too, the
PostgreSQL-parametrized tests are skipped WITH the reason, which `-rs` prints
in the summary. Nothing is skipped silently.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldproof.config import Settings
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.accounts import DeviceKey, User, b64, wait_for_port  # noqa: F401
from tests.support.cluster import RedisServer
from tests.support.paths import ROOT, VECTORS  # noqa: F401
from tests.support.postgres import admin_dsn, fresh_pg_schema


@pytest.fixture(scope="session", autouse=True)
def _client_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`client receipt` and `log audit` remember the checkpoints they saw
    (client/witness.py): in this run's own directory, never in the home of
    whoever runs the tests (CLI subprocesses inherit the variable)."""
    old = os.environ.get("FIELDPROOF_STATE")
    os.environ["FIELDPROOF_STATE"] = str(tmp_path_factory.mktemp("client-state"))
    yield
    if old is None:
        os.environ.pop("FIELDPROOF_STATE", None)
    else:
        os.environ["FIELDPROOF_STATE"] = old


# --------------------------------------------------------------------------- markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Folders say what a test is: tests/e2e are e2e, tests/drills are slow."""
    for item in items:
        parts = item.path.relative_to(ROOT / "tests").parts
        if parts[0] == "e2e":
            item.add_marker(pytest.mark.e2e)
        if parts[0] in ("drills", "e2e") or item.path.name.endswith("_live.py"):
            item.add_marker(pytest.mark.slow)


# --------------------------------------------------------------------------- postgres
def _pg_admin_dsn() -> str | None:
    dsn = admin_dsn()
    try:
        with psycopg.connect(dsn + " dbname=postgres", connect_timeout=3):
            return dsn
    except psycopg.Error:
        return None


def _start_private_pg(base: Path) -> tuple[str | None, str, Any]:
    """initdb + pg_ctl a throwaway cluster. Returns (dsn, reason, stop)."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        return None, "no PostgreSQL server at 127.0.0.1:5432 and no initdb installed", None
    bindir = Path(initdb[-1]).parent
    data = base / "pgdata"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            return None, "running as root without runuser: cannot initdb", None
        base.chmod(0o777)
        prefix = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                        "-U", "postgres"], check=True, capture_output=True, timeout=120)
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-o",
                        f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True, timeout=60)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not start a private PostgreSQL: {exc}", None

    def stop() -> None:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True, timeout=60)

    return f"host=127.0.0.1 port={port} user=postgres", "", stop


@pytest.fixture(scope="session")
def pg_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    dsn = _pg_admin_dsn()
    stop = None
    reason = ""
    if dsn is None:
        dsn, reason, stop = _start_private_pg(tmp_path_factory.mktemp("pg"))
    if dsn is None:
        pytest.skip(f"PostgreSQL unavailable: {reason}")
    yield dsn
    if stop:
        stop()


@pytest.fixture(scope="session")
def pg_database(pg_admin: str) -> Iterator[str]:
    """One database per test session; each test gets a fresh schema (see db_url)."""
    name = f"fieldproof_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(pg_admin + " dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in pg_admin.split())
    yield (f"postgresql+psycopg://{params.get('user', 'postgres')}@{params['host']}:"
           f"{params['port']}/{name}")
    with psycopg.connect(pg_admin + " dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return fresh_pg_schema(request.getfixturevalue("pg_database"))


# --------------------------------------------------------------------------- app
@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, testing=True,
                    max_upload_bytes=8 * 1024 * 1024)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services.build(settings)
    yield svc
    svc.close()


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(services: Services, client: FlaskClient) -> Any:
    def make(email: str | None = None) -> User:
        email = email or f"u{uuid.uuid4().hex[:8]}@example.org"
        uid = services.accounts.create_user(email, "correct horse battery")
        return User(email, services.accounts.issue_token(uid), client)
    return make


@pytest.fixture
def user(make_user: Any) -> User:
    return make_user()


@pytest.fixture
def sio(app: Flask, user: User) -> Any:
    """A Socket.IO test client on the /streams namespace, signed in as ``user``."""
    from fieldproof.client.stream import NAMESPACE

    return app.extensions["socketio"].test_client(app, namespace=NAMESPACE,
                                                   auth={"token": user.token})


# The real S3 server fixture, shared by the storage contract and API tests.
from tests.support.s3server import s3_server  # noqa: E402, F401


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (the one at :6379 is shared): a test may
    stop and restart it."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()
