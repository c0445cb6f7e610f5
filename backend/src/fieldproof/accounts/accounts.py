"""Users, API tokens and device keys."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldproof.core.keys import DeviceKey
from fieldproof.db import ApiToken, Database, Device, User
from fieldproof.db.models import utcnow
from fieldproof.errors import (
    AccountDisabled,
    DeviceNotFound,
    DeviceTaken,
    EmailInvalid,
    LoginFailed,
    PasswordInvalid,
    TokenExpired,
    TokenInvalid,
    TokenNotFound,
    UserExists,
)
from fieldproof.ratelimit import RateLimit

if TYPE_CHECKING:
    from fieldproof.config import Settings

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
TOKEN_PREFIX = "fp_"  # noqa: S105 - a public prefix, not a secret
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_hasher = PasswordHasher()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise EmailInvalid("not an email address")
    return email


def hash_new_password(password: str) -> str:
    """The argon2id hash of an acceptable new password."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PasswordInvalid(f"password must be {MIN_PASSWORD}..{MAX_PASSWORD} characters")
    return _hasher.hash(password)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a bearer token."""

    user_id: int
    email: str
    token_id: int | None = None  # None for the server acting on its own
    expires_at: datetime | None = None
    issued_at: datetime | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: int
    expires_at: datetime


class Accounts:
    # Password guessing. Failures count per (email, client address) and per
    # address: a stranger who knows an email cannot lock its owner out, since
    # the owner signs in from another address; one address cannot try many
    # passwords on many accounts either.
    FAILURES_PER_ACCOUNT_AND_SOURCE = "10/5 minutes"
    FAILURES_PER_SOURCE = "50/5 minutes"
    # A renewed token's predecessor stays valid this long, so a request that
    # raced the renewal (or a lost response) does not sign the user out.
    ROTATION_OVERLAP = timedelta(minutes=5)

    def __init__(self, db: Database, settings: Settings | None = None, *,
                 limits_storage: Any = None) -> None:
        self.db = db
        self.token_ttl = timedelta(days=settings.token_ttl_days if settings else 30)
        self._by_account = RateLimit(self.FAILURES_PER_ACCOUNT_AND_SOURCE, limits_storage,
                                     message="too many failed sign-ins; try again later")
        self._by_source = RateLimit(self.FAILURES_PER_SOURCE, limits_storage,
                                    message="too many failed sign-ins from this address; "
                                            "try again later")
        # Told when a token or a device is revoked, e.g. to close open sockets.
        self.on_revoked: list[Callable[[Revocation], None]] = []

    def create_user(self, email: str, password: str) -> int:
        email = normalise_email(email)
        password_hash = hash_new_password(password)
        with self.db.session() as s:
            return self.add_user(s, email, password_hash)

    @staticmethod
    def add_user(s: Session, email: str, password_hash: str) -> int:
        """Insert a user in the caller's transaction (a sign-up uses up its invite in it)."""
        if s.scalar(select(User.id).where(User.email == email)) is not None:
            raise UserExists("a user with that email exists")
        user = User(email=email, password_hash=password_hash)
        s.add(user)
        try:
            s.flush()
        except IntegrityError as exc:  # the same email, signed up a moment ago
            raise UserExists("a user with that email exists") from exc
        return user.id

    def check_password(self, email: str, password: str, *, source: str = "unknown") -> int:
        email = email.strip().lower()[:320]
        self._by_source.check(source)
        self._by_account.check(email, source)
        with self.db.reading() as s:
            user = s.scalar(select(User).where(User.email == email))
        if user is None or len(password) > MAX_PASSWORD:
            # Same cost either way: do not reveal which emails exist.
            _hasher.hash("timing-equaliser")
            self._failed(email, source)
            raise LoginFailed("wrong email or password")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError) as exc:
            self._failed(email, source)
            raise LoginFailed("wrong email or password") from exc
        # Said only to whoever knows the password: it tells no stranger the email exists.
        if user.disabled_at is not None:
            raise AccountDisabled("this account is disabled; ask the server's operator")
        return user.id

    def _failed(self, email: str, source: str) -> None:
        self._by_source.hit(source)
        self._by_account.hit(email, source)

    # -- tokens -----------------------------------------------------------------
    def issue_token(self, user_id: int, label: str = "",
                    ttl: timedelta | None = None) -> str:
        return self.issue(user_id, label, ttl).token

    def issue(self, user_id: int, label: str = "", ttl: timedelta | None = None) -> IssuedToken:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = utcnow() + (ttl or self.token_ttl)
        with self.db.session() as s:
            row = ApiToken(user_id=user_id, token_hash=_token_hash(token), label=label[:100],
                           expires_at=expires)
            s.add(row)
            s.flush()
            return IssuedToken(token, row.id, expires)

    def renew(self, principal: Principal, label: str = "renewed") -> IssuedToken:
        """A new token for the caller; the calling one ends after a short overlap."""
        if principal.token_id is None:
            raise TokenInvalid("only a token can be renewed")
        issued = self.issue(principal.user_id, label)
        with self.db.session() as s:
            old = s.get(ApiToken, principal.token_id)
            if old is not None:
                cap = utcnow() + self.ROTATION_OVERLAP
                if old.expires_at is None or old.expires_at > cap:
                    old.expires_at = cap
        return issued

    def revoke_token(self, token: str) -> None:
        with self.db.session() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = utcnow()
            token_id = row.id
        self._revoked(Revocation(token_id=token_id))

    def principal(self, token: str) -> Principal:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise TokenInvalid("invalid token")
        with self.db.reading() as s:
            row = s.execute(
                select(User.id, User.email, ApiToken.id, ApiToken.expires_at,
                       ApiToken.created_at, ApiToken.revoked_at, User.disabled_at)
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == _token_hash(token))
            ).first()
        if row is None:
            raise TokenInvalid("invalid or revoked token")
        if row[6] is not None:  # before revoked: disabling revoked them too
            raise AccountDisabled("this account is disabled; ask the server's operator")
        if row[5] is not None:
            raise TokenInvalid("invalid or revoked token")
        principal = Principal(user_id=row[0], email=row[1], token_id=row[2], expires_at=row[3],
                              issued_at=row[4])
        if principal.expired():
            raise TokenExpired("this token has expired; sign in again")
        return principal

    def tokens(self, principal: Principal) -> list[TokenInfo]:
        """The caller's tokens that still work, oldest first."""
        now = utcnow()
        with self.db.reading() as s:
            rows = s.scalars(select(ApiToken).where(
                ApiToken.user_id == principal.user_id, ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
                .order_by(ApiToken.id)).all()
            return [TokenInfo(id=r.id, label=r.label, created_at=r.created_at,
                              expires_at=r.expires_at, current=r.id == principal.token_id)
                    for r in rows]

    def revoke_token_id(self, principal: Principal, token_id: str) -> None:
        """Revoke one of the caller's tokens; another user's answers as a missing one."""
        try:
            wanted = int(token_id)
        except ValueError:
            wanted = -1
        with self.db.session() as s:
            revoked = s.scalar(update(ApiToken).where(
                ApiToken.id == wanted, ApiToken.user_id == principal.user_id,
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow()))
                .values(revoked_at=utcnow()).returning(ApiToken.id))
        if revoked is None:
            raise TokenNotFound("no such token")
        self._revoked(Revocation(token_id=revoked))

    def change_password(self, principal: Principal, current: str, new: str, *,
                        source: str = "unknown") -> None:
        """Needs the current password; every other token of the caller stops working."""
        password_hash = hash_new_password(new)
        self.check_password(principal.email, current, source=source)
        with self.db.session() as s:
            revoked = self.set_password(s, principal.user_id, password_hash,
                                        keep=principal.token_id)
        self.announce_revoked(revoked)

    @staticmethod
    def set_password(s: Session, user_id: int, password_hash: str, *,
                     keep: int | None = None) -> list[int]:
        """Set a password hash and revoke the user's tokens but ``keep``; the revoked ids.

        In the caller's transaction; call :meth:`announce_revoked` after it commits.
        """
        s.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
        return Accounts.revoke_all(s, user_id, keep=keep)

    @staticmethod
    def revoke_all(s: Session, user_id: int, *, keep: int | None = None) -> list[int]:
        query = update(ApiToken).where(ApiToken.user_id == user_id,
                                       ApiToken.revoked_at.is_(None))
        if keep is not None:
            query = query.where(ApiToken.id != keep)
        return list(s.scalars(query.values(revoked_at=utcnow()).returning(ApiToken.id)))

    def announce_revoked(self, token_ids: list[int]) -> None:
        for token_id in token_ids:
            self._revoked(Revocation(token_id=token_id))

    def _revoked(self, what: Revocation) -> None:
        for hook in self.on_revoked:
            try:
                hook(what)
            except Exception:
                log.exception("revocation hook failed")

    def register_device(self, user_id: int, jwk: Any, label: str = "") -> dict[str, Any]:
        """Enroll a public key; enrolling the same key again is a no-op."""
        key = DeviceKey.from_jwk(jwk)
        with self.db.session() as s:
            existing = s.scalar(select(Device).where(Device.key_id == key.key_id))
            if existing is not None:
                if existing.user_id != user_id:
                    raise DeviceTaken("this key is enrolled by another account")
                return device_json(existing)
            device = Device(user_id=user_id, key_id=key.key_id, jwk=key.jwk,
                            label=label[:100], capture_count=0)
            s.add(device)
            s.flush()
            return device_json(device)

    def recorder_device(self, user_id: int, key: DeviceKey) -> Device:
        """The account's server-held web recorder as a device (webcap/keys.py)."""
        with self.db.session() as s:
            device = s.scalar(select(Device).where(Device.key_id == key.key_id))
            if device is None:
                device = Device(user_id=user_id, key_id=key.key_id, jwk=key.jwk,
                                label="FieldProof web recorder", capture_count=0,
                                server_held=True)
                s.add(device)
                s.flush()
            if device.user_id != user_id or not device.server_held:
                raise DeviceTaken("the recorder key is enrolled elsewhere")
            s.expunge(device)
            return device

    def devices(self, user_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(Device).where(Device.user_id == user_id,
                                                  Device.server_held.is_(False))
                             .order_by(Device.id)).all()
            return [device_json(d) for d in rows]

    def device_jwk(self, device_id: int) -> dict[str, Any]:
        """The public key a device signs with (for evidence bundles)."""
        with self.db.reading() as s:
            device = s.get(Device, device_id)
            if device is None:
                raise DeviceNotFound("no such device")
            return dict(device.jwk)

    def revoke_device(self, user_id: int, key_id: str) -> dict[str, Any]:
        """Refuse the key's new captures and streams; what it signed before stays valid."""
        with self.db.session() as s:
            device = s.scalar(select(Device).where(Device.key_id == key_id,
                                                   Device.user_id == user_id,
                                                   Device.server_held.is_(False)))
            if device is None:
                raise DeviceNotFound("no such device")
            if device.revoked_at is None:
                device.revoked_at = utcnow()
            out = device_json(device)
            device_id = device.id
        self._revoked(Revocation(device_id=device_id))
        return out


def device_json(d: Device) -> dict[str, Any]:
    return {"key_id": d.key_id, "jwk": d.jwk, "label": d.label,
            "created_at": d.created_at.isoformat().replace("+00:00", "Z"),
            "head_manifest": d.head_manifest, "capture_count": d.capture_count,
            "revoked_at": None if d.revoked_at is None
            else d.revoked_at.isoformat().replace("+00:00", "Z")}


@dataclass(frozen=True)
class TokenInfo:
    """One of a user's working tokens (never the secret: only its hash is kept)."""

    id: int
    label: str
    created_at: datetime
    expires_at: datetime | None
    current: bool


@dataclass(frozen=True)
class Revocation:
    """A token or a device that stopped being valid just now."""

    token_id: int | None = None
    device_id: int | None = None
