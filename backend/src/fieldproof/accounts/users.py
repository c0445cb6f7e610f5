"""Accounts as the operator sees them (`fieldproof admin`): list, disable, enable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from fieldproof.accounts.accounts import Accounts
from fieldproof.db import ApiToken, Database, Device, User
from fieldproof.db.models import utcnow
from fieldproof.errors import UserNotFound


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    created_at: datetime
    disabled_at: datetime | None
    tokens: int  # working: neither revoked nor expired
    devices: int  # not revoked


class UserAdmin:
    def __init__(self, db: Database, accounts: Accounts) -> None:
        self.db = db
        self.accounts = accounts

    def users(self, email: str | None = None) -> list[UserInfo]:
        now = utcnow()
        tokens = (select(ApiToken.user_id, func.count().label("n"))
                  .where(ApiToken.revoked_at.is_(None),
                         ApiToken.expires_at.is_(None) | (ApiToken.expires_at > now))
                  .group_by(ApiToken.user_id).subquery())
        devices = (select(Device.user_id, func.count().label("n"))
                   .where(Device.revoked_at.is_(None))
                   .group_by(Device.user_id).subquery())
        query = (select(User, tokens.c.n, devices.c.n)
                 .outerjoin(tokens, tokens.c.user_id == User.id)
                 .outerjoin(devices, devices.c.user_id == User.id)
                 .order_by(User.id))
        if email is not None:
            query = query.where(User.email == email.strip().lower())
        with self.db.reading() as s:
            return [UserInfo(id=u.id, email=u.email, created_at=u.created_at,
                             disabled_at=u.disabled_at, tokens=n_tokens or 0,
                             devices=n_devices or 0)
                    for u, n_tokens, n_devices in s.execute(query).all()]

    def set_disabled(self, email: str, disabled: bool) -> UserInfo:
        """Disable an account (its tokens are revoked; its evidence stays) or enable it.

        Enabling does not bring the old tokens back: the user signs in again.
        """
        email = email.strip().lower()
        revoked: list[int] = []
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.email == email))
            if user is None:
                raise UserNotFound(f"no user {email}")
            if disabled and user.disabled_at is None:
                user.disabled_at = utcnow()
                revoked = Accounts.revoke_all(s, user.id)
            elif not disabled:
                user.disabled_at = None
        self.accounts.announce_revoked(revoked)
        return self.users(email)[0]
