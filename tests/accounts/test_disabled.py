"""A disabled account signs in no more and none of its tokens work; its evidence stays."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldproof.accounts.users import UserAdmin
from fieldproof.errors import UserNotFound
from fieldproof.services import Services
from tests.accounts.conftest import PASSWORD, login, socket
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem
from tests.support.streams import NS


def test_a_disabled_user_cannot_sign_in_nor_use_old_tokens(
        app: Flask, client: FlaskClient, services: Services, user: User) -> None:
    device = user.enroll()
    capture = user.upload(device, jpeg(), kind="import").json["id"]
    open_socket = socket(app, user.token)
    admin = UserAdmin(services.db, services.accounts)
    info = admin.set_disabled(user.email.upper(), True)
    assert info.disabled_at is not None and info.tokens == 0
    assert not open_socket.is_connected(NS)
    assert_problem(client.get("/api/v1/me", headers=user.auth), 401, "account_disabled")
    assert_problem(client.get(f"/api/v1/captures/{capture}", headers=user.auth), 401,
                   "account_disabled")
    refused = app.extensions["socketio"].test_client(app, namespace=NS,
                                                     auth={"token": user.token})
    assert not refused.is_connected(NS)
    assert_problem(login(client, user.email), 401, "account_disabled")
    # a wrong password says only that: a stranger learns nothing about the account
    assert_problem(login(client, user.email, "not the password"), 401, "login_failed")

    admin.set_disabled(user.email, False)
    r = login(client, user.email)
    assert r.status_code == 201
    auth = {"Authorization": f"Bearer {r.json['token']}"}
    assert client.get(f"/api/v1/captures/{capture}", headers=auth).status_code == 200
    # enabling does not bring the old tokens back
    assert_problem(client.get("/api/v1/me", headers=user.auth), 401, "token_invalid")


def test_disabling_keeps_other_accounts_and_says_who_is_unknown(
        client: FlaskClient, services: Services, user: User, make_user: Any) -> None:
    other = make_user()
    admin = UserAdmin(services.db, services.accounts)
    admin.set_disabled(user.email, True)
    admin.set_disabled(user.email, True)  # again: no change
    assert client.get("/api/v1/me", headers=other.auth).status_code == 200
    listed = {u.email: u for u in admin.users()}
    assert listed[user.email].disabled_at is not None
    assert listed[other.email].disabled_at is None and listed[other.email].tokens == 1
    with pytest.raises(UserNotFound):
        admin.set_disabled("nobody@example.org", True)
    assert login(client, other.email, PASSWORD).status_code == 201
