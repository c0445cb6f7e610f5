"""Cases: CRUD, items in order, moves and removals, and who may touch what."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cases.conftest import add_item, new_case
from tests.support.accounts import User
from tests.support.problems import assert_problem

API = "/api/v1"


def _order(user: User, case_id: str) -> list[tuple[int, str]]:
    r = user.client.get(f"{API}/cases/{case_id}", headers=user.auth)
    assert r.status_code == 200, r.json
    return [(i["position"], i["capture_id"]) for i in r.json["items"]]


def test_case_crud(user: User, capture_of: Any) -> None:
    made = new_case(user, "张三诉李四劳动争议", parties=[
        {"role": "原告", "name": "张三"}, {"role": "defendant", "name": "Li Si Ltd."},
        {"name": "witness without role"}], note="仲裁前整理")
    assert made["title"] == "张三诉李四劳动争议"
    assert made["parties"] == [{"role": "原告", "name": "张三"},
                               {"role": "defendant", "name": "Li Si Ltd."},
                               {"role": "", "name": "witness without role"}]
    assert made["note"] == "仲裁前整理" and made["items"] == [] and made["item_count"] == 0
    assert made["created_at"].endswith("Z") and made["updated_at"] == made["created_at"]

    second = new_case(user, "Tenancy deposit")
    listed = user.client.get(f"{API}/cases", headers=user.auth).json["items"]
    assert [c["id"] for c in listed] == [second["id"], made["id"]]  # last changed first
    assert "items" not in listed[0]

    c = capture_of(user)
    add_item(user, made["id"], c["id"])
    listed = user.client.get(f"{API}/cases", headers=user.auth).json["items"]
    assert [(c["id"], c["item_count"]) for c in listed] == [(made["id"], 1), (second["id"], 0)]

    r = user.client.patch(f"{API}/cases/{made['id']}", json={"title": "仲裁案", "parties": []},
                          headers=user.auth)
    assert r.status_code == 200, r.json
    assert (r.json["title"], r.json["parties"], r.json["note"]) == ("仲裁案", [], "仲裁前整理")
    assert r.json["updated_at"] >= made["updated_at"] and len(r.json["items"]) == 1

    assert user.client.delete(f"{API}/cases/{made['id']}", headers=user.auth).status_code == 204
    assert_problem(user.client.get(f"{API}/cases/{made['id']}", headers=user.auth), 404,
                   "case_not_found")
    # only the case went: the capture stays, and says it is in no case
    got = user.client.get(f"{API}/captures/{c['id']}", headers=user.auth)
    assert got.status_code == 200 and got.json["cases"] == []


@pytest.mark.parametrize("body", [
    {}, {"title": ""}, {"title": "   "}, {"title": "t" * 201}, {"title": 7},
    {"title": "ok", "parties": "plaintiff"}, {"title": "ok", "parties": [{"role": "x"}]},
    {"title": "ok", "parties": [{"name": "n", "age": 3}]},
    {"title": "ok", "parties": [{"name": "n"}] * 21}, {"title": "ok", "note": "n" * 10_001},
    {"title": "ok", "judge": "Bao"},
])
def test_invalid_cases_are_refused(body: dict[str, Any], user: User) -> None:
    assert_problem(user.client.post(f"{API}/cases", json=body, headers=user.auth), 400,
                   "case_invalid")


def test_items_append_move_and_close_gaps(user: User, capture_of: Any) -> None:
    case = new_case(user)
    c = [capture_of(user, anchored=False) for _ in range(5)]
    first = add_item(user, case["id"], c[0]["id"], title="工资条", purpose="证明工资标准")
    assert (first["position"], first["title"], first["purpose"]) == (1, "工资条", "证明工资标准")
    assert first["capture"]["id"] == c[0]["id"] and first["added_at"].endswith("Z")
    for x in c[1:]:
        add_item(user, case["id"], x["id"])
    ids = [x["id"] for x in c]
    assert _order(user, case["id"]) == list(enumerate(ids, 1))

    def move(capture_id: str, position: int) -> Any:
        return user.client.patch(f"{API}/cases/{case['id']}/items/{capture_id}",
                                 json={"position": position}, headers=user.auth)

    # down: the ones in between move up by one
    r = move(ids[0], 4)
    assert r.status_code == 200 and r.json["position"] == 4 and r.json["title"] == "工资条"
    assert [i for _, i in _order(user, case["id"])] == [ids[1], ids[2], ids[3], ids[0], ids[4]]
    # up: the ones in between move down by one
    assert move(ids[4], 1).json["position"] == 1
    assert [i for _, i in _order(user, case["id"])] == [ids[4], ids[1], ids[2], ids[3], ids[0]]
    # to where it is: nothing changes; to the end: allowed
    assert move(ids[2], 3).json["position"] == 3
    assert move(ids[1], 5).json["position"] == 5
    order = [i for _, i in _order(user, case["id"])]
    assert order == [ids[4], ids[2], ids[3], ids[0], ids[1]]
    for bad in (0, 6, -1, "2", True, 1.5):
        assert_problem(move(ids[1], bad), 400, "case_invalid")  # type: ignore[arg-type]

    # rename and restate without moving
    r = user.client.patch(f"{API}/cases/{case['id']}/items/{ids[3]}",
                          json={"title": "聊天记录", "purpose": "证明加班事实"}, headers=user.auth)
    assert (r.json["position"], r.json["title"], r.json["purpose"]) == (3, "聊天记录",
                                                                        "证明加班事实")

    # removing closes the gap
    r = user.client.delete(f"{API}/cases/{case['id']}/items/{ids[2]}", headers=user.auth)
    assert r.status_code == 204
    assert _order(user, case["id"]) == [(1, ids[4]), (2, ids[3]), (3, ids[0]), (4, ids[1])]
    assert_problem(user.client.delete(f"{API}/cases/{case['id']}/items/{ids[2]}",
                                      headers=user.auth), 404, "item_not_found")
    # appended after a removal: at the end, no duplicate position
    assert add_item(user, case["id"], ids[2])["position"] == 5
    # each capture says which cases it is in, and where
    got = user.client.get(f"{API}/captures/{ids[0]}", headers=user.auth).json
    assert got["cases"] == [{"id": case["id"], "title": case["title"], "position": 3}]


def test_an_item_is_added_once(user: User, capture_of: Any) -> None:
    case = new_case(user)
    c = capture_of(user, anchored=False)
    add_item(user, case["id"], c["id"])
    r = user.client.post(f"{API}/cases/{case['id']}/items", json={"capture_id": c["id"]},
                         headers=user.auth)
    assert_problem(r, 409, "item_exists")
    other_case = new_case(user, "second")
    add_item(user, other_case["id"], c["id"])  # one capture may be in several cases
    got = user.client.get(f"{API}/captures/{c['id']}", headers=user.auth).json
    assert {x["id"] for x in got["cases"]} == {case["id"], other_case["id"]}


def test_another_users_case_or_capture_is_not_found(user: User, make_user: Any,
                                                    capture_of: Any) -> None:
    mine = new_case(user)
    my_capture = capture_of(user, anchored=False)
    add_item(user, mine["id"], my_capture["id"])
    other = make_user()
    theirs = capture_of(other, anchored=False)
    their_case = new_case(other)
    cid, tid = mine["id"], my_capture["id"]
    for method, path, body in (
            ("get", f"/cases/{cid}", None), ("patch", f"/cases/{cid}", {"title": "x"}),
            ("delete", f"/cases/{cid}", None),
            ("post", f"/cases/{cid}/items", {"capture_id": theirs["id"]}),
            ("patch", f"/cases/{cid}/items/{tid}", {"position": 1}),
            ("delete", f"/cases/{cid}/items/{tid}", None),
            ("get", f"/cases/{cid}/evidence-list.pdf", None),
            ("get", f"/cases/{cid}/export", None),
            ("post", f"/cases/{cid}/shares", {})):
        r = getattr(other.client, method)(API + path, json=body, headers=other.auth)
        assert_problem(r, 404, "case_not_found")
    # my capture cannot go into their case, nor theirs into mine: like a missing one
    r = other.client.post(f"{API}/cases/{their_case['id']}/items",
                          json={"capture_id": my_capture["id"]}, headers=other.auth)
    assert_problem(r, 404, "capture_not_found")
    r = user.client.post(f"{API}/cases/{mine['id']}/items", json={"capture_id": theirs["id"]},
                         headers=user.auth)
    assert_problem(r, 404, "capture_not_found")
    assert other.client.get(f"{API}/cases", headers=other.auth).json["items"][0]["id"] == \
        their_case["id"]
    assert _order(user, mine["id"]) == [(1, my_capture["id"])]  # untouched


def test_item_errors(user: User, capture_of: Any) -> None:
    case = new_case(user)
    c = capture_of(user, anchored=False)
    for body in ({}, {"capture_id": c["id"], "purpose": "p" * 2001},
                 {"capture_id": c["id"], "position": 1}, {"capture_id": 5}):
        r = user.client.post(f"{API}/cases/{case['id']}/items", json=body, headers=user.auth)
        assert_problem(r, 400, "case_invalid")
    r = user.client.patch(f"{API}/cases/{case['id']}/items/{c['id']}", json={"title": "x"},
                          headers=user.auth)
    assert_problem(r, 404, "item_not_found")
    r = user.client.post(f"{API}/cases/{case['id']}/items", json={"capture_id": "nope"},
                         headers=user.auth)
    assert_problem(r, 404, "capture_not_found")
    assert_problem(user.client.post(f"{API}/cases/nope/items", json={"capture_id": c["id"]},
                                    headers=user.auth), 404, "case_not_found")
