"""Changing a password, and resetting one with an operator's one-time link."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from fieldproof.db import PasswordReset
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from tests.accounts.conftest import PASSWORD, bearer, link_secret, login, socket
from tests.support.accounts import User
from tests.support.problems import assert_problem
from tests.support.streams import NS

NEW = "a brand new passphrase"


# --------------------------------------------------------------------------- change
def test_changing_the_password_keeps_this_token_and_ends_the_others(
        app: Flask, client: FlaskClient, user: User) -> None:
    other = login(client, user.email, label="phone").json["token"]
    other_socket = socket(app, other)
    this_socket = socket(app, user.token)
    r = client.post("/api/v1/auth/password", headers=user.auth,
                    json={"current": PASSWORD, "new": NEW})
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=user.auth).status_code == 200
    assert this_socket.is_connected(NS)
    assert_problem(client.get("/api/v1/me", headers=bearer(other)), 401, "token_invalid")
    assert not other_socket.is_connected(NS)  # the server closed it
    assert_problem(login(client, user.email), 401, "login_failed")
    assert login(client, user.email, NEW).status_code == 201


def test_a_password_change_needs_the_current_one(client: FlaskClient, user: User) -> None:
    r = client.post("/api/v1/auth/password", headers=user.auth,
                    json={"current": "not my password", "new": NEW})
    assert_problem(r, 401, "login_failed")
    r = client.post("/api/v1/auth/password", headers=user.auth,
                    json={"current": PASSWORD, "new": "short"})
    assert_problem(r, 400, "password_invalid")
    assert_problem(client.post("/api/v1/auth/password", json={"current": PASSWORD, "new": NEW}),
                   401, "token_missing")
    assert login(client, user.email).status_code == 201  # nothing changed


def test_guessing_the_current_password_is_throttled(client: FlaskClient, user: User) -> None:
    for _ in range(10):
        r = client.post("/api/v1/auth/password", headers=user.auth,
                        json={"current": "a wrong guess", "new": NEW})
        assert_problem(r, 401, "login_failed")
    r = client.post("/api/v1/auth/password", headers=user.auth,
                    json={"current": PASSWORD, "new": NEW})
    assert_problem(r, 429, "rate_limited")


# --------------------------------------------------------------------------- reset
def test_a_reset_sets_the_password_once_and_ends_every_token(
        app: Flask, client: FlaskClient, services: Services, user: User) -> None:
    second = login(client, user.email).json["token"]
    open_socket = socket(app, user.token)
    link = services.resets.issue(user.email.upper())
    assert "/#/reset?token=" in link.url
    secret = link_secret(link.url)
    r = client.post("/api/v1/auth/reset", json={"token": secret, "password": NEW})
    assert r.status_code == 204
    for token in (user.token, second):
        assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401, "token_invalid")
    assert not open_socket.is_connected(NS)
    assert_problem(login(client, user.email), 401, "login_failed")
    assert login(client, user.email, NEW).status_code == 201
    again = client.post("/api/v1/auth/reset", json={"token": secret, "password": "third one!"})
    assert_problem(again, 400, "reset_invalid")


def test_a_reset_link_expires_and_a_bad_one_does_nothing(
        client: FlaskClient, services: Services, user: User) -> None:
    secret = link_secret(services.resets.issue(user.email, hours=1).url)
    # a refused password does not use the link up
    r = client.post("/api/v1/auth/reset", json={"token": secret, "password": "short"})
    assert_problem(r, 400, "password_invalid")
    for bad in ("", "nope", "x" * 5000):
        r = client.post("/api/v1/auth/reset", json={"token": bad, "password": NEW})
        assert_problem(r, 400, "reset_invalid")
    with services.db.session() as s:
        s.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.post("/api/v1/auth/reset", json={"token": secret, "password": NEW})
    assert_problem(r, 400, "reset_invalid")
    assert client.get("/api/v1/me", headers=user.auth).status_code == 200  # still signed in
    assert login(client, user.email).status_code == 201
