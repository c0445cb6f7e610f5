"""One-time links: invitations to sign up and password resets.

The secret travels only in the link; the database keeps its SHA-256, so a copy
of the database opens nothing. Each link works once and expires.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

LOCAL_BASE = "http://127.0.0.1:8000"
MAX_SECRET = 200  # ours are 43 characters; longer is not one of ours


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OneTimeLink:
    url: str
    email: str
    expires_at: datetime
    note: str | None = None  # for the operator: why the link may need editing


def make_link(public_url: str | None, route: str, secret: str, *, email: str,
              expires_at: datetime) -> OneTimeLink:
    """``<public>/#/<route><secret>``: the PWA's route; the secret never reaches a server log
    (a fragment is not sent)."""
    note = None
    if not public_url:
        note = (f"FIELDPROOF_PUBLIC_URL is not set, so the link starts with {LOCAL_BASE}; "
                "change that to the address people reach this server at")
    return OneTimeLink(url=f"{public_url or LOCAL_BASE}/#/{route}{secret}", email=email,
                       expires_at=expires_at, note=note)
