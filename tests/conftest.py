"""Shared fixtures: real databases (SQLite and PostgreSQL), an app, users, device keys.

PostgreSQL: the suite talks to the server at 127.0.0.1:5432 (trust auth) and
creates a throwaway database for the session. On a machine with no server it
starts one itself with Debian's initdb/pg_ctl; if that is impossible too, the
PostgreSQL-parametrized tests are skipped WITH the reason, which `-rs` prints
in the summary. Nothing is skipped silently.
"""

from __future__ import annotations

import base64
import glob
import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask
from flask.testing import FlaskClient

from fieldproof.config import Settings
from fieldproof.core.canonical import canonicalize
from fieldproof.core.keys import b64url_encode, jwk_thumbprint
from fieldproof.core.manifest import new_manifest
from fieldproof.services.container import Services
from fieldproof.web import create_app

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "shared" / "vectors"  # project copy of the public vectors (see UPSTREAM.md)



# --------------------------------------------------------------------------- postgres
def _pg_admin_dsn() -> str | None:
    dsn = os.environ.get("FIELDPROOF_TEST_PG", "host=127.0.0.1 port=5432 user=postgres")
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


def _fresh_pg_schema(url: str) -> str:
    """A new empty schema in the session database, selected through search_path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return _fresh_pg_schema(request.getfixturevalue("pg_database"))


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


class DeviceKey:
    """A test device: a P-256 key that signs like WebCrypto (raw r||s)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        n = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(n.x.to_bytes(32, "big")),
                    "y": b64url_encode(n.y.to_bytes(32, "big"))}
        self.key_id = jwk_thumbprint(self.jwk)
        self.head: str | None = None

    def sign(self, data: bytes) -> str:
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@dataclass
class User:
    email: str
    token: str
    client: FlaskClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def enroll(self, device: DeviceKey | None = None) -> DeviceKey:
        device = device or DeviceKey()
        r = self.client.post("/api/v1/devices", json={"jwk": device.jwk}, headers=self.auth)
        assert r.status_code == 201, r.json
        return device

    def nonce(self) -> str:
        r = self.client.post("/api/v1/nonces", headers=self.auth)
        assert r.status_code == 201, r.json
        return str(r.json["nonce"])

    def manifest(self, device: DeviceKey, media: bytes, *, kind: str = "photo",
                 mime: str = "image/jpeg", nonce: str | None = None, **kw: Any) -> dict[str, Any]:
        import hashlib

        now = datetime.now(UTC)
        m = new_manifest(kind=kind, sha256=hashlib.sha256(media).hexdigest(), size=len(media),
                         mime=mime, start=kw.pop("start", now), end=kw.pop("end", now),
                         nonce=nonce or self.nonce(), key_id=device.key_id,
                         prev=kw.pop("prev", device.head),
                         device={"user_agent": "pytest", "ua_hints": None, "platform": "test",
                                 "screen": None, "app_version": "tests/0",
                                 "timezone": "Asia/Shanghai", "language": "zh-CN"}, **kw)
        return m

    def upload(self, device: DeviceKey, media: bytes, manifest: dict[str, Any] | None = None,
               *, signature: str | None = None, raw_manifest: str | None = None,
               **kw: Any) -> Any:
        import io

        manifest = manifest or self.manifest(device, media, **kw)
        canonical = canonicalize(manifest)
        data = {"manifest": raw_manifest if raw_manifest is not None else canonical.decode(),
                "signature": signature if signature is not None else device.sign(canonical),
                "media": (io.BytesIO(media), "media.bin")}
        r = self.client.post("/api/v1/captures", data=data, headers=self.auth,
                             content_type="multipart/form-data")
        if r.status_code in (200, 201):
            device.head = r.json["manifest_hash"]
        return r


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
    from fieldproof.stream_client import NAMESPACE

    return app.extensions["socketio"].test_client(app, namespace=NAMESPACE,
                                                   auth={"token": user.token})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


# The real S3 server fixture, shared by the storage contract and API tests.
from tests.s3server import s3_server  # noqa: E402, F401
