"""What every API blueprint needs from a request: its bearer token, the caller, a JSON body."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from flask import g, request

from fieldproof.accounts.accounts import Principal
from fieldproof.errors import JsonInvalid, TokenMissing

if TYPE_CHECKING:
    from fieldproof.services import Services

F = TypeVar("F", bound=Callable[..., Any])
MAX_JSON_BODY = 64 * 1024
# A person's words (a note of 10,000 characters, a case's parties) may be sent with
# every character JSON-escaped (12 bytes for one outside the BMP): room for the
# longest valid one, so that what is too long is answered by its own limit (400).
MAX_TEXT_BODY = 256 * 1024


def bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing("send 'Authorization: Bearer <token>'")
    return token.strip()


def authenticator(services: Services) -> Callable[[F], F]:
    """A decorator: the route runs only for a valid token, whose caller :func:`principal` is."""
    def authenticated(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.principal = services.accounts.principal(bearer_token())
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return authenticated


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]


def client_address() -> str:
    """The caller's address (behind FIELDPROOF_TRUSTED_PROXIES: from X-Forwarded-For)."""
    return request.remote_addr or "unknown"


def json_body(limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    # JSON bodies are small; only the media upload may use the big limit.
    request.max_content_length = limit
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise JsonInvalid("expected a JSON object body")
    return body
