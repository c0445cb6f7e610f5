"""Accounts tests: an app whose settings a test chooses (sign-up mode, public URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldproof.config import Settings
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.streams import NS

PASSWORD = "correct horse battery"


@dataclass
class Server:
    services: Services
    app: Flask
    client: FlaskClient


@pytest.fixture
def server_with(settings: Settings) -> Iterator[Callable[..., Server]]:
    """``server_with(signup="open", ...)``: services and an app on changed settings."""
    made: list[Services] = []

    def make(**changes: Any) -> Server:
        services = Services.build(replace(settings, **changes))
        made.append(services)
        app = create_app(services=services)
        return Server(services, app, app.test_client())

    yield make
    for services in made:
        services.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kw: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **kw})


def socket(app: Flask, token: str) -> Any:
    """A Socket.IO client on /streams, connected with ``token``."""
    sio = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": token})
    assert sio.is_connected(NS)
    return sio


def link_secret(url: str) -> str:
    """The secret of a one-time link ``<base>/#/<route>?<param>=<secret>``."""
    fragment = urlsplit(url).fragment
    values = parse_qs(fragment.partition("?")[2])
    (secret,) = (v[0] for v in values.values())
    return secret
