"""Chain of custody: every read and status change is an event and its own log leaf."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from fieldproof.bundle.layout import CUSTODY, SUMS, SUMS_SIGNATURE, sums_text
from fieldproof.bundle.verify import verify_bundle
from fieldproof.core import merkle
from fieldproof.core.canonical import canonicalize
from fieldproof.core.logentry import custody_entry
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem


def _anchored_photo(user: User, services: Services) -> str:
    r = user.upload(user.enroll(), jpeg(make="custody"))
    assert r.status_code == 201, r.json
    services.sequencer.integrate()
    return str(r.json["id"])


def _timeline(client: Any, user: User, cid: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/captures/{cid}/custody", headers=user.auth)
    assert r.status_code == 200, r.json
    assert r.json["capture_id"] == cid
    return list(r.json["events"])


def test_every_read_is_an_event_and_a_log_leaf(user: User, client: Any,
                                               services: Services) -> None:
    cid = _anchored_photo(user, services)
    assert [e["event"] for e in _timeline(client, user, cid)] == ["anchored"]
    ua = {"User-Agent": "custody-test/1.0"}
    assert client.get(f"/api/v1/captures/{cid}", headers={**user.auth, **ua}).status_code == 200
    r = client.get(f"/api/v1/captures/{cid}/original", headers={**user.auth, "Range": "bytes=0-9"})
    assert r.status_code == 206
    assert client.get(f"/api/v1/captures/{cid}/derived/privacy",
                      headers=user.auth).status_code == 200
    assert client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth).status_code == 200
    # a refused read records nothing
    assert client.get(f"/api/v1/captures/{cid}/original",
                      headers={**user.auth, "Range": "bytes=999999999-"}).status_code == 416

    events = _timeline(client, user, cid)
    assert [e["event"] for e in events] == ["anchored", "view", "download", "derive", "export"]
    anchored, view, download, derive, _export = events
    assert anchored["actor"] == {"system": "sequencer"} and anchored["detail"]["status"] == \
        "anchored"
    assert view["actor"] == {"user_id": view["actor"]["user_id"], "email": user.email}
    assert view["origin"]["user_agent"] == "custody-test/1.0"
    assert view["origin"]["ip"] == "127.0.0.1"
    assert download["detail"]["range"] == [0, 10]
    assert derive["detail"]["variant"] == "privacy"
    assert all(e["leaf_index"] is None for e in events)  # not yet sequenced

    services.sequencer.integrate()
    events = _timeline(client, user, cid)
    indices = [e["leaf_index"] for e in events]
    assert None not in indices and indices == sorted(indices)
    # the public log holds the custody leaves, with hashes only: no email, IP or agent
    log = client.get(f"/api/v1/log/entries?start={indices[0]}&end={indices[-1] + 1}").json
    datas = [e["data"] for e in log["entries"]]
    assert len(datas) == 5
    for data in datas:
        leaf = json.loads(data)
        assert leaf["type"] == "fieldproof.custody"
        # not even the capture, event or time: only the salted record's hash
        assert set(leaf) == {"v", "type", "record_sha256"}
        assert user.email not in data and "127.0.0.1" not in data and "custody-test" not in data


def test_custody_timeline_is_private(user: User, make_user: Any, client: Any,
                                     services: Services) -> None:
    cid = _anchored_photo(user, services)
    other = make_user("stranger@example.org")
    r = client.get(f"/api/v1/captures/{cid}/custody", headers=other.auth)
    assert_problem(r, 404, "capture_not_found")
    assert client.get(f"/api/v1/captures/{cid}/custody").status_code == 401
    # a stranger's failed attempts are not events on this capture
    assert [e["event"] for e in _timeline(client, user, cid)] == ["anchored"]


def _bundle(client: Any, user: User, cid: str) -> dict[str, bytes]:
    r = client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _resummed(files: dict[str, bytes]) -> dict[str, bytes]:
    """What a careful forger does: fix SHA256SUMS after an edit (and drop the
    server's signature over it, which no longer holds)."""
    out = {n: d for n, d in files.items() if n != SUMS_SIGNATURE}
    out[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in out.items()
                           if n != SUMS})
    return out


def test_bundle_custody_proven_and_forgeries_caught(user: User, client: Any,
                                                   services: Services) -> None:
    cid = _anchored_photo(user, services)
    client.get(f"/api/v1/captures/{cid}", headers=user.auth)
    services.sequencer.integrate()
    files = _bundle(client, user, cid)
    report = verify_bundle(files)
    assert report.ok, report.lines()
    detail = next(r.detail for r in report.results if r.name == "custody")
    assert detail.startswith("3 events (anchored, view, export) from "), detail
    assert ": 2 proven in the log" in detail, detail

    lines = files[CUSTODY].decode().splitlines()
    item = json.loads(lines[1])
    record = json.loads(item["record"])
    assert record["event"] == "view" and record["actor"]["email"] == user.email
    # the proof is what the log says: recompute the leaf the way a stranger would
    assert merkle.leaf_hash(custody_entry(item["record"].encode())) == \
        merkle.leaf_hash(canonicalize(json.loads(custody_entry(item["record"].encode()))))

    def forged(change: Any) -> str:
        rec = dict(record)
        change(rec)
        new_item = dict(item, record=canonicalize(rec).decode())
        new = [*lines]
        new[1] = canonicalize(new_item).decode()
        bad = _resummed({**files, CUSTODY: ("\n".join(new) + "\n").encode()})
        rep = verify_bundle(bad)
        assert not rep.ok
        failed = {r.name: r.detail for r in rep.failed()}
        assert set(failed) == {"custody", "sums_signature"}, failed
        return failed["custody"]

    # someone else read it, from elsewhere: the record no longer matches its leaf
    assert "the view event is not leaf" in forged(
        lambda r: r.__setitem__("actor", {"user_id": 0, "email": "x@example.org"}))
    assert "not this bundle's" in forged(lambda r: r.__setitem__("manifest_sha256", "0" * 64))
    assert "unknown event" in forged(lambda r: r.__setitem__("event", "shred"))

    # events dropped from the proof: a proven leaf cannot lose its proof silently
    no_proof = dict(item)
    del no_proof["inclusion_proof"]
    new = [*lines]
    new[1] = canonicalize(no_proof).decode()
    rep = verify_bundle(_resummed({**files, CUSTODY: ("\n".join(new) + "\n").encode()}))
    assert any("has no inclusion proof" in r.detail for r in rep.failed()), rep.lines()

    # the proven events cannot be moved behind an unproven one, nor left unproven
    lines_moved = [lines[0], lines[2], lines[1]]
    rep = verify_bundle(_resummed({**files, CUSTODY: ("\n".join(lines_moved) + "\n").encode()}))
    assert any("a line was removed, added or moved" in r.detail for r in rep.failed()), \
        rep.lines()
    rep = verify_bundle(_resummed({n: d for n, d in files.items()
                                   if n != "custody-checkpoint.txt"}))
    assert any("custody-checkpoint.txt is missing" in r.detail for r in rep.failed()), \
        rep.lines()

    # a custody checkpoint from another tree does not extend checkpoint.txt
    bad = dict(files)
    bad["custody-consistency.json"] = canonicalize(
        {**json.loads(files["custody-consistency.json"]), "consistency_proof": []})
    rep = verify_bundle(_resummed(bad))
    assert any("does not extend checkpoint.txt" in r.detail for r in rep.failed()), \
        rep.lines()


def test_repeated_reads_are_one_event_and_head_is_none(user: User, client: Any,
                                                       services: Services) -> None:
    cid = _anchored_photo(user, services)
    for _ in range(5):  # an app polling, a player's range requests
        assert client.get(f"/api/v1/captures/{cid}", headers=user.auth).status_code == 200
        assert client.get(f"/api/v1/captures/{cid}/original",
                          headers={**user.auth, "Range": "bytes=0-1"}).status_code == 206
    assert client.head(f"/api/v1/captures/{cid}/original",
                       headers=user.auth).status_code == 200
    assert [e["event"] for e in _timeline(client, user, cid)] == ["anchored", "view",
                                                                  "download"]
    # outside the window, the same read is a new event
    services.custody.COALESCE_SECONDS = 0.0
    try:
        client.get(f"/api/v1/captures/{cid}", headers=user.auth)
    finally:
        del services.custody.COALESCE_SECONDS
    assert [e["event"] for e in _timeline(client, user, cid)] == ["anchored", "view",
                                                                  "download", "view"]


def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(
        user: User, client: Any, services: Services) -> None:
    from dataclasses import replace

    from fieldproof.web.app import create_app

    cid = _anchored_photo(user, services)
    proxied = create_app(replace(services.settings, trusted_proxies=1),
                         services=services).test_client()
    r = proxied.get(f"/api/v1/captures/{cid}",
                    headers={**user.auth, "X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 200
    # without the setting, a client's own X-Forwarded-For is not believed
    services.custody.COALESCE_SECONDS = 0.0
    try:
        client.get(f"/api/v1/captures/{cid}",
                   headers={**user.auth, "X-Forwarded-For": "198.51.100.9"})
    finally:
        del services.custody.COALESCE_SECONDS
    ips = [e["origin"].get("ip") for e in _timeline(client, user, cid) if e["event"] == "view"]
    assert ips == ["203.0.113.7", "127.0.0.1"]
