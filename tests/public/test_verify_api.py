"""Public verification endpoints: hash lookup and the step-by-step timestamp check."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Flask

from fieldproof.core.timestamp import make_rejection
from fieldproof.services import Services
from fieldproof.tsa import EmbeddedTSA
from fieldproof.web.verify_api import LIMITER_KEY
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem

STEPS = ["parse", "status", "tsa", "gen_time", "policy", "hash_algorithm", "message_imprint",
         "signer_certificate", "chain", "signature", "independence"]
MATCH_KEYS = {"matched", "kind", "partial", "received_at", "anchored", "leaf_index",
              "checkpoint"}


def _anchored(user: User, client: Any, services: Services,
              media: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    device = user.enroll()
    r = user.upload(device, media)
    assert r.status_code == 201, r.json
    capture = r.json
    assert services.sequencer.integrate() >= 1
    receipt = client.get(f"/api/v1/captures/{capture['id']}/receipt", headers=user.auth).json
    return capture, receipt


def _explain(client: Any, token: bytes, checkpoint: str) -> dict[str, Any]:
    r = client.post("/api/v1/verify/timestamp",
                    json={"token_b64": base64.b64encode(token).decode(),
                          "checkpoint": checkpoint})
    assert r.status_code == 200, r.get_data(as_text=True)
    body: dict[str, Any] = r.json
    return body


def _steps(body: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    return {s["step"]: (s["ok"], s["detail"]) for s in body["steps"]}


# --------------------------------------------------------------------------- lookup
def test_lookup_finds_a_file_only_by_its_hash_and_says_nothing_personal(
        user: User, client: Any, services: Services) -> None:
    media = jpeg(make="lookup")
    digest = hashlib.sha256(media).hexdigest()
    device = user.enroll()
    r = user.upload(device, media)
    assert r.status_code == 201, r.json
    capture = r.json

    # stored, not yet in the log: found, but not anchored
    body = client.get(f"/api/v1/lookup/{digest}").json
    assert body["found"] is True and body["sha256"] == digest
    [m] = body["matches"]
    assert m["anchored"] is False and m["leaf_index"] is None and m["checkpoint"] is None

    services.sequencer.integrate()
    receipt = client.get(f"/api/v1/captures/{capture['id']}/receipt", headers=user.auth).json
    r = client.get(f"/api/v1/lookup/{digest.upper()}")  # no Authorization header at all
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json
    [m] = body["matches"]
    assert set(m) == MATCH_KEYS
    assert m["matched"] == "media" and m["kind"] == "photo" and m["partial"] is False
    assert m["anchored"] is True
    assert m["received_at"] == capture["received_at"]
    assert m["leaf_index"] == receipt["leaf_index"]
    cp = m["checkpoint"]
    assert cp["tree_size"] == receipt["tree_size"]
    assert cp["created_at"] == receipt["checkpoint_created_at"]
    assert cp["timestamps"] == [{"tsa": t["tsa"], "embedded": t["embedded"],
                                 "gen_time": t["gen_time"]} for t in receipt["timestamps"]]
    assert cp["timestamps"][0]["embedded"] is True
    text = r.get_data(as_text=True)
    for secret in (capture["id"], user.email, device.key_id, capture["manifest"]["nonce"],
                   "31.23", "lat", "geo", "user_agent"):
        assert secret not in text, secret

    # the manifest hash finds it too, and POST answers the same
    posted = client.post("/api/v1/lookup", json={"sha256": capture["manifest_hash"]}).json
    assert posted["found"] and posted["matches"][0]["matched"] == "manifest"
    assert {k: v for k, v in posted["matches"][0].items() if k != "matched"} == \
        {k: v for k, v in m.items() if k != "matched"}


def test_lookup_lists_every_capture_of_the_same_file(make_user: Any, client: Any,
                                                     services: Services) -> None:
    media = jpeg(make="twice")
    first, second = make_user(), make_user()
    for u in (first, second):
        assert u.upload(u.enroll(), media).status_code == 201
    services.sequencer.integrate()
    body = client.post("/api/v1/lookup",
                       json={"sha256": hashlib.sha256(media).hexdigest()}).json
    first_leaf, second_leaf = (m["leaf_index"] for m in body["matches"])  # oldest first
    assert first_leaf < second_leaf
    assert all(m["anchored"] and m["matched"] == "media" for m in body["matches"])
    assert body["truncated"] is False


def test_lookup_of_an_unknown_hash(client: Any, user: User, services: Services) -> None:
    user.upload(user.enroll(), jpeg(make="other"))
    services.sequencer.integrate()
    body = client.get(f"/api/v1/lookup/{hashlib.sha256(b'never sent').hexdigest()}").json
    assert body == {"sha256": hashlib.sha256(b"never sent").hexdigest(), "found": False,
                    "matches": [], "truncated": False}


def test_lookup_refuses_what_is_not_a_sha256(client: Any) -> None:
    assert_problem(client.get("/api/v1/lookup/abc"), 400, "hash_invalid")
    assert_problem(client.get("/api/v1/lookup/" + "g" * 64), 400, "hash_invalid")
    assert_problem(client.post("/api/v1/lookup", json={"sha256": 5}), 400, "hash_invalid")
    assert_problem(client.post("/api/v1/lookup", json={}), 400, "hash_invalid")
    assert_problem(client.post("/api/v1/lookup", data="not json",
                               content_type="application/json"), 400, "json_invalid")
    assert_problem(client.post("/api/v1/lookup", json=["a"]), 400, "json_invalid")
    assert_problem(client.post("/api/v1/lookup", data=b"{" + b" " * 70_000 + b"}",
                               content_type="application/json"), 413, "too_large")


def test_rate_limited_per_address_with_retry_after(app: Flask, client: Any) -> None:
    now = [1000.0]
    limiter = app.extensions[LIMITER_KEY]
    limiter.clock = lambda: now[0]
    url = f"/api/v1/lookup/{'0' * 64}"
    for _ in range(int(limiter.capacity)):
        assert client.get(url).status_code == 200
    r = client.get(url)
    assert_problem(r, 429, "rate_limited")
    assert r.json["retry_after"] == 2 and r.headers["Retry-After"] == "2"
    # the timestamp endpoint shares the bucket
    assert_problem(client.post("/api/v1/verify/timestamp", json={}), 429, "rate_limited")
    # another address has its own bucket
    other = client.get(url, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    now[0] += 2.0  # one token back every 2 seconds
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429


# --------------------------------------------------------------------------- timestamps
def test_timestamp_explained_step_by_step(user: User, client: Any, services: Services) -> None:
    _, receipt = _anchored(user, client, services, jpeg(make="tsa"))
    [stamp] = receipt["timestamps"]
    body = _explain(client, base64.b64decode(stamp["token_b64"]), receipt["checkpoint"])
    assert body["ok"] is True, body
    assert [s["step"] for s in body["steps"]] == STEPS
    assert all(s["ok"] for s in body["steps"])
    assert body["embedded"] is True
    assert body["gen_time"] == stamp["gen_time"]
    steps = _steps(body)
    assert "embedded: this server's own TSA, not an independent witness" in \
        steps["independence"][1]
    digest = hashlib.sha256(receipt["checkpoint"].encode()).hexdigest()
    assert digest in steps["message_imprint"][1]
    assert steps["hash_algorithm"][1] == "sha256"
    assert "FieldProof embedded TSA" in steps["tsa"][1]
    info = client.get("/api/v1/log").json
    assert info["tsa"][0]["name"] in steps["chain"][1]


def test_timestamp_over_another_checkpoint_fails_at_the_imprint(
        user: User, client: Any, services: Services) -> None:
    _, receipt = _anchored(user, client, services, jpeg(make="imprint"))
    token = base64.b64decode(receipt["timestamps"][0]["token_b64"])
    note = receipt["checkpoint"]
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree
    body = _explain(client, token, "\n".join(lines))
    steps = _steps(body)
    assert body["ok"] is False
    assert steps["parse"][0] and steps["chain"][0]
    ok, detail = steps["message_imprint"]
    assert not ok and "other data" in detail
    assert steps["signature"] == (False, "not checked: the token does not time-stamp this "
                                         "checkpoint")


def test_timestamp_with_a_broken_signature(user: User, client: Any,
                                           services: Services) -> None:
    _, receipt = _anchored(user, client, services, jpeg(make="sig"))
    token = bytearray(base64.b64decode(receipt["timestamps"][0]["token_b64"]))
    token[-1] ^= 0x01  # the last byte of the SignerInfo's ECDSA signature
    body = _explain(client, bytes(token), receipt["checkpoint"])
    steps = _steps(body)
    assert body["ok"] is False
    assert steps["message_imprint"][0] and steps["chain"][0]
    ok, detail = steps["signature"]
    assert not ok and detail


def test_timestamp_from_an_unknown_tsa(user: User, client: Any, services: Services,
                                       tmp_path: Path) -> None:
    _, receipt = _anchored(user, client, services, jpeg(make="unknown"))
    stranger = EmbeddedTSA.load_or_create(tmp_path / "stranger", name="Stranger TSA")
    token = stranger.stamp(receipt["checkpoint"].encode())
    body = _explain(client, token, receipt["checkpoint"])
    steps = _steps(body)
    assert body["ok"] is False and body["embedded"] is None
    assert steps["message_imprint"][0] and steps["signer_certificate"][0]
    assert not steps["chain"][0] and "Stranger TSA" in steps["chain"][1]
    assert steps["signature"] == (False, "not checked: no trusted root for this token's TSA")
    assert not steps["independence"][0]
    assert "another FieldProof server's own TSA" in steps["independence"][1]


def test_timestamp_that_is_not_a_token(client: Any) -> None:
    body = _explain(client, b"not DER at all", "x\n")
    assert body["ok"] is False
    assert [s["step"] for s in body["steps"]] == ["parse"]
    assert not body["steps"][0]["ok"]
    refused = _explain(client, make_rejection(text="busy"), "x\n")
    assert [(s["step"], s["ok"]) for s in refused["steps"]] == [("parse", True),
                                                                ("status", False)]
    assert "busy" in refused["steps"][1]["detail"]


def test_timestamp_request_validation(client: Any) -> None:
    url = "/api/v1/verify/timestamp"
    assert_problem(client.post(url, json={"checkpoint": "x"}), 400, "bad_request")
    assert_problem(client.post(url, json={"token_b64": "AAAA", "checkpoint": 3}), 400,
                   "bad_request")
    assert_problem(client.post(url, json={"token_b64": "%%%", "checkpoint": "x"}), 400,
                   "bad_request")
    assert_problem(client.post(url, data="[", content_type="application/json"), 400,
                   "json_invalid")
    big = base64.b64encode(b"\0" * 40_000).decode()
    assert_problem(client.post(url, json={"token_b64": big, "checkpoint": "x"}), 413,
                   "too_large")
    assert_problem(client.post(url, json={"token_b64": "AAAA", "checkpoint": "x" * 9000}),
                   413, "too_large")
    assert_problem(client.post(url, data=json.dumps({"pad": "x" * 70_000}),
                               content_type="application/json"), 413, "too_large")
