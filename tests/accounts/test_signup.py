"""Sign-up in each FIELDPROOF_SIGNUP mode, invitations, and the per-address limit."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from fieldproof.accounts.links import LOCAL_BASE
from fieldproof.config import Settings
from fieldproof.db import Invite
from fieldproof.db.models import utcnow
from fieldproof.errors import UserExists
from fieldproof.services import Services
from tests.accounts.conftest import PASSWORD, Server, bearer, link_secret, login
from tests.support.accounts import User
from tests.support.problems import assert_problem

SIGNUP = "/api/v1/auth/signup"


def signup(client: FlaskClient, email: str, invite: str | None = None, *,
           password: str = PASSWORD, address: str = "127.0.0.1") -> Any:
    body = {"email": email, "password": password}
    if invite is not None:
        body["invite"] = invite
    return client.post(SIGNUP, json=body, environ_base={"REMOTE_ADDR": address})


def invite(services: Services, email: str) -> str:
    return link_secret(services.signup.invite(email).url)


# --------------------------------------------------------------------------- settings
def test_the_settings_come_from_the_environment() -> None:
    default = Settings.from_env({})
    assert default.signup == "invite" and default.operator_contact is None
    chosen = Settings.from_env({"FIELDPROOF_SIGNUP": "Open",
                                "FIELDPROOF_OPERATOR_CONTACT": " ops@example.org "})
    assert chosen.signup == "open" and chosen.operator_contact == "ops@example.org"
    with pytest.raises(ValueError, match="FIELDPROOF_SIGNUP"):
        Settings.from_env({"FIELDPROOF_SIGNUP": "sometimes"})


# --------------------------------------------------------------------------- what the page shows
def test_signup_info_says_the_mode_and_whom_to_ask(client: FlaskClient,
                                                   server_with: Callable[..., Server]) -> None:
    assert client.get(SIGNUP).json == {"mode": "invite"}  # the default, no contact set
    srv = server_with(signup="open", operator_contact="张三 zhang@example.org")
    assert srv.client.get(SIGNUP).json == {"mode": "open", "contact": "张三 zhang@example.org"}


# --------------------------------------------------------------------------- open
def test_open_signup_makes_an_account_and_signs_it_in(
        server_with: Callable[..., Server]) -> None:
    client = server_with(signup="open").client
    r = signup(client, "New@Example.org")
    assert r.status_code == 201 and r.json["token"].startswith("fp_") and r.json["expires_at"]
    me = client.get("/api/v1/me", headers=bearer(r.json["token"])).json
    assert me["email"] == "new@example.org"
    assert login(client, "new@example.org").status_code == 201
    assert_problem(signup(client, "new@example.org"), 409, "user_exists")
    assert_problem(signup(client, "not an email"), 400, "email_invalid")
    assert_problem(signup(client, "short@example.org", password="short"), 400,
                   "password_invalid")
    assert_problem(client.post(SIGNUP, json={"email": "x@example.org", "password": 12345678}),
                   400, "bad_request")
    assert_problem(client.post(SIGNUP, data="nope"), 400, "json_invalid")


# --------------------------------------------------------------------------- closed
def test_closed_signup_refuses_everyone(server_with: Callable[..., Server]) -> None:
    srv = server_with(signup="closed")
    secret = invite(srv.services, "invited@example.org")  # an invitation does not open it
    assert_problem(signup(srv.client, "invited@example.org", secret), 403, "signup_closed")
    assert_problem(signup(srv.client, "anyone@example.org"), 403, "signup_closed")
    # the operator still makes accounts
    srv.services.accounts.create_user("made@example.org", PASSWORD)
    assert login(srv.client, "made@example.org").status_code == 201


# --------------------------------------------------------------------------- invite
def test_an_invitation_signs_up_its_email_once(client: FlaskClient, services: Services) -> None:
    secret = invite(services, "guest@example.org")
    assert_problem(signup(client, "guest@example.org"), 403, "invite_invalid")
    assert_problem(signup(client, "guest@example.org", "fp_wrong"), 403, "invite_invalid")
    assert_problem(signup(client, "guest@example.org", "x" * 10_000), 403, "invite_invalid")
    assert_problem(signup(client, "other@example.org", secret), 403, "invite_invalid")
    # refused for another reason: the invitation is not used up
    assert_problem(signup(client, "guest@example.org", secret, password="short"), 400,
                   "password_invalid")
    r = signup(client, "GUEST@example.org", secret)
    assert r.status_code == 201
    assert client.get("/api/v1/me", headers=bearer(r.json["token"])).status_code == 200
    assert_problem(signup(client, "guest@example.org", secret), 403, "invite_invalid")
    with services.db.reading() as s:
        row = s.scalar(select(Invite).where(Invite.email == "guest@example.org"))
        assert row is not None and row.used_at is not None
        # only the secret's hash is kept
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_an_invitation_expires(client: FlaskClient, services: Services) -> None:
    secret = invite(services, "late@example.org")
    with services.db.session() as s:
        s.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert_problem(signup(client, "late@example.org", secret), 403, "invite_invalid")
    fresh = services.signup.invite("late@example.org", days=1)
    assert fresh.expires_at - utcnow() <= timedelta(days=1)
    assert signup(client, "late@example.org", link_secret(fresh.url)).status_code == 201


def test_two_sign_ups_racing_for_one_invitation_make_one_account(
        client: FlaskClient, services: Services) -> None:
    secret = invite(services, "race@example.org")
    start = threading.Barrier(2)
    answers: list[int] = []

    def go() -> None:
        start.wait()
        answers.append(signup(client.application.test_client(), "race@example.org",
                              secret).status_code)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 403]  # the loser finds the invitation used up


def test_without_an_invitation_nothing_tells_which_emails_exist(
        client: FlaskClient, user: User) -> None:
    taken = signup(client, user.email, "not-an-invite")
    free = signup(client, "nobody@example.org", "not-an-invite")
    assert_problem(taken, 403, "invite_invalid")
    assert taken.json == free.json


def test_invitations_for_existing_accounts_are_refused(services: Services, user: User) -> None:
    with pytest.raises(UserExists):
        services.signup.invite(user.email.upper())


def test_the_link_uses_the_public_url_or_says_it_does_not(
        services: Services, server_with: Callable[..., Server]) -> None:
    local = services.signup.invite("a@example.org")
    assert local.url.startswith(f"{LOCAL_BASE}/#/signup?invite=")
    assert local.note and "FIELDPROOF_PUBLIC_URL" in local.note
    public = server_with(public_url="https://proof.example.org").services.signup.invite(
        "b@example.org")
    assert public.url.startswith("https://proof.example.org/#/signup?invite=")
    assert public.note is None


# --------------------------------------------------------------------------- the limit
def test_signups_are_limited_per_address(server_with: Callable[..., Server]) -> None:
    srv = server_with(signup="open")
    for i in range(10):
        r = signup(srv.client, f"bad{i}", address="192.0.2.7")  # failed attempts count too
        assert_problem(r, 400, "email_invalid")
    r = signup(srv.client, "good@example.org", address="192.0.2.7")
    assert_problem(r, 429, "rate_limited")
    assert r.json["retry_after"] > 0 and int(r.headers["Retry-After"]) > 0
    # another address is not held back
    assert signup(srv.client, "good@example.org", address="192.0.2.8").status_code == 201
