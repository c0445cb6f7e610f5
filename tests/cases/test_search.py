"""GET /captures: search in the owner's words and place names, and filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from fieldproof.core.manifest import iso
from fieldproof.db import Capture
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from tests.cases.conftest import add_item, new_case
from tests.support.accounts import User
from tests.support.problems import assert_problem


def _ids(user: User, **params: Any) -> list[str]:
    r = user.client.get("/api/v1/captures", query_string=params, headers=user.auth)
    assert r.status_code == 200, r.json
    return [i["id"] for i in r.json["items"]]


def _annotate(user: User, cid: str, **body: Any) -> None:
    r = user.client.patch(f"/api/v1/captures/{cid}", json=body, headers=user.auth)
    assert r.status_code == 200, r.json


def _place(services: Services, cid: str, place: dict[str, Any]) -> None:
    with services.db.session() as s:  # another engineer's geocoder fills this at ingest
        s.execute(update(Capture).where(Capture.id == cid).values(place=place))


def test_text_search_covers_title_note_tags_and_place_names(
        user: User, make_user: Any, capture_of: Any, services: Services) -> None:
    a = capture_of(user, anchored=False)
    b = capture_of(user, anchored=False)
    c = capture_of(user, anchored=False)
    d = capture_of(user, anchored=False)
    _annotate(user, a["id"], title="Water DAMAGE in the kitchen")
    _annotate(user, b["id"], note="工头王某承诺月底付清工资", tags=["Überstunden"])
    _place(services, c["id"], {"name": "Shanghai", "name_zh": "上海", "admin1": "Shanghai",
                               "admin1_zh": "上海市", "country": "CN", "distance_km": 1.2})
    _place(services, d["id"], {"name": "Pudong", "name_zh": "浦东", "admin1": "Shanghai",
                               "country": "CN", "distance_km": 0.4})
    assert _ids(user, q="damage") == [a["id"]]  # case-insensitive
    assert _ids(user, q="kitchen") == [a["id"]]
    assert _ids(user, q="工资") == [b["id"]]  # in the note
    assert _ids(user, q="überSTUNDEN") == [b["id"]]  # a tag, Unicode case folding
    assert _ids(user, q="上海") == [c["id"]]  # name_zh
    assert _ids(user, q="shanghai") == [d["id"], c["id"]]  # admin1 too, newest first
    assert _ids(user, q="浦东") == [d["id"]]
    assert _ids(user, q="CN") == []  # the country code is not a place name
    assert _ids(user, q="nothing like it") == []
    assert _ids(user, q="") == [d["id"], c["id"], b["id"], a["id"]]  # empty: no filter
    # another user's words are not searched
    other = make_user()
    assert _ids(other, q="damage") == []


def test_search_pages_through_matches_only(user: User, capture_of: Any,
                                           services: Services) -> None:
    made = [capture_of(user, anchored=False) for _ in range(7)]
    for i, c in enumerate(made):
        if i % 2 == 0:
            _annotate(user, c["id"], tags=["receipt"])
    want = [c["id"] for i, c in enumerate(made) if i % 2 == 0][::-1]  # newest first
    got: list[str] = []
    before = None
    for _ in range(5):
        params: dict[str, Any] = {"q": "receipt", "limit": 2}
        if before:
            params["before"] = before
        page = user.client.get("/api/v1/captures", query_string=params, headers=user.auth).json
        got += [i["id"] for i in page["items"]]
        before = page["next"]
        if before is None:
            break
    assert got == want


def test_filters_kind_status_time_and_case(user: User, make_user: Any, capture_of: Any,
                                           services: Services) -> None:
    photo = capture_of(user, "photo")  # anchored
    note = capture_of(user, anchored=False)  # an import, stored
    assert _ids(user, kind="photo") == [photo["id"]]
    assert _ids(user, kind="import") == [note["id"]]
    assert _ids(user, kind="web") == []
    assert _ids(user, status="anchored") == [photo["id"]]
    assert _ids(user, status="stored") == [note["id"]]
    assert _ids(user, kind="photo", status="stored") == []

    # received_at: move the photo a day back to tell them apart
    with services.db.session() as s:
        s.execute(update(Capture).where(Capture.id == photo["id"])
                  .values(received_at=utcnow() - timedelta(days=1)))
    noon = iso(utcnow() - timedelta(hours=12))
    assert _ids(user, **{"from": noon}) == [note["id"]]
    assert _ids(user, to=noon) == [photo["id"]]
    assert _ids(user, **{"from": iso(utcnow() - timedelta(days=2)), "to": noon}) == [photo["id"]]
    # an explicit offset is the same instant
    shanghai = (utcnow() - timedelta(hours=12)).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")).isoformat()
    assert _ids(user, to=shanghai) == [photo["id"]]

    case = new_case(user)
    add_item(user, case["id"], note["id"])
    assert _ids(user, case=case["id"]) == [note["id"]]
    assert _ids(user, case=case["id"], kind="photo") == []
    other = make_user()
    assert_problem(other.client.get("/api/v1/captures", query_string={"case": case["id"]},
                                    headers=other.auth), 404, "case_not_found")


def test_bad_filters_are_refused(user: User) -> None:
    for params in ({"kind": "painting"}, {"status": "lost"}, {"from": "yesterday"},
                   {"to": "2025-03-04T00:00:00"},  # no time zone: ambiguous
                   {"q": "x" * 201}, {"case": "c" * 37},
                   # present but empty is not "any" (found by schemathesis)
                   {"to": ""}, {"from": ""}, {"kind": ""}, {"status": ""}):
        r = user.client.get("/api/v1/captures", query_string=params, headers=user.auth)
        assert_problem(r, 400, "query_invalid")
    assert_problem(user.client.get("/api/v1/captures", query_string={"case": "nope"},
                                   headers=user.auth), 404, "case_not_found")
