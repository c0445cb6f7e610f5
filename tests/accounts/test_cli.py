"""`fieldproof admin invite|reset-password|list-users|disable-user|enable-user`, run for real.

Each command works on the test's database (SQLite and PostgreSQL) while the
in-process app serves the same one.
"""

from __future__ import annotations

import json
import subprocess

from flask.testing import FlaskClient

from fieldproof.config import Settings
from fieldproof.services import Services
from tests.accounts.conftest import PASSWORD, bearer, link_secret, login
from tests.support.accounts import User
from tests.support.live import run_cli
from tests.support.problems import assert_problem


def admin(settings: Settings, *args: str, env: dict[str, str] | None = None,
          stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert settings.database_url
    return run_cli("admin", *args, "--data-dir", str(settings.data_dir), stdin=stdin,
                   env={"DATABASE_URL": settings.database_url, "FIELDPROOF_PUBLIC_URL": "",
                        "FIELDPROOF_SIGNUP": "", **(env or {})})


def test_invite_prints_a_link_that_signs_up_once(settings: Settings, services: Services,
                                                 client: FlaskClient, user: User) -> None:
    out = admin(settings, "invite", "Friend@Example.org", "--days", "3")
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:8000/#/signup?invite=")
    assert "FIELDPROOF_PUBLIC_URL" in out.stderr and "friend@example.org" in out.stdout
    secret = link_secret(link)
    r = client.post("/api/v1/auth/signup",
                    json={"email": "friend@example.org", "password": PASSWORD, "invite": secret})
    assert r.status_code == 201
    again = client.post("/api/v1/auth/signup", json={"email": "friend@example.org",
                                                     "password": PASSWORD, "invite": secret})
    assert_problem(again, 403, "invite_invalid")

    public = admin(settings, "invite", "other@example.org",
                   env={"FIELDPROOF_PUBLIC_URL": "https://proof.example.org/"})
    assert public.returncode == 0, public.stderr
    assert public.stdout.strip().splitlines()[-1].startswith(
        "https://proof.example.org/#/signup?invite=")
    assert "FIELDPROOF_PUBLIC_URL" not in public.stderr
    closed = admin(settings, "invite", "third@example.org", env={"FIELDPROOF_SIGNUP": "closed"})
    assert closed.returncode == 0 and "closed" in closed.stderr  # said, not refused

    taken = admin(settings, "invite", user.email)
    assert taken.returncode == 1 and "user_exists" in taken.stderr
    bad = admin(settings, "invite", "x@example.org", "--days", "0")
    assert bad.returncode == 2  # click refuses the range


def test_reset_password_prints_a_link_that_sets_it_once(
        settings: Settings, client: FlaskClient, user: User) -> None:
    out = admin(settings, "reset-password", user.email, "--hours", "2")
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:8000/#/reset?token=")
    r = client.post("/api/v1/auth/reset",
                    json={"token": link_secret(link), "password": "a brand new passphrase"})
    assert r.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=user.auth), 401, "token_invalid")
    assert login(client, user.email, "a brand new passphrase").status_code == 201
    unknown = admin(settings, "reset-password", "nobody@example.org")
    assert unknown.returncode == 1 and "user_not_found" in unknown.stderr


def test_list_disable_and_enable_users(settings: Settings, client: FlaskClient,
                                       user: User) -> None:
    made = admin(settings, "create-user", "second@example.org", "--password-stdin",
                 "--print-token", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    second_token = made.stdout.strip().splitlines()[-1]

    out = admin(settings, "disable-user", user.email)
    assert out.returncode == 0, out.stderr
    assert_problem(client.get("/api/v1/me", headers=user.auth), 401, "account_disabled")
    assert_problem(login(client, user.email), 401, "account_disabled")
    assert client.get("/api/v1/me", headers=bearer(second_token)).status_code == 200

    listed = admin(settings, "list-users", "--json")
    assert listed.returncode == 0, listed.stderr
    users = {u["email"]: u for u in json.loads(listed.stdout)["items"]}
    assert set(users) == {user.email, "second@example.org"}
    assert users[user.email]["disabled_at"].endswith("Z") and users[user.email]["tokens"] == 0
    assert users["second@example.org"]["disabled_at"] is None
    assert users["second@example.org"]["tokens"] == 1
    table = admin(settings, "list-users").stdout
    assert user.email in table and "second@example.org" in table

    assert admin(settings, "enable-user", user.email).returncode == 0
    assert login(client, user.email).status_code == 201
    unknown = admin(settings, "disable-user", "nobody@example.org")
    assert unknown.returncode == 1 and "user_not_found" in unknown.stderr
