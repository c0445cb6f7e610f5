"""Public verification endpoints: hash lookup and the step-by-step timestamp check."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Flask

from fieldproof.core.timestamp import make_rejection
from fieldproof.public.timestamps import STEP_CODES
from fieldproof.services import Services
from fieldproof.tsa import EmbeddedTSA
from fieldproof.web.verify_api import LIMITER_KEY
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem

STEPS = ["parse", "status", "tsa", "gen_time", "policy", "hash_algorithm", "message_imprint",
         "signer_certificate", "chain", "signature", "independence"]
STEPS_JSON = Path(__file__).parents[2] / "shared" / "vectors" / "verify" / "timestamp-steps.json"
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


def test_the_pages_step_table_is_the_servers() -> None:
    """The page words every code the server can send (pwa/tests/i18n.test.ts reads this file)."""
    assert list(STEP_CODES) == STEPS
    doc = json.loads(STEPS_JSON.read_text())
    assert doc["steps"] == {step: {code: list(params) for code, params in codes.items()}
                            for step, codes in STEP_CODES.items()}


def _steps(body: dict[str, Any]) -> dict[str, tuple[bool, str, dict[str, Any]]]:
    """step -> (ok, code, params): codes and data only, never a sentence."""
    assert all(set(s) == {"step", "ok", "code", "params"} for s in body["steps"]), body
    return {s["step"]: (s["ok"], s["code"], s["params"]) for s in body["steps"]}


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
    assert steps["independence"] == (True, "embedded", {})
    digest = hashlib.sha256(receipt["checkpoint"].encode()).hexdigest()
    assert steps["message_imprint"] == (True, "matches", {
        "algorithm": "sha256", "bytes": len(receipt["checkpoint"].encode()),
        "digest": digest, "stamped": digest})
    assert steps["hash_algorithm"][:2] == (True, "accepted")
    assert steps["hash_algorithm"][2]["algorithm"] == "sha256"
    assert steps["tsa"][1] == "named" and "FieldProof embedded TSA" in steps["tsa"][2]["name"]
    assert steps["gen_time"][2]["time"] == stamp["gen_time"]
    assert steps["policy"][1] == "embedded"
    info = client.get("/api/v1/log").json
    assert steps["chain"][:2] == (True, "to_root")
    assert steps["chain"][2]["tsa"] == info["tsa"][0]["name"]
    assert steps["signature"] == (True, "verified", {})


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
    ok, code, params = steps["message_imprint"]
    assert not ok and code == "other_data"
    assert params["stamped"] != params["digest"]
    assert params["digest"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert steps["signature"] == (False, "not_checked_imprint", {})


def test_timestamp_with_a_broken_signature(user: User, client: Any,
                                           services: Services) -> None:
    _, receipt = _anchored(user, client, services, jpeg(make="sig"))
    token = bytearray(base64.b64decode(receipt["timestamps"][0]["token_b64"]))
    token[-1] ^= 0x01  # the last byte of the SignerInfo's ECDSA signature
    body = _explain(client, bytes(token), receipt["checkpoint"])
    steps = _steps(body)
    assert body["ok"] is False
    assert steps["message_imprint"][0] and steps["chain"][0]
    ok, code, params = steps["signature"]
    assert not ok and code == "rejected" and params["reason"]


def test_timestamp_from_an_unknown_tsa(user: User, client: Any, services: Services,
                                       tmp_path: Path) -> None:
    _, receipt = _anchored(user, client, services, jpeg(make="unknown"))
    stranger = EmbeddedTSA.load_or_create(tmp_path / "stranger", name="Stranger TSA")
    token = stranger.stamp(receipt["checkpoint"].encode())
    body = _explain(client, token, receipt["checkpoint"])
    steps = _steps(body)
    assert body["ok"] is False and body["embedded"] is None
    assert steps["message_imprint"][0] and steps["signer_certificate"][0]
    assert steps["chain"][:2] == (False, "unknown_issuer")
    assert "Stranger TSA" in steps["chain"][2]["issuer"]
    assert steps["signature"] == (False, "not_checked_root", {})
    # its policy is the embedded TSA's: another FieldProof server's own
    assert steps["independence"] == (False, "unknown_fieldproof", {})


def test_timestamp_that_is_not_a_token(client: Any) -> None:
    body = _explain(client, b"not DER at all", "x\n")
    assert body["ok"] is False
    [(ok, code, params)] = _steps(body).values()
    assert (ok, code, params["bytes"]) == (False, "unreadable", 14) and params["reason"]
    refused = _explain(client, make_rejection(text="busy"), "x\n")
    steps = _steps(refused)
    assert list(steps) == ["parse", "status"]
    assert steps["parse"][:2] == (True, "response")
    assert steps["status"][:2] == (False, "not_granted")
    assert steps["status"][2]["status"] == "rejection" and steps["status"][2]["text"] == "busy"


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
