"""The caller's tokens: listed without their secrets, revoked one by one."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.accounts.conftest import bearer, login, socket
from tests.support.accounts import User
from tests.support.problems import assert_problem
from tests.support.streams import NS


def test_the_list_marks_the_current_token(client: FlaskClient, user: User) -> None:
    phone = login(client, user.email, label="phone").json["token"]
    items = client.get("/api/v1/auth/tokens", headers=bearer(phone)).json["items"]
    assert [(t["label"], t["current"]) for t in items] == [("", False), ("phone", True)]
    assert all(isinstance(t["id"], int) and t["created_at"].endswith("Z")
               and t["expires_at"].endswith("Z") for t in items)
    mine = client.get("/api/v1/auth/tokens", headers=user.auth)
    assert [t["current"] for t in mine.json["items"]] == [True, False]
    assert phone not in mine.get_data(as_text=True) and user.token not in mine.get_data(
        as_text=True)
    # a signed-out token is no longer listed
    client.post("/api/v1/auth/logout", headers=bearer(phone))
    assert len(client.get("/api/v1/auth/tokens", headers=user.auth).json["items"]) == 1


def test_revoking_a_token_closes_its_socket(app: Flask, client: FlaskClient,
                                            user: User) -> None:
    laptop = login(client, user.email, label="laptop").json["token"]
    laptop_socket = socket(app, laptop)
    items = client.get("/api/v1/auth/tokens", headers=user.auth).json["items"]
    laptop_id = next(t["id"] for t in items if t["label"] == "laptop")
    r = client.delete(f"/api/v1/auth/tokens/{laptop_id}", headers=user.auth)
    assert r.status_code == 204
    assert not laptop_socket.is_connected(NS)
    assert_problem(client.get("/api/v1/me", headers=bearer(laptop)), 401, "token_invalid")
    again = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": laptop})
    assert not again.is_connected(NS)
    assert_problem(client.delete(f"/api/v1/auth/tokens/{laptop_id}", headers=user.auth),
                   404, "token_not_found")
    assert client.get("/api/v1/me", headers=user.auth).status_code == 200


def test_another_users_token_is_not_found(client: FlaskClient, user: User,
                                          make_user: Any) -> None:
    other = make_user()
    other_id = client.get("/api/v1/auth/tokens", headers=other.auth).json["items"][0]["id"]
    for token_id in (str(other_id), "999999", "not-a-number", "-1"):
        assert_problem(client.delete(f"/api/v1/auth/tokens/{token_id}", headers=user.auth),
                       404, "token_not_found")
    assert client.get("/api/v1/me", headers=other.auth).status_code == 200
    assert_problem(client.get("/api/v1/auth/tokens"), 401, "token_missing")


def test_revoking_the_calling_token_signs_it_out(client: FlaskClient, user: User) -> None:
    (item,) = client.get("/api/v1/auth/tokens", headers=user.auth).json["items"]
    assert client.delete(f"/api/v1/auth/tokens/{item['id']}",
                         headers=user.auth).status_code == 204
    assert_problem(client.get("/api/v1/auth/tokens", headers=user.auth), 401, "token_invalid")
