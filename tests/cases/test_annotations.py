"""PATCH /captures/{id}: the owner's title, note and tags, each change a custody event."""

from __future__ import annotations

from typing import Any

import pytest

from fieldproof.core.canonical import parse_json
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.problems import assert_problem


def _patch(user: User, cid: str, body: Any) -> Any:
    return user.client.patch(f"/api/v1/captures/{cid}", json=body, headers=user.auth)


def _events(services: Services, user: User, cid: str, event: str) -> list[dict[str, Any]]:
    r = user.client.get(f"/api/v1/captures/{cid}/custody", headers=user.auth)
    return [e for e in r.json["events"] if e["event"] == event]


def test_annotations_are_kept_shown_and_each_change_is_a_custody_event(
        user: User, capture_of: Any, services: Services) -> None:
    c = capture_of(user)
    assert (c["title"], c["note"], c["tags"], c["cases"]) == ("", "", [], [])

    r = _patch(user, c["id"], {"title": "  工资承诺 recording ",
                               "tags": ["工资", " wage ", "WAGE", ""]})
    assert r.status_code == 200, r.json
    assert r.json["title"] == "工资承诺 recording"  # trimmed
    assert r.json["tags"] == ["工资", "wage"]  # trimmed, empty and repeated dropped
    assert r.json["note"] == ""
    assert r.json["manifest_hash"] == c["manifest_hash"]  # the evidence is untouched

    r = _patch(user, c["id"], {"note": "Foreman Wang promised 5000 yuan.\n王工头承诺五千元。"})
    assert r.json["note"].startswith("Foreman Wang") and r.json["title"] == "工资承诺 recording"
    # the same values again: no change, no event
    assert _patch(user, c["id"], {"title": "工资承诺 recording"}).status_code == 200
    assert _patch(user, c["id"], {}).status_code == 200

    got = user.client.get(f"/api/v1/captures/{c['id']}", headers=user.auth).json
    assert (got["title"], got["tags"]) == ("工资承诺 recording", ["工资", "wage"])
    listed = user.client.get("/api/v1/captures", headers=user.auth).json["items"]
    assert [i["title"] for i in listed if i["id"] == c["id"]] == ["工资承诺 recording"]

    events = _events(services, user, c["id"], "annotate")
    # two changes, two events (never coalesced), in order; the detail names the
    # fields, never their text
    assert [e["detail"] for e in events] == [{"fields": ["title", "tags"]}, {"fields": ["note"]}]
    assert all(e["actor"] == {"user_id": events[0]["actor"]["user_id"], "email": user.email}
               for e in events)
    with services.db.reading() as s:
        from sqlalchemy import select

        from fieldproof.db import CustodyEvent
        records = s.scalars(select(CustodyEvent.record).where(
            CustodyEvent.capture_id == c["id"], CustodyEvent.event == "annotate")).all()
    assert records and not any("Foreman" in r or "工资" in r for r in records)
    assert all(parse_json(r.encode())["detail"]["fields"] for r in records)


@pytest.mark.parametrize("body", [
    {"title": "x" * 201},
    {"title": 5},
    {"note": "n" * 10_001},
    {"tags": "wage"},
    {"tags": [f"t{i}" for i in range(21)]},
    {"tags": ["x" * 41]},
    {"tags": [1]},
    {"color": "red"},
])
def test_invalid_annotations_are_refused(body: Any, user: User, capture_of: Any,
                                         services: Services) -> None:
    c = capture_of(user, anchored=False)
    assert_problem(_patch(user, c["id"], body), 400, "annotation_invalid")
    assert _events(services, user, c["id"], "annotate") == []


def test_limits_are_inclusive(user: User, capture_of: Any) -> None:
    c = capture_of(user, anchored=False)
    r = _patch(user, c["id"], {"title": "t" * 200, "note": "n" * 10_000,
                               "tags": [f"{i:02d}" + "x" * 38 for i in range(20)]})
    assert r.status_code == 200, r.json
    assert len(r.json["tags"]) == 20


def test_the_longest_note_fits_even_fully_escaped(user: User, capture_of: Any) -> None:
    """10,000 characters outside the BMP, each sent as a JSON surrogate pair (12 bytes):
    a valid note is never refused for the size of its body; one more is refused by the
    note's own limit (found by schemathesis: both were a 413)."""
    import json

    c = capture_of(user, anchored=False)
    for n, status in ((10_000, 200), (10_001, 400)):
        body = json.dumps({"title": "\U0001f4f7" * 200, "note": "\U0001f4b0" * n})
        assert len(body) > 120_000
        r = user.client.patch(f"/api/v1/captures/{c['id']}", data=body,
                              content_type="application/json", headers=user.auth)
        assert r.status_code == status, r.json
    assert r.json["code"] == "annotation_invalid"


def test_another_users_capture_is_not_found(user: User, make_user: Any,
                                             capture_of: Any) -> None:
    c = capture_of(user, anchored=False)
    other = make_user()
    assert_problem(_patch(other, c["id"], {"title": "mine now"}), 404, "capture_not_found")
    assert_problem(_patch(other, "no-such-id", {"title": "x"}), 404, "capture_not_found")
    assert_problem(user.client.patch(f"/api/v1/captures/{c['id']}", data="nope",
                                     headers=user.auth), 400, "json_invalid")
    assert user.client.get(f"/api/v1/captures/{c['id']}", headers=user.auth).json["title"] == ""


def test_annotate_events_travel_in_the_bundle_and_verify(user: User, capture_of: Any,
                                                          services: Services) -> None:
    import io
    import zipfile

    from fieldproof.bundle.read import ZipBundle
    from fieldproof.bundle.verify import verify_bundle

    c = capture_of(user)
    assert _patch(user, c["id"], {"title": "receipt"}).status_code == 200
    services.sequencer.integrate()  # the annotate leaf is anchored
    r = user.client.get(f"/api/v1/captures/{c['id']}/bundle", headers=user.auth)
    assert r.status_code == 200, r.data[:300]
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        lines = zf.read("custody.jsonl").decode().splitlines()
        report = verify_bundle(ZipBundle(zf))
    assert report.ok, report.lines()
    assert any('"event":"annotate"' in line.replace("\\", "") for line in lines)
