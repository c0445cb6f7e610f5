"""Ingest through the HTTP API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fieldproof.db import Capture, Nonce
from fieldproof.services import Services
from tests.support.accounts import DeviceKey, User
from tests.support.photos import jpeg, plain_jpeg
from tests.support.problems import assert_problem


def assert_nothing_stored(services: Services) -> None:
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Capture)) == 0
    root = services.settings.data_dir / "store"
    objects = [p for p in (root / "objects").rglob("*") if p.is_file()]
    leftovers = [p for p in (root / "tmp").rglob("*") if p.is_file()]
    assert objects == [] and leftovers == []


def now_shanghai_photo(**kw: Any) -> bytes:
    taken = datetime.now(UTC).astimezone().astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    return jpeg(taken=taken, **kw)


# ----------------------------------------------------------------- basics
def test_health_and_auth(client: Any, user: User) -> None:
    assert client.get("/api/v1/health").status_code == 200
    assert_problem(client.get("/api/v1/captures"), 401, "token_missing")
    assert_problem(client.get("/api/v1/captures", headers={"Authorization": "Bearer fp_nope"}),
                   401, "token_invalid")
    assert client.get("/api/v1/me", headers=user.auth).json["email"] == user.email


def test_login_and_logout(client: Any, user: User) -> None:
    r = client.post("/api/v1/auth/login",
                    json={"email": user.email.upper(), "password": "correct horse battery"})
    assert r.status_code == 201
    token = r.json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert_problem(client.get("/api/v1/me", headers=auth), 401, "token_invalid")
    bad = client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong pw!"})
    assert_problem(bad, 401, "login_failed")


def test_password_guessing_is_throttled(client: Any, user: User) -> None:
    for _ in range(10):
        r = client.post("/api/v1/auth/login", json={"email": user.email, "password": "nope!!!!"})
        assert_problem(r, 401, "login_failed")
    r = client.post("/api/v1/auth/login",
                    json={"email": user.email, "password": "correct horse battery"})
    assert_problem(r, 429, "rate_limited")
    assert r.json["retry_after"] > 0


def test_json_bodies_are_small(client: Any, user: User) -> None:
    huge = {"jwk": {"kty": "EC"}, "label": "x" * 100_000}
    assert_problem(client.post("/api/v1/devices", json=huge, headers=user.auth),
                   413, "too_large")


def test_enroll(user: User, make_user: Any, client: Any) -> None:
    d = user.enroll()
    again = client.post("/api/v1/devices", json={"jwk": d.jwk}, headers=user.auth)
    assert again.status_code == 201 and again.json["key_id"] == d.key_id
    other = make_user()
    assert_problem(client.post("/api/v1/devices", json={"jwk": d.jwk}, headers=other.auth),
                   409, "device_taken")
    assert_problem(client.post("/api/v1/devices", json={"jwk": {**d.jwk, "d": "AAAA"}},
                               headers=user.auth), 400, "key_is_private")
    listed = client.get("/api/v1/devices", headers=user.auth).json["items"]
    assert [x["key_id"] for x in listed] == [d.key_id]


# ----------------------------------------------------------------- the happy path
def test_photo_capture_end_to_end(user: User, client: Any, services: Services) -> None:
    device = user.enroll()
    photo = now_shanghai_photo(lat=31.2304, lon=121.4737)
    geo = {"lat": 31.2305, "lon": 121.4738, "accuracy": 8.5,
           "fixed_at": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"}
    r = user.upload(device, photo, geo=geo)
    assert r.status_code == 201, r.json
    body = r.json
    assert r.headers["Location"] == f"/api/v1/captures/{body['id']}"
    assert body["status"] == "stored" and body["kind"] == "photo"
    assert body["media"] == {"sha256": hashlib.sha256(photo).hexdigest(), "size": len(photo),
                             "mime": "image/jpeg", "sniffed_mime": "image/jpeg"}
    checks = {c["name"]: c for c in body["checks"]}
    failing = {n: c["detail"] for n, c in checks.items() if not c["ok"]}
    assert failing == {}
    assert set(checks) >= {"schema", "signature", "nonce", "device_chain", "media_sha256",
                           "media_size", "mime_sniff", "kind_mime", "capture_time", "exif",
                           "exif_gps", "exif_time"}
    assert body["exif"]["gps_lat"] == pytest.approx(31.2304, abs=1e-4)
    assert body["exif"]["make"] == "FieldProofCam"
    assert body["manifest"]["geo"]["accuracy"] == 8.5

    got = client.get(f"/api/v1/captures/{body['id']}", headers=user.auth)
    assert got.status_code == 200 and got.json == body

    orig = client.get(f"/api/v1/captures/{body['id']}/original", headers=user.auth)
    assert orig.status_code == 200 and orig.data == photo
    assert orig.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/api/v1/captures/{body['id']}/original",
                      headers={**user.auth, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == photo[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(photo)}"
    tail = client.get(f"/api/v1/captures/{body['id']}/original",
                      headers={**user.auth, "Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == photo[-5:]
    bad = client.get(f"/api/v1/captures/{body['id']}/original",
                     headers={**user.auth, "Range": f"bytes={len(photo) + 5}-"})
    assert_problem(bad, 416, "range_not_satisfiable")

    # byte-exact on disk, under its content address
    key_path = (services.settings.data_dir / "store" / "objects" / "media" / "sha256" /
                body["media"]["sha256"][:2] / body["media"]["sha256"][2:4] /
                body["media"]["sha256"])
    assert key_path.read_bytes() == photo
    # the stored manifest is the canonical form that was signed
    with services.db.session() as s:
        row = s.scalar(select(Capture))
        assert row is not None and row.manifest_hash == hashlib.sha256(
            row.manifest.encode()).hexdigest()


def test_resend_returns_same_capture(user: User) -> None:
    device = user.enroll()
    media = plain_jpeg()
    manifest = user.manifest(device, media)
    first = user.upload(device, media, manifest)
    second = user.upload(device, media, manifest)  # a fresh (randomized) signature
    assert first.status_code == 201 and second.status_code == 200
    assert first.json["id"] == second.json["id"]


def test_non_canonical_manifest_text_is_canonicalized(user: User) -> None:
    device = user.enroll()
    media = b"%PDF-1.4\n% test\n"
    manifest = user.manifest(device, media, kind="import", mime="application/pdf",
                             name="合同.pdf")
    pretty = json.dumps(manifest, indent=3, ensure_ascii=True)
    r = user.upload(device, media, manifest, raw_manifest=pretty)
    assert r.status_code == 201, r.json
    assert r.json["manifest"] == manifest


def test_der_signature_accepted(user: User) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from fieldproof.core.canonical import canonicalize
    from fieldproof.core.encoding import b64url_encode
    device = user.enroll()
    media = plain_jpeg()
    manifest = user.manifest(device, media)
    der = device.key.sign(canonicalize(manifest), ec.ECDSA(hashes.SHA256()))
    r = user.upload(device, media, manifest, signature=b64url_encode(der))
    assert r.status_code == 201, r.json


# ----------------------------------------------------------------- rejections
@pytest.mark.parametrize("raw", [False, True], ids=["multipart", "raw"])
def test_rejections_leave_nothing_behind(user: User, make_user: Any,
                                         services: Services, raw: bool) -> None:
    device = user.enroll()
    media = plain_jpeg()
    nonce = user.nonce()
    user.upload = functools.partial(user.upload, raw=raw)  # type: ignore[method-assign]

    # media that is not what was signed
    m = user.manifest(device, media, nonce=nonce)
    assert_problem(user.upload(device, media + b"x", m), 422, "size_mismatch")
    tampered = bytearray(media)
    tampered[-3] ^= 1
    assert_problem(user.upload(device, bytes(tampered), m), 422, "hash_mismatch")
    # a signature by another key
    assert_problem(user.upload(device, media, m, signature=DeviceKey().sign(b"x")),
                   422, "signature_invalid")
    assert_problem(user.upload(device, media, m, signature="not base64 !!"),
                   422, "signature_invalid")
    # a device the caller does not own
    stranger = make_user()
    other_dev = stranger.enroll()
    m2 = user.manifest(other_dev, media, nonce=nonce)
    assert_problem(user.upload(other_dev, media, m2), 403, "device_unknown")
    # schema
    assert_problem(user.upload(device, media, {**m, "kind": "selfie"}), 400, "manifest_invalid")
    assert_problem(user.upload(device, media, m, raw_manifest='{"v":1,"v":1}'),
                   400, "json_invalid")
    # a nonce that does not exist, or belongs to someone else
    fake = user.manifest(device, media, nonce="A" * 43)
    assert_problem(user.upload(device, media, fake), 422, "nonce_unknown")
    theirs = user.manifest(device, media, nonce=stranger.nonce())
    assert_problem(user.upload(device, media, theirs), 422, "nonce_unknown")

    assert_nothing_stored(services)
    # none of that consumed the nonce: the honest upload still goes through
    assert user.upload(device, media, m).status_code == 201


# ----------------------------------------------------------------- raw uploads
class CountingBody(io.BytesIO):
    """A request body that counts what the server read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, n: int | None = -1) -> bytes:
        block = super().read(n)
        self.taken += len(block)
        return block


def raw_post(user: User, body: io.BytesIO, length: int | None, **headers: str) -> Any:
    # The WSGI environ's own CONTENT_LENGTH: the test client would compute one.
    # No length at all is a chunked body.
    environ = {"CONTENT_LENGTH": str(length)} if length is not None else {
        "HTTP_TRANSFER_ENCODING": "chunked"}
    return user.client.post("/api/v1/captures", input_stream=body, headers={
        **user.auth, **headers}, content_type="application/octet-stream",
        environ_overrides=environ)


@pytest.mark.parametrize("raw", [False, True], ids=["multipart", "raw"])
def test_random_megabytes_are_stored_byte_exact(user: User, client: Any, services: Services,
                                                raw: bool) -> None:
    """Several of the server's 1 MiB reads long; random bytes put CR/LF at read
    edges, which the multipart parser must cope with."""
    device = user.enroll()
    media = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024 + 17)
    manifest = user.manifest(device, media, kind="import", mime="application/pdf",
                             name="工资承诺.pdf")
    first = user.upload(device, media, manifest, raw=raw)
    assert first.status_code == 201, first.json
    assert first.json["media"]["sha256"] == hashlib.sha256(media).hexdigest()
    again = user.upload(device, media, manifest, raw=raw)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    original = client.get(f"/api/v1/captures/{first.json['id']}/original", headers=user.auth)
    assert original.status_code == 200 and original.data == media
    assert [p for p in (services.settings.data_dir / "store" / "tmp").rglob("*")
            if p.is_file()] == []


def test_raw_upload_refuses_before_reading_the_body(user: User, services: Services) -> None:
    from fieldproof.core.canonical import canonicalize
    from fieldproof.core.encoding import b64url_encode
    device = user.enroll()
    media = plain_jpeg()
    m = user.manifest(device, media)
    header = b64url_encode(canonicalize(m))

    def refused(length: int | None, status: int, code: str, **headers: str) -> None:
        body = CountingBody(media)
        assert_problem(raw_post(user, body, length, **headers), status, code)
        assert body.taken == 0, f"{code}: the server read {body.taken} bytes first"

    good = {"FieldProof-Manifest": header, "FieldProof-Signature": device.sign(
        canonicalize(m))}
    refused(len(media), 422, "signature_invalid", **{**good, "FieldProof-Signature":
                                                     DeviceKey().sign(b"x")})
    refused(len(media) + 1, 422, "size_mismatch", **good)
    refused(len(media), 400, "signature_missing", **{"FieldProof-Manifest": header})
    refused(len(media), 400, "manifest_invalid", **{**good, "FieldProof-Manifest": "a!b"})
    refused(len(media), 400, "manifest_too_large", **{**good, "FieldProof-Manifest": "A" * 8000})
    refused(None, 411, "length_required", **good)
    stranger = DeviceKey()
    theirs = user.manifest(stranger, media)
    refused(len(media), 403, "device_unknown", **{
        "FieldProof-Manifest": b64url_encode(canonicalize(theirs)),
        "FieldProof-Signature": stranger.sign(canonicalize(theirs))})
    # a body that ends before its Content-Length: refused, nothing kept
    short = raw_post(user, io.BytesIO(media[:-100]), len(media), **good)
    assert_problem(short, 422, "size_mismatch")
    assert_nothing_stored(services)
    assert user.upload(device, media, m, raw=True).status_code == 201  # the nonce is unused


def test_nonce_single_use_and_expiry(user: User, services: Services) -> None:
    device = user.enroll()
    nonce = user.nonce()
    assert user.upload(device, plain_jpeg(), nonce=nonce).status_code == 201
    again = user.upload(device, jpeg(), nonce=nonce)
    assert_problem(again, 409, "nonce_reused")

    old = user.nonce()
    with services.db.session() as s:
        s.execute(update(Nonce).where(Nonce.value == old)
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert_problem(user.upload(device, plain_jpeg(), nonce=old), 422, "nonce_expired")


def test_missing_parts_and_not_multipart(user: User, client: Any) -> None:
    user.enroll()
    assert_problem(client.post("/api/v1/captures", json={}, headers=user.auth),
                   400, "multipart_required")
    r = client.post("/api/v1/captures", data={"manifest": "{}", "signature": "x"},
                    headers=user.auth, content_type="multipart/form-data")
    assert_problem(r, 400, "media_missing")
    r = client.post("/api/v1/captures", data={"signature": "x",
                                              "media": (io.BytesIO(b"abc"), "m")},
                    headers=user.auth, content_type="multipart/form-data")
    assert_problem(r, 400, "manifest_missing")


def test_too_large_is_413_and_spool_removed(user: User, services: Services) -> None:
    device = user.enroll()
    big = b"\xff\xd8\xff" + b"\x00" * (services.settings.max_upload_bytes + 10)
    r = user.upload(device, big)
    assert_problem(r, 413, "too_large")
    assert_nothing_stored(services)


# ----------------------------------------------------------------- flagged, not rejected
def test_discrepancies_are_flagged(user: User) -> None:
    device = user.enroll()
    photo = jpeg(lat=39.9, lon=116.4, taken=datetime(2020, 1, 1, 12, 0, 0))
    geo = {"lat": 31.23, "lon": 121.47, "accuracy": 5, "fixed_at": "2026-11-25T05:00:00Z"}
    r = user.upload(device, photo, mime="image/png", geo=geo,
                    start=datetime.now(UTC) - timedelta(days=2))
    assert r.status_code == 201, r.json
    bad = {c["name"] for c in r.json["checks"] if not c["ok"]}
    assert bad == {"mime_sniff", "exif_gps", "exif_time", "capture_time"}


def test_device_chain(user: User) -> None:
    device = user.enroll()
    first = user.upload(device, plain_jpeg())
    second = user.upload(device, jpeg())
    chain = next(c for c in second.json["checks"] if c["name"] == "device_chain")
    assert chain["ok"] and first.json["manifest_hash"] in chain["detail"]

    gap = user.upload(device, jpeg(make="A"), prev="ab" * 32)
    chain = next(c for c in gap.json["checks"] if c["name"] == "device_chain")
    assert not chain["ok"] and "missing" in chain["detail"]

    restart = user.upload(device, jpeg(make="B"), prev=None)
    chain = next(c for c in restart.json["checks"] if c["name"] == "device_chain")
    assert not chain["ok"] and "first capture" in chain["detail"]

    fork = user.upload(device, jpeg(make="C"), prev=first.json["manifest_hash"])
    chain = next(c for c in fork.json["checks"] if c["name"] == "device_chain")
    assert not chain["ok"] and "forks" in chain["detail"]


# ----------------------------------------------------------------- reads
def test_other_users_capture_is_404(user: User, make_user: Any, client: Any) -> None:
    device = user.enroll()
    cid = user.upload(device, plain_jpeg()).json["id"]
    other = make_user()
    for suffix in ("", "/original"):
        assert_problem(client.get(f"/api/v1/captures/{cid}{suffix}", headers=other.auth),
                       404, "capture_not_found")
    assert client.get("/api/v1/captures", headers=other.auth).json["items"] == []


def test_list_pages(user: User, client: Any) -> None:
    device = user.enroll()
    ids = [user.upload(device, jpeg(make=f"m{i}")).json["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        q = "?limit=2" + (f"&before={cursor}" if cursor else "")
        page = client.get(f"/api/v1/captures{q}", headers=user.auth).json
        seen += [c["id"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert_problem(client.get("/api/v1/captures?limit=x", headers=user.auth),
                   400, "query_invalid")


def test_openapi_describes_every_route(app: Any, client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    described = {(path, method.upper()) for path, ops in spec["paths"].items()
                 for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = rule.rule[len("/api/v1"):].replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method))
    assert routes == described


def test_unknown_route_is_problem_json(client: Any) -> None:
    assert_problem(client.get("/api/v1/nope"), 404, "not_found")
    assert_problem(client.delete("/api/v1/health"), 405, "method_not_allowed")


def test_spool_dir_is_store_tmp(services: Services) -> None:
    assert Path(services.store.tmp_dir).is_dir()  # type: ignore[attr-defined]
