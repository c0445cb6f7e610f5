"""Users, API tokens and device keys."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..core.keys import DeviceKey
from ..db import ApiToken, Database, Device, User
from ..db.models import utcnow
from ..errors import BadRequest, Conflict, FieldProofError, Unauthorized

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
TOKEN_PREFIX = "fp_"  # noqa: S105 - a public prefix, not a secret
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_hasher = PasswordHasher()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a bearer token."""

    user_id: int
    email: str


class Accounts:
    # Password guessing: at most this many failures per email in the window.
    MAX_FAILURES = 10
    FAILURE_WINDOW = 300.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _throttle(self, email: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(email, []) if now - t < self.FAILURE_WINDOW]
            self._failures[email] = recent
            if len(recent) >= self.MAX_FAILURES:
                raise FieldProofError("too many failed sign-ins; try again later",
                                      code="rate_limited", status=429,
                                      retry_after=int(self.FAILURE_WINDOW - (now - recent[0])))

    def _failed(self, email: str) -> None:
        with self._lock:
            self._failures.setdefault(email, []).append(time.monotonic())

    def create_user(self, email: str, password: str) -> int:
        email = email.strip().lower()
        if not _EMAIL.match(email):
            raise BadRequest("not an email address", code="email_invalid")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise BadRequest(f"password must be {MIN_PASSWORD}..{MAX_PASSWORD} characters",
                             code="password_invalid")
        with self.db.session() as s:
            if s.scalar(select(User.id).where(User.email == email)) is not None:
                raise Conflict("a user with that email exists", code="user_exists")
            user = User(email=email, password_hash=_hasher.hash(password))
            s.add(user)
            s.flush()
            return user.id

    def check_password(self, email: str, password: str) -> int:
        email = email.strip().lower()[:320]
        self._throttle(email)
        with self.db.reading() as s:
            user = s.scalar(select(User).where(User.email == email))
        if user is None or len(password) > MAX_PASSWORD:
            # Same cost either way: do not reveal which emails exist.
            _hasher.hash("timing-equaliser")
            self._failed(email)
            raise Unauthorized("wrong email or password", code="login_failed")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError) as exc:
            self._failed(email)
            raise Unauthorized("wrong email or password", code="login_failed") from exc
        return user.id

    def issue_token(self, user_id: int, label: str = "") -> str:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.add(ApiToken(user_id=user_id, token_hash=_token_hash(token), label=label[:100]))
        return token

    def revoke_token(self, token: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()

    def principal(self, token: str) -> Principal:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise Unauthorized("invalid token", code="token_invalid")
        with self.db.reading() as s:
            row = s.execute(
                select(User.id, User.email)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None))
            ).first()
        if row is None:
            raise Unauthorized("invalid or revoked token", code="token_invalid")
        return Principal(user_id=row[0], email=row[1])

    def register_device(self, user_id: int, jwk: Any, label: str = "") -> dict[str, Any]:
        """Enroll a public key; enrolling the same key again is a no-op."""
        key = DeviceKey.from_jwk(jwk)
        with self.db.session() as s:
            existing = s.scalar(select(Device).where(Device.key_id == key.key_id))
            if existing is not None:
                if existing.user_id != user_id:
                    raise Conflict("this key is enrolled by another account",
                                   code="device_taken")
                return device_json(existing)
            device = Device(user_id=user_id, key_id=key.key_id, jwk=key.jwk,
                            label=label[:100], capture_count=0)
            s.add(device)
            s.flush()
            return device_json(device)

    def devices(self, user_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(Device).where(Device.user_id == user_id)
                             .order_by(Device.id)).all()
            return [device_json(d) for d in rows]


def device_json(d: Device) -> dict[str, Any]:
    return {"key_id": d.key_id, "jwk": d.jwk, "label": d.label,
            "created_at": d.created_at.isoformat().replace("+00:00", "Z"),
            "head_manifest": d.head_manifest, "capture_count": d.capture_count}
