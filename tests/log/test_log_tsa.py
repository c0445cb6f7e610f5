"""External RFC 3161 TSAs over HTTP (real `openssl ts -reply` behind HTTP)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from fieldproof.bundle.read import ZipBundle
from fieldproof.bundle.verify import verify_bundle
from fieldproof.client.audit import Expected, check_receipt
from fieldproof.config import Settings
from fieldproof.db import LogTimestamp
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.tsa_server import OpensslTSA, openssl_tsa


@pytest.fixture(scope="module")
def tsa_server() -> Iterator[OpensslTSA]:
    with openssl_tsa() as srv:
        yield srv


def _services(tmp_path: Path, tsa: OpensslTSA, *, embedded: bool) -> Services:
    chain = tmp_path / "tsa-chain.pem"
    chain.write_bytes(b"".join(tsa.chain))
    settings = Settings(data_dir=tmp_path / "var", testing=True, embedded_tsa=embedded,
                        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                        tsa_urls=(f"{tsa.url}|{chain}",))
    return Services.build(settings)


def _user(services: Services) -> tuple[User, Any]:
    client = create_app(services=services).test_client()
    uid = services.accounts.create_user("tsa@example.org", "correct horse battery")
    return User("tsa@example.org", services.accounts.issue_token(uid), client), client


def test_external_and_embedded_tokens(tmp_path: Path, tsa_server: OpensslTSA) -> None:
    tsa_server.mode = "ok"
    services = _services(tmp_path, tsa_server, embedded=True)
    user, client = _user(services)
    device = user.enroll()
    cid = user.upload(device, jpeg()).json["id"]
    services.sequencer.integrate()
    assert services.sequencer.stamp_pending() == 1
    receipt = client.get(f"/api/v1/captures/{cid}/receipt", headers=user.auth).json
    assert sorted(t["embedded"] for t in receipt["timestamps"]) == [False, True]
    info = client.get("/api/v1/log").json
    external = next(t for t in info["tsa"] if not t["embedded"])
    assert external["chain_pem"][-1].encode() == tsa_server.root_pem
    report = check_receipt(receipt, info, expected=Expected(capture_id=cid))
    assert report.ok, report.lines()
    assert any("embedded TSA" in line for line in report.lines())
    # the offline verifier labels each token of an exported bundle
    r = client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        bundle = verify_bundle(ZipBundle(zf))
    assert bundle.ok, bundle.lines()
    labels = sorted(r.detail.rsplit(" [", 1)[1] for r in bundle.results
                    if r.name == "timestamp")
    assert labels == ["embedded: the server's own TSA, not an independent witness]",
                      "external TSA, independent: its chain is not the server's]"]
    assert bundle.warnings == []  # an independent TSA dated it: no re-dating warning
    services.close()


def test_failures_are_kept_and_retried(tmp_path: Path, tsa_server: OpensslTSA) -> None:
    """With only an external TSA, a capture is anchored once a token arrives."""
    services = _services(tmp_path, tsa_server, embedded=False)
    user, client = _user(services)
    device = user.enroll()
    cid = user.upload(device, jpeg()).json["id"]
    tsa_server.mode = "http500"
    try:
        services.sequencer.integrate()
        assert services.sequencer.stamp_pending() == 0
        with services.db.session() as s:
            row = s.scalar(select(LogTimestamp))
            assert row is not None and row.token is None and row.attempts == 1
            assert row.last_error and "tsa_unavailable" in row.last_error
            assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
        assert client.get(f"/api/v1/captures/{cid}", headers=user.auth).json["status"] == \
            "stored"
        assert client.get(f"/api/v1/captures/{cid}/receipt",
                          headers=user.auth).json["code"] == "not_anchored"

        tsa_server.mode = "garbage"
        with services.db.session() as s:
            s.execute(update(LogTimestamp).values(next_attempt_at=utcnow() - timedelta(1)))
        assert services.sequencer.stamp_pending() == 0
        with services.db.session() as s:
            row = s.scalar(select(LogTimestamp))
            assert row is not None and row.attempts == 2 and "timestamp_invalid" in str(
                row.last_error)
    finally:
        tsa_server.mode = "ok"
    # not due yet: nothing is asked
    assert services.sequencer.stamp_pending() == 0
    with services.db.session() as s:
        s.execute(update(LogTimestamp).values(next_attempt_at=utcnow() - timedelta(1)))
    assert services.sequencer.stamp_pending() == 1
    assert client.get(f"/api/v1/captures/{cid}", headers=user.auth).json["status"] == \
        "anchored"
    receipt = client.get(f"/api/v1/captures/{cid}/receipt", headers=user.auth).json
    assert [t["embedded"] for t in receipt["timestamps"]] == [False]
    assert check_receipt(receipt, client.get("/api/v1/log").json,
                         expected=Expected(capture_id=cid)).ok
    services.close()
