"""Share links: made and revoked by the owner, read by anyone with the link, each read
a custody event naming the link."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from fieldproof.bundle.read import ZipBundle
from fieldproof.bundle.verify import verify_bundle
from fieldproof.db import Share
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from fieldproof.web.shares_api import LIMITER_KEY
from tests.cases.conftest import add_item, new_case
from tests.support.accounts import User
from tests.support.problems import assert_problem

API = "/api/v1"


def _share(user: User, path: str, **body: Any) -> dict[str, Any]:
    r = user.client.post(f"{API}{path}/shares", json=body, headers=user.auth)
    assert r.status_code == 201, r.json
    return dict(r.json)


def _events(user: User, capture_id: str, event: str) -> list[dict[str, Any]]:
    r = user.client.get(f"{API}/captures/{capture_id}/custody", headers=user.auth)
    return [e for e in r.json["events"] if e["event"] == event]


@pytest.fixture
def shared_case(user: User, capture_of: Any) -> dict[str, Any]:
    photo = capture_of(user, "photo")
    note = capture_of(user)
    case = new_case(user, "张三诉李四", parties=[{"role": "原告", "name": "张三"}],
                    note="for the judge")
    add_item(user, case["id"], photo["id"], title="工资条", purpose="证明工资标准")
    add_item(user, case["id"], note["id"], purpose="证明加班")
    user.client.patch(f"{API}/captures/{note['id']}", json={"title": "Chat", "note": "n1",
                                                            "tags": ["secret-tag"]},
                      headers=user.auth)
    share = _share(user, f"/cases/{case['id']}", label="Judge Wang", allow_download=True)
    return {"case": case, "photo": photo, "note": note, "share": share}


def test_making_listing_and_revoking_links(user: User, capture_of: Any,
                                           services: Services) -> None:
    case = new_case(user)
    c = capture_of(user, anchored=False)
    made = _share(user, f"/cases/{case['id']}", label="  Lawyer Li  ", expires_in=3600)
    assert list(made) == ["id", "url", "token", "kind", "target_id", "label", "allow_download",
                          "created_at", "expires_at", "revoked_at"]
    assert made["kind"] == "case" and made["target_id"] == case["id"]
    assert made["label"] == "Lawyer Li" and made["allow_download"] is False
    assert made["revoked_at"] is None
    url = urlsplit(made["url"])
    assert url.path == f"/s/{made['token']}" and url.netloc == "localhost"
    assert len(made["token"]) >= 43  # 32 random bytes
    # only the token's SHA-256 is kept
    with services.db.reading() as s:
        row = s.scalar(select(Share).where(Share.id == made["id"]))
    assert row is not None and row.token_hash == hashlib.sha256(made["token"].encode()).hexdigest()
    assert made["token"] not in repr(vars(row))

    one = _share(user, f"/captures/{c['id']}")  # no body: every default
    assert (one["kind"], one["target_id"], one["label"], one["allow_download"]) == (
        "capture", c["id"], "", False)
    from datetime import datetime

    lifetime = datetime.fromisoformat(one["expires_at"].replace("Z", "+00:00")) - \
        datetime.fromisoformat(one["created_at"].replace("Z", "+00:00"))
    assert lifetime == timedelta(days=7)

    listed = user.client.get(f"{API}/shares", headers=user.auth).json["items"]
    assert [s["id"] for s in listed] == [one["id"], made["id"]]
    assert all("token" not in s and "url" not in s for s in listed)

    assert user.client.get(f"{API}/s/{made['token']}").status_code == 200
    assert user.client.delete(f"{API}/shares/{made['id']}", headers=user.auth).status_code == 204
    assert user.client.delete(f"{API}/shares/{made['id']}", headers=user.auth).status_code == 204
    assert_problem(user.client.get(f"{API}/s/{made['token']}"), 404, "share_not_found")
    listed = user.client.get(f"{API}/shares", headers=user.auth).json["items"]
    assert next(s for s in listed if s["id"] == made["id"])["revoked_at"] is not None


@pytest.mark.parametrize("body", [
    {"expires_in": 59}, {"expires_in": 7776001}, {"expires_in": "3600"}, {"expires_in": True},
    {"allow_download": "yes"}, {"label": "l" * 201}, {"label": 3}, {"public": True},
])
def test_invalid_shares_are_refused(body: dict[str, Any], user: User) -> None:
    case = new_case(user)
    r = user.client.post(f"{API}/cases/{case['id']}/shares", json=body, headers=user.auth)
    assert_problem(r, 400, "share_invalid")


def test_others_cannot_share_or_revoke(user: User, make_user: Any, capture_of: Any) -> None:
    case = new_case(user)
    c = capture_of(user, anchored=False)
    made = _share(user, f"/captures/{c['id']}")
    other = make_user()
    assert_problem(other.client.post(f"{API}/cases/{case['id']}/shares", json={},
                                     headers=other.auth), 404, "case_not_found")
    assert_problem(other.client.post(f"{API}/captures/{c['id']}/shares", json={},
                                     headers=other.auth), 404, "capture_not_found")
    assert_problem(other.client.delete(f"{API}/shares/{made['id']}", headers=other.auth),
                   404, "share_not_found")
    assert other.client.get(f"{API}/shares", headers=other.auth).json["items"] == []
    assert user.client.get(f"{API}/s/{made['token']}").status_code == 200  # still works


def test_a_case_link_shows_what_a_reader_needs_and_records_each_read(
        user: User, shared_case: dict[str, Any], services: Services) -> None:
    token, share = shared_case["share"]["token"], shared_case["share"]
    photo, note = shared_case["photo"], shared_case["note"]
    r = user.client.get(f"{API}/s/{token}")  # no Authorization header at all
    assert r.status_code == 200, r.json
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    body = r.json
    assert (body["kind"], body["label"], body["allow_download"]) == ("case", "Judge Wang", True)
    assert body["expires_at"] == share["expires_at"]
    case = body["case"]
    assert (case["title"], case["parties"], case["note"]) == (
        "张三诉李四", [{"role": "原告", "name": "张三"}], "for the judge")
    assert [(i["position"], i["title"], i["purpose"]) for i in case["items"]] == [
        (1, "工资条", "证明工资标准"), (2, "Chat", "证明加班")]  # the capture's own title
    shown = case["items"][1]["capture"]
    assert shown["id"] == note["id"] and shown["title"] == "Chat" and shown["note"] == "n1"
    assert shown["media"] == {"sha256": note["media"]["sha256"], "size": note["media"]["size"],
                              "mime": "text/plain"}
    assert shown["manifest"]["captured"] == note["manifest"]["captured"]
    assert shown["manifest"]["device"] == {"timezone": "Asia/Shanghai"}
    assert "geo" in shown["manifest"] and "checks" in shown and "verdict" in shown
    assert "place" in shown and shown["status"] == "anchored"
    # what a reader does not need: the device's user agent, nonce and chain, the tags,
    # the owner (the key id is in the checks, as in the public log)
    text = r.get_data(as_text=True)
    for secret in ("pytest", note["manifest"]["nonce"], note["manifest_hash"], "secret-tag",
                   user.email, '"signature":', '"exif":'):
        assert secret not in text, secret

    # every capture shown is a custody event whose actor is the link
    for c in (photo, note):
        views = _events(user, c["id"], "view")
        assert [e["actor"] for e in views] == [{"share": share["id"], "label": "Judge Wang"}]
        assert views[0]["origin"].get("ip") == "127.0.0.1"
    # reads within a minute by the same link are one event
    user.client.get(f"{API}/s/{token}")
    assert len(_events(user, note["id"], "view")) == 1


def test_a_link_reads_the_original_the_bundle_and_the_documents(
        user: User, shared_case: dict[str, Any], services: Services, tmp_path: Any) -> None:
    token, share = shared_case["share"]["token"], shared_case["share"]
    photo, note = shared_case["photo"], shared_case["note"]
    actor = {"share": share["id"], "label": "Judge Wang"}
    base = f"{API}/s/{token}/captures"

    original = user.client.get(f"{API}/captures/{note['id']}/original", headers=user.auth).data
    r = user.client.get(f"{base}/{note['id']}/preview")
    assert r.status_code == 200 and r.data == original and r.mimetype == "text/plain"
    assert r.headers["Content-Disposition"] == "inline"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    r = user.client.get(f"{base}/{note['id']}/preview", headers={"Range": "bytes=2-5"})
    assert r.status_code == 206 and r.data == original[2:6]
    assert r.headers["Content-Range"] == f"bytes 2-5/{len(original)}"
    r = user.client.get(f"{base}/{note['id']}/preview", headers={"Range": "bytes=9999-"})
    assert_problem(r, 416, "range_not_satisfiable")
    downloads = [e for e in _events(user, note["id"], "download") if e["actor"] == actor]
    assert [e["detail"] for e in downloads] == [  # the first; the rest coalesced
        {"range": [0, len(original)], "of": len(original)}]

    r = user.client.get(f"{base}/{photo['id']}/thumbnail")
    assert r.status_code == 200 and r.mimetype == "image/jpeg", r.data[:200]
    assert r.data[:2] == b"\xff\xd8"
    assert [e["actor"] for e in _events(user, photo["id"], "preview")] == [actor]

    r = user.client.get(f"{base}/{photo['id']}/certificate.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf", r.data[:200]
    assert r.data.startswith(b"%PDF")
    assert [e["actor"] for e in _events(user, photo["id"], "certificate")] == [actor]

    r = user.client.get(f"{base}/{note['id']}/bundle")
    assert r.status_code == 200 and r.mimetype == "application/zip", r.data[:300]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        report = verify_bundle(ZipBundle(zf))
        custody = zf.read("custody.jsonl").decode()
    assert report.ok, report.lines()
    assert '\\"share\\":\\"' + share["id"] in custody  # the export names the link
    assert [e["actor"] for e in _events(user, note["id"], "export")] == [actor]

    r = user.client.get(f"{API}/s/{token}/evidence-list.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    views = _events(user, photo["id"], "view")
    assert [e["detail"] for e in views if e["actor"] == actor] == [{"document": "evidence-list"}]


def test_a_link_reads_only_what_it_shares(user: User, capture_of: Any,
                                          shared_case: dict[str, Any]) -> None:
    outside = capture_of(user)  # the owner's, but not in the shared case
    token = shared_case["share"]["token"]
    for suffix in ("preview", "thumbnail", "certificate.pdf", "bundle"):
        assert_problem(user.client.get(f"{API}/s/{token}/captures/{outside['id']}/{suffix}"),
                       404, "capture_not_found")
    one = _share(user, f"/captures/{outside['id']}")
    r = user.client.get(f"{API}/s/{one['token']}")
    assert r.status_code == 200 and r.json["capture"]["id"] == outside["id"]
    assert "case" not in r.json
    photo = shared_case["photo"]["id"]
    assert_problem(user.client.get(f"{API}/s/{one['token']}/captures/{photo}/preview"), 404,
                   "capture_not_found")
    assert_problem(user.client.get(f"{API}/s/{one['token']}/evidence-list.pdf"), 404,
                   "not_found")
    # no download unless the link allows it
    assert_problem(user.client.get(f"{API}/s/{one['token']}/captures/{outside['id']}/bundle"),
                   403, "download_not_allowed")
    assert _events(user, outside["id"], "export") == []


def test_unknown_revoked_expired_and_deleted_links_are_not_found(
        user: User, shared_case: dict[str, Any], services: Services) -> None:
    share = shared_case["share"]
    photo = shared_case["photo"]["id"]
    paths = ("", "/evidence-list.pdf", f"/captures/{photo}/preview",
             f"/captures/{photo}/bundle")

    def all_missing(token: str) -> None:
        for p in paths:
            assert_problem(user.client.get(f"{API}/s/{token}{p}"), 404, "share_not_found")

    all_missing("x" * 43)
    all_missing("nope")
    assert user.client.get(f"{API}/s/{share['token']}").status_code == 200
    with services.db.session() as s:  # the link's week is over
        s.execute(update(Share).where(Share.id == share["id"])
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    all_missing(share["token"])

    live = _share(user, f"/cases/{shared_case['case']['id']}")
    assert user.client.delete(f"{API}/cases/{shared_case['case']['id']}",
                              headers=user.auth).status_code == 204
    all_missing(live["token"])  # the case is gone: its links are revoked, still listed
    listed = {s["id"]: s for s in user.client.get(f"{API}/shares", headers=user.auth).json[
        "items"]}
    assert listed[live["id"]]["revoked_at"] is not None
    assert listed[live["id"]]["target_id"] is None and listed[live["id"]]["kind"] == "case"


def test_links_are_rate_limited_per_address(app: Any, user: User,
                                            shared_case: dict[str, Any]) -> None:
    limiter = app.extensions[LIMITER_KEY]
    limiter.capacity, limiter.per_second = 3.0, 0.001
    limiter.forget("127.0.0.1")
    token = shared_case["share"]["token"]
    for _ in range(3):
        assert user.client.get(f"{API}/s/{token}").status_code == 200
    r = user.client.get(f"{API}/s/{token}")
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    # unknown tokens spend the bucket too: guessing is throttled
    assert_problem(user.client.get(f"{API}/s/{'y' * 43}"), 429, "rate_limited")
    # another address has its own bucket
    r = user.client.get(f"{API}/s/{token}", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert r.status_code == 200
