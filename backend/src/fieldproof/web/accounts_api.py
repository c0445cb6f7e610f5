"""HTTP API v1, accounts: sign-up and sign-in, passwords, tokens, the caller, devices.

Parse, call one service, serialize (shared/PROTOCOL.md, "Accounts").
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from fieldproof.accounts.accounts import TokenInfo
from fieldproof.core.manifest import iso
from fieldproof.errors import BadRequest
from fieldproof.services import Services
from fieldproof.web.auth import authenticator, bearer_token, client_address, json_body, principal


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    return value


def token_json(t: TokenInfo) -> dict[str, Any]:
    return {"id": t.id, "label": t.label, "created_at": iso(t.created_at),
            "expires_at": iso(t.expires_at), "current": t.current}


def make_accounts_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("accounts_v1", __name__)
    authenticated = authenticator(services)
    accounts = services.accounts

    # -- signing up, in and out ----------------------------------------------------------
    @bp.get("/auth/signup")
    def signup_info() -> Any:
        info = services.signup.info()
        return {"mode": info.mode} | ({"contact": info.contact} if info.contact else {})

    @bp.post("/auth/signup")
    def signup() -> Any:
        body = json_body()
        issued = services.signup.signup(_text(body, "email"), _text(body, "password"),
                                        _text(body, "invite") or None, source=client_address())
        return {"token": issued.token, "expires_at": iso(issued.expires_at)}, 201

    @bp.post("/auth/login")
    def login() -> Any:
        body = json_body()
        user_id = accounts.check_password(str(body.get("email", "")),
                                          str(body.get("password", "")),
                                          source=client_address())
        issued = accounts.issue(user_id, label=str(body.get("label", "login")))
        return {"token": issued.token, "expires_at": iso(issued.expires_at)}, 201

    @bp.post("/auth/renew")
    @authenticated
    def renew() -> Any:
        issued = accounts.renew(principal())
        return {"token": issued.token, "expires_at": iso(issued.expires_at)}, 201

    @bp.post("/auth/logout")
    @authenticated
    def logout() -> Any:
        accounts.revoke_token(bearer_token())
        return "", 204

    # -- passwords -----------------------------------------------------------------------
    @bp.post("/auth/password")
    @authenticated
    def change_password() -> Any:
        body = json_body()
        accounts.change_password(principal(), _text(body, "current"), _text(body, "new"),
                                 source=client_address())
        return "", 204

    @bp.post("/auth/reset")
    def reset_password() -> Any:
        body = json_body()
        services.resets.reset(_text(body, "token"), _text(body, "password"))
        return "", 204

    # -- tokens --------------------------------------------------------------------------
    @bp.get("/auth/tokens")
    @authenticated
    def tokens() -> Any:
        return {"items": [token_json(t) for t in accounts.tokens(principal())]}

    @bp.delete("/auth/tokens/<token_id>")
    @authenticated
    def revoke_token(token_id: str) -> Any:
        accounts.revoke_token_id(principal(), token_id)
        return "", 204

    @bp.get("/me")
    @authenticated
    def me() -> Any:
        p = principal()
        return {"user_id": p.user_id, "email": p.email, "token_issued_at": iso(p.issued_at),
                "token_expires_at": iso(p.expires_at)}

    # -- devices -------------------------------------------------------------------------
    @bp.post("/devices")
    @authenticated
    def enroll() -> Any:
        body = json_body()
        device = accounts.register_device(principal().user_id, body.get("jwk"),
                                          str(body.get("label", "")))
        return device, 201

    @bp.get("/devices")
    @authenticated
    def devices() -> Any:
        return {"items": accounts.devices(principal().user_id)}

    @bp.delete("/devices/<key_id>")
    @authenticated
    def revoke_device(key_id: str) -> Any:
        return accounts.revoke_device(principal().user_id, key_id)

    return bp
