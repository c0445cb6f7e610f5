"""Anchoring through the API: sequencer, receipts, public log endpoints."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fieldproof.client.audit import Expected, check_receipt
from fieldproof.core import merkle
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.db import LogCheckpoint, LogEntry
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem


def _capture(user: User, device: Any, n: int) -> list[str]:
    return [user.upload(device, jpeg(make=f"log{i}")).json["id"] for i in range(n)]


def test_capture_is_anchored_with_a_verifiable_receipt(user: User, client: Any,
                                                       services: Services,
                                                       tmp_path: Path) -> None:
    device = user.enroll()
    ids = _capture(user, device, 3)
    r = client.get(f"/api/v1/captures/{ids[0]}/receipt", headers=user.auth)
    assert_problem(r, 409, "not_anchored")
    assert client.get(f"/api/v1/captures/{ids[0]}", headers=user.auth).json["status"] == "stored"

    assert services.sequencer.integrate() == 4  # 3 captures, and the view just above
    assert services.sequencer.integrate() == 3  # each capture's "anchored" custody event
    assert services.sequencer.integrate() == 0  # nothing left: no empty checkpoint
    for cid in ids:
        assert client.get(f"/api/v1/captures/{cid}", headers=user.auth).json["status"] == \
            "anchored"
    receipt = client.get(f"/api/v1/captures/{ids[1]}/receipt", headers=user.auth).json
    assert receipt["leaf_index"] == 1 and receipt["tree_size"] == 4
    info = client.get("/api/v1/log").json
    assert info["tree_size"] == 7 and info["origin"] == "fieldproof.local/log"
    cap = client.get(f"/api/v1/captures/{ids[1]}", headers=user.auth).json
    mine = Expected(capture_id=ids[1], media_sha256=cap["media"]["sha256"],
                    manifest_sha256=cap["manifest_hash"])
    report = check_receipt(receipt, info, expected=mine)
    assert report.ok, report.lines()
    # a valid receipt, but of another capture: its entry is not this capture's
    other = client.get(f"/api/v1/captures/{ids[0]}/receipt", headers=user.auth).json
    assert check_receipt(other, info, expected=Expected(capture_id=ids[0])).ok
    swapped = check_receipt(dict(other, capture_id=ids[1]), info, expected=mine)
    assert [r.name for r in swapped.failed()] == ["entry"], swapped.lines()
    assert "media SHA-256" in swapped.failed()[0].detail
    assert not check_receipt(receipt, info, expected=Expected()).ok  # nothing to bind to
    # the time served beside a token must be the token's own genTime
    late = dict(receipt, timestamps=[dict(receipt["timestamps"][0],
                                          gen_time="2020-01-01T00:00:00.000Z")])
    assert [r.name for r in check_receipt(late, info, expected=mine).failed()] == \
        ["timestamp"]
    entry = receipt["entry"]
    assert '"type":"fieldproof.capture"' in entry and user.email not in entry
    [stamp] = receipt["timestamps"]
    assert stamp["embedded"] is True and stamp["gen_time"].endswith("Z")

    # the token verifies with openssl alone, over the exact checkpoint bytes
    (tmp_path / "cp.txt").write_bytes(receipt["checkpoint"].encode())
    (tmp_path / "t.tsr").write_bytes(base64.b64decode(stamp["token_b64"]))
    chain = info["tsa"][0]["chain_pem"]
    (tmp_path / "root.pem").write_text(chain[-1])
    (tmp_path / "tsa.pem").write_text("".join(chain[:-1]))
    out = subprocess.run(["openssl", "ts", "-verify", "-data", "cp.txt", "-in", "t.tsr",
                          "-CAfile", "root.pem", "-untrusted", "tsa.pem"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0 and "Verification: OK" in out.stdout, out.stderr

    # a tampered receipt fails the check
    bad = dict(receipt, entry=entry.replace("fieldproof.capture", "fieldproof.captur3"))
    assert not check_receipt(bad, info, expected=mine).ok


def test_public_log_endpoints(user: User, client: Any, services: Services) -> None:
    assert_problem(client.get("/api/v1/log/checkpoint"), 404, "no_checkpoint")
    device = user.enroll()
    _capture(user, device, 2)
    services.sequencer.integrate()  # tree 2; queues 2 "anchored" custody events
    _capture(user, device, 3)
    services.sequencer.integrate()  # tree 7

    note = client.get("/api/v1/log/checkpoint")
    assert note.mimetype == "text/plain"
    info = client.get("/api/v1/log").json
    cp = Checkpoint.parse(Verifier.parse(info["vkey"]).open(note.data))
    assert cp.size == 7

    cps = client.get("/api/v1/log/checkpoints").json["checkpoints"]
    assert [c["tree_size"] for c in cps] == [2, 7]
    proof = client.get("/api/v1/log/proof/consistency?first=2&second=7").json
    merkle.verify_consistency(2, 7, base64.b64decode(cps[0]["root"]), cp.root,
                              [base64.b64decode(p) for p in proof["consistency_proof"]])
    entries = client.get("/api/v1/log/entries?start=0&end=99").json["entries"]
    assert [e["leaf_index"] for e in entries] == list(range(7))
    assert [json.loads(e["data"])["type"].split(".")[1] for e in entries] == \
        ["capture"] * 2 + ["custody"] * 2 + ["capture"] * 3
    leaves = [merkle.leaf_hash(e["data"].encode()) for e in entries]
    assert merkle.root_of_leaves(leaves) == cp.root
    inc = client.get("/api/v1/log/proof/inclusion?index=3&size=7").json
    merkle.verify_inclusion(3, 7, leaves[3], [base64.b64decode(p) for p in
                                              inc["inclusion_proof"]], cp.root)

    for url, code in [("/api/v1/log/proof/inclusion?index=7&size=7", "proof_out_of_range"),
                      ("/api/v1/log/proof/inclusion?index=0&size=8", "proof_out_of_range"),
                      ("/api/v1/log/proof/inclusion?index=x&size=5", "query_invalid"),
                      ("/api/v1/log/proof/inclusion?size=5", "query_invalid"),
                      ("/api/v1/log/proof/consistency?first=0&second=5", "proof_out_of_range"),
                      ("/api/v1/log/entries?start=3&end=3", "query_invalid")]:
        assert_problem(client.get(url), 400, code)


def test_receipt_is_private(user: User, make_user: Any, client: Any,
                            services: Services) -> None:
    device = user.enroll()
    [cid] = _capture(user, device, 1)
    services.sequencer.integrate()
    other = make_user()
    assert_problem(client.get(f"/api/v1/captures/{cid}/receipt", headers=other.auth),
                   404, "capture_not_found")


def test_failed_batch_rolls_back(user: User, services: Services, monkeypatch: Any) -> None:
    device = user.enroll()
    _capture(user, device, 2)
    tsa = services.log.tsas[0]

    def broken(_data: bytes) -> bytes:
        raise RuntimeError("TSA key unreadable (injected)")

    monkeypatch.setattr(tsa, "stamp", broken)
    with pytest.raises(RuntimeError):
        services.sequencer.integrate()
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(LogCheckpoint)) == 0
        assert s.scalar(select(func.count()).select_from(LogEntry)
                        .where(LogEntry.leaf_index.is_not(None))) == 0
    monkeypatch.undo()
    assert services.sequencer.integrate() == 2


def test_migrations_match_models(services: Services) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fieldproof.db import Base

    with services.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
