"""Faults a reliability drill found (issue 9), each kept from coming back.

In-process, against the real databases (SQLite and PostgreSQL) and both object
stores (the filesystem and a real S3 server); the drills that need a whole
server process are in tests/test_drills_live.py.
"""

from __future__ import annotations

import hashlib
import io
import random
import stat
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from fieldproof.config import S3Settings, Settings
from fieldproof.core.canonical import canonicalize
from fieldproof.db import ApiToken, ObjectPin
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.accounts import DeviceKey, User
from tests.support.photos import jpeg
from tests.support.s3server import S3Server
from tests.support.streams import NS, HandStream

PROBLEM = "application/problem+json"


# --------------------------------------------------------------------------- 1: the race
@pytest.fixture(params=["filesystem", "s3"])
def race_services(request: pytest.FixtureRequest, tmp_path: Path,
                  db_url: str) -> Iterator[Services]:
    s3 = None
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        s3 = S3Settings(endpoint=server.endpoint, access_key=server.access_key,
                        secret_key=server.secret_key, bucket=f"race-{uuid.uuid4().hex[:12]}",
                        secure=False)
    svc = Services.build(Settings(data_dir=tmp_path / "var", database_url=db_url,
                                  testing=True, s3=s3))
    yield svc
    svc.close()


def _post(app: Flask, user: User, device: DeviceKey, media: bytes,
          manifest: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    canonical = canonicalize(manifest)
    r = app.test_client().post(
        "/api/v1/captures", headers=user.auth, content_type="multipart/form-data",
        data={"manifest": canonical.decode(), "signature": device.sign(canonical),
              "media": (io.BytesIO(media), "media.bin")})
    return r.status_code, r.json


def test_a_failed_upload_never_deletes_what_another_acknowledged(
        race_services: Services) -> None:
    """X and Y upload the same bytes with different manifests (two accounts); Z
    reuses X's nonce, so one of X and Z fails after storing. Meanwhile the
    collector runs with no grace period. Fifty times: every capture answered
    200/201 still has its original, byte-exact."""
    services = race_services
    app = create_app(services=services)
    objects = services.ingest.objects
    objects.GRACE = timedelta(0)
    make = _users(services, app)
    a, b = make(), make()
    dev_a, dev_b = a.enroll(), b.enroll()
    rng = random.Random(9)
    acknowledged: list[tuple[User, str, bytes]] = []
    failures: dict[int, int] = {}
    for run in range(50):
        media = jpeg(make=f"race-{run}-{uuid.uuid4().hex}")
        other = jpeg(make=f"other-{run}-{uuid.uuid4().hex}")
        nonce_a = a.nonce()
        mx = a.manifest(dev_a, media, kind="import", nonce=nonce_a, prev=None)
        my = b.manifest(dev_b, media, kind="import", prev=None)
        mz = a.manifest(dev_a, other, kind="import", nonce=nonce_a, prev=None)
        jobs = [(a, dev_a, media, mx), (b, dev_b, media, my), (a, dev_a, other, mz)]
        rng.shuffle(jobs)
        results = _race(app, jobs, objects.collect)
        objects.collect()  # once more, after everything settled
        for user, data, status, body in results:
            if status in (200, 201):
                acknowledged.append((user, body["id"], data))
            else:
                failures[status] = failures.get(status, 0) + 1
                assert status == 409 and body["code"] == "nonce_reused", body
    # X or Z lost the nonce in every run
    assert failures == {409: 50}
    assert len(acknowledged) == 100
    for user, capture_id, data in acknowledged:
        r = user.client.get(f"/api/v1/captures/{capture_id}/original", headers=user.auth)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert hashlib.sha256(r.data).digest() == hashlib.sha256(data).digest()
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ObjectPin)) == 0


def test_the_collector_removes_only_unreferenced_objects(race_services: Services,
                                                        monkeypatch: Any) -> None:
    services = race_services
    app = create_app(services=services)
    user = _users(services, app)()
    device = user.enroll()
    kept = jpeg(make="kept")
    assert user.upload(device, kept, kind="import").status_code == 201

    def lost_race(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("the commit failed (injected)")

    refused = jpeg(make="refused")
    with monkeypatch.context() as m:
        m.setattr(services.ingest, "_commit", lost_race)
        assert user.upload(device, refused, kind="import").status_code == 500
    assert services.store.stat(_key(refused)) is not None  # not deleted by the failure
    objects = services.ingest.objects
    assert objects.collect() == []  # within the grace period: kept for a resend
    objects.GRACE = timedelta(0)
    assert objects.collect() == [_key(refused)]
    assert services.store.stat(_key(refused)) is None
    assert services.store.stat(_key(kept)) is not None


def test_a_pinned_object_survives_the_collector(race_services: Services) -> None:
    """An ingest between its pin and its commit: the collector must wait for it."""
    services = race_services
    objects = services.ingest.objects
    objects.GRACE = timedelta(0)
    key = "media/sha256/ab/cd/abcd" + "0" * 60
    path = services.store.tmp_dir / "pinned.bin"  # type: ignore[attr-defined]
    path.write_bytes(b"in flight")
    services.store.put_file(key, path, consume=True)
    pin = objects.pin(key)
    assert objects.collect() == []
    assert services.store.stat(key) is not None
    objects.unpin(pin)
    assert objects.collect() == [key]
    assert services.store.stat(key) is None


# --------------------------------------------------------------------------- 2: stream stop
@pytest.mark.parametrize("change", ["start", "mime", "kind", "geo", "device"])
def test_stop_must_restate_what_the_header_bound(app: Flask, user: User, change: str) -> None:
    sio = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": user.token})
    device = user.enroll()
    hs = HandStream(device, user.nonce())
    assert sio.emit("start", hs.start_msg(), namespace=NS, callback=True)["ok"]
    assert sio.emit("chunk", hs.chunk_msg(0, b"x" * 100), namespace=NS, callback=True)["ok"]
    msg = hs.stop_msg()
    manifest = __import__("json").loads(msg["manifest"])
    if change == "start":  # an hour before the signed header's started_at
        manifest["captured"]["start"] = (hs.started - timedelta(hours=1)).astimezone(
            UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    elif change == "mime":
        manifest["media"]["mime"] = "audio/ogg"
    elif change == "kind":
        manifest["kind"] = "video"
    elif change == "geo":
        manifest["geo"] = {"lat": 22.54, "lon": 114.05, "accuracy": 10,
                           "fixed_at": manifest["captured"]["end"]}
    else:
        manifest["device"]["timezone"] = "Asia/Shanghai"
    raw = canonicalize(manifest)
    reply = sio.emit("stop", {"stream_id": hs.id, "manifest": raw.decode(),
                              "signature": device.sign(raw)}, namespace=NS, callback=True)
    assert not reply["ok"] and reply["error"]["code"] == "manifest_mismatch", reply
    # the honest stop still works afterwards
    assert sio.emit("stop", msg, namespace=NS, callback=True)["ok"]


# --------------------------------------------------------------------------- 4: sign-out
def test_signing_out_ends_the_open_socket(app: Flask, user: User) -> None:
    sio = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": user.token})
    device = user.enroll()
    hs = HandStream(device, user.nonce())
    assert sio.emit("start", hs.start_msg(), namespace=NS, callback=True)["ok"]
    assert user.client.post("/api/v1/auth/logout", headers=user.auth).status_code == 204
    assert not sio.is_connected(NS)  # the server closed it
    # and the token opens no new one
    again = app.extensions["socketio"].test_client(app, namespace=NS,
                                                   auth={"token": user.token})
    assert not again.is_connected(NS)


def test_a_revoked_device_can_record_nothing_more(app: Flask, user: User) -> None:
    sio = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": user.token})
    device = user.enroll()
    assert user.upload(device, jpeg(), kind="import").status_code == 201
    hs = HandStream(device, user.nonce(), prev=device.head)
    assert sio.emit("start", hs.start_msg(), namespace=NS, callback=True)["ok"]
    r = user.client.delete(f"/api/v1/devices/{device.key_id}", headers=user.auth)
    assert r.status_code == 200 and r.json["revoked_at"]
    reply = sio.emit("chunk", hs.chunk_msg(0, b"z" * 10), namespace=NS, callback=True)
    assert reply["error"]["code"] == "device_revoked"
    r = user.upload(device, jpeg(make="after"), kind="import")
    assert r.status_code == 403 and r.json["code"] == "device_revoked"
    # its earlier capture is still there
    listed = user.client.get("/api/v1/captures", headers=user.auth).json["items"]
    assert len(listed) == 1
    # someone else's device is not found
    assert user.client.delete("/api/v1/devices/" + "A" * 43,
                              headers=user.auth).status_code == 404


# --------------------------------------------------------------------------- 5, 7: reads
def test_a_read_that_cannot_be_recorded_is_refused_with_a_reason(
        services: Services, client: Any, user: User, monkeypatch: Any) -> None:
    device = user.enroll()
    cid = user.upload(device, jpeg(), kind="import").json["id"]

    def full(*_a: Any, **_k: Any) -> None:
        import sqlite3

        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(services.custody, "commit", full)
    for path in ("", "/original"):
        r = client.get(f"/api/v1/captures/{cid}{path}", headers=user.auth)
        assert r.status_code == 503 and r.mimetype == PROBLEM
        assert r.json["code"] == "custody_unavailable" and r.json["cause"] == "storage_full"
        assert r.headers["Retry-After"]
    # the capture list and the custody timeline record nothing and still work
    assert client.get("/api/v1/captures", headers=user.auth).status_code == 200
    assert client.get(f"/api/v1/captures/{cid}/custody", headers=user.auth).status_code == 200


def test_a_missing_original_is_a_problem_and_no_custody_event(
        services: Services, client: Any, user: User) -> None:
    device = user.enroll()
    body = user.upload(device, jpeg(), kind="import").json
    services.store.delete(f"media/sha256/{body['media']['sha256'][:2]}/"
                          f"{body['media']['sha256'][2:4]}/{body['media']['sha256']}")
    r = client.get(f"/api/v1/captures/{body['id']}/original", headers=user.auth)
    assert r.status_code == 500 and r.mimetype == PROBLEM
    assert r.json["code"] == "object_missing"
    events = client.get(f"/api/v1/captures/{body['id']}/custody", headers=user.auth).json
    assert [e["event"] for e in events["events"]] == []


# --------------------------------------------------------------------------- 9: sign-in
def test_a_stranger_cannot_lock_the_owner_out(services: Services, client: Any) -> None:
    services.accounts.create_user("owner@example.org", "the right password")

    def login(password: str, ip: str) -> Any:
        return client.post("/api/v1/auth/login", json={"email": "owner@example.org",
                                                        "password": password},
                           environ_base={"REMOTE_ADDR": ip})

    for _ in range(12):
        r = login("wrong guess", "203.0.113.9")
    assert r.status_code == 429 and r.json["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    # the attacker's address is throttled even with the right password...
    assert login("the right password", "203.0.113.9").status_code == 429
    # ...the owner, elsewhere, is not
    r = login("the right password", "198.51.100.7")
    assert r.status_code == 201 and r.json["token"] and r.json["expires_at"]


def test_one_address_cannot_try_many_accounts(services: Services, client: Any) -> None:
    for i in range(60):
        r = client.post("/api/v1/auth/login", json={"email": f"n{i}@example.org",
                                                     "password": "guess"},
                        environ_base={"REMOTE_ADDR": "203.0.113.10"})
        if r.status_code == 429:
            break
    assert r.status_code == 429 and i == services.accounts._by_source.item.amount


# --------------------------------------------------------------------------- 10: file modes
def test_the_data_dir_is_private(tmp_path: Path, app: Flask, user: User,
                                 services: Services) -> None:
    device = user.enroll()
    assert user.upload(device, jpeg(), kind="import").status_code == 201
    root = services.settings.data_dir
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        if (path.is_dir() and mode != 0o700) or (path.is_file() and mode & 0o077):
            loose.append((str(path.relative_to(root)), oct(mode)))
    assert loose == []
    if services.settings.database_url is None:
        assert stat.S_IMODE((root / "fieldproof.sqlite3").stat().st_mode) == 0o600


def test_an_older_loose_data_dir_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir(mode=0o755)
    (root / "fieldproof.sqlite3").touch(mode=0o644)
    (root / "keys").mkdir(mode=0o755)
    Services.build(Settings(data_dir=root, testing=True)).close()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "fieldproof.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "keys").stat().st_mode) == 0o700


# --------------------------------------------------------------------------- 11: errors
def test_error_answers_are_consistent(client: Any, user: User) -> None:
    device = user.enroll()
    # nine form parts: refused for that reason, not as an oversized body
    data = {f"p{i}": "x" for i in range(9)}
    r = client.post("/api/v1/captures", data=data, headers=user.auth,
                    content_type="multipart/form-data")
    assert r.status_code == 400 and r.mimetype == PROBLEM
    assert r.json["code"] == "too_many_parts" and "more than 8 parts" in r.json["detail"]
    # 405 says what is allowed
    r = client.put("/api/v1/captures", headers=user.auth)
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and r.mimetype == PROBLEM
    # a long signature is a bad signature, not a large request
    media = jpeg()
    m = user.manifest(device, media)
    r = user.upload(device, media, m, signature="A" * 600)
    assert r.status_code == 422 and r.json["code"] == "signature_invalid"
    # unknown API paths are 404 for every method
    for method in ("get", "post", "put", "delete"):
        r = getattr(client, method)("/api/v1/no-such-thing", headers=user.auth)
        assert r.status_code == 404 and r.mimetype == PROBLEM, method
    # limits outside the documented range are refused
    assert client.get("/api/v1/captures?limit=201", headers=user.auth).status_code == 400
    assert client.get("/api/v1/captures?limit=0", headers=user.auth).status_code == 400


# --------------------------------------------------------------------------- 12: token expiry
def test_tokens_expire_and_renew(services: Services, client: Any, user: User) -> None:
    r = client.get("/api/v1/me", headers=user.auth)
    expires = datetime.fromisoformat(r.json["token_expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    renewed = client.post("/api/v1/auth/renew", headers=user.auth)
    assert renewed.status_code == 201
    new = {"Authorization": f"Bearer {renewed.json['token']}"}
    assert client.get("/api/v1/me", headers=new).status_code == 200
    # the old token still works for a short overlap, then not
    assert client.get("/api/v1/me", headers=user.auth).status_code == 200
    with services.db.session() as s:
        for row in s.scalars(select(ApiToken)):
            if row.expires_at and row.expires_at < datetime.now(UTC) + timedelta(minutes=10):
                row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    r = client.get("/api/v1/me", headers=user.auth)
    assert r.status_code == 401 and r.json["code"] == "token_expired"
    assert client.get("/api/v1/me", headers=new).status_code == 200


def test_an_expired_token_ends_its_stream_socket(app: Flask, services: Services,
                                                 user: User) -> None:
    sio = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": user.token})
    device = user.enroll()
    hs = HandStream(device, user.nonce())
    assert sio.emit("start", hs.start_msg(), namespace=NS, callback=True)["ok"]
    ns = app.extensions["socketio"].server.namespace_handlers[NS]
    for sid, p in list(ns._principals.items()):
        ns._principals[sid] = type(p)(p.user_id, p.email, p.token_id,
                                      datetime.now(UTC) - timedelta(seconds=1))
    reply = sio.emit("chunk", hs.chunk_msg(0, b"q"), namespace=NS, callback=True)
    assert reply["error"]["code"] == "token_expired"


# --------------------------------------------------------------------------- helpers
def _key(data: bytes) -> str:
    h = hashlib.sha256(data).hexdigest()
    return f"media/sha256/{h[:2]}/{h[2:4]}/{h}"


def _race(app: Flask, jobs: list[tuple[User, DeviceKey, bytes, dict[str, Any]]],
          collect: Any) -> list[tuple[User, bytes, int, dict[str, Any]]]:
    """Run the uploads at once, with the collector looping beside them."""
    results: list[tuple[User, bytes, int, dict[str, Any]]] = []
    start = threading.Barrier(len(jobs) + 1)
    done = threading.Event()

    def upload(user: User, device: DeviceKey, data: bytes, m: dict[str, Any]) -> None:
        start.wait()
        status, body = _post(app, user, device, data, m)
        results.append((user, data, status, body))

    def collector() -> None:
        start.wait()
        while not done.is_set():
            collect()

    uploads = [threading.Thread(target=upload, args=job) for job in jobs]
    helper = threading.Thread(target=collector)
    for t in [*uploads, helper]:
        t.start()
    for t in uploads:
        t.join(120)
    done.set()
    helper.join(120)
    assert len(results) == len(jobs)
    return results


def _users(services: Services, app: Flask) -> Any:
    def make() -> User:
        email = f"u{uuid.uuid4().hex[:8]}@example.org"
        uid = services.accounts.create_user(email, "correct horse battery")
        return User(email, services.accounts.issue_token(uid), app.test_client())
    return make
