"""Password resets: an operator makes a one-time link (`fieldproof admin reset-password`).

There is no self-service "forgot password" by email: the server sends no mail.
Setting the new password revokes every token the user had, so whoever held
one (a lost phone, a shared computer) is signed out.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from fieldproof.accounts.accounts import Accounts, hash_new_password
from fieldproof.accounts.links import MAX_SECRET, OneTimeLink, make_link, new_secret, secret_hash
from fieldproof.db import Database, PasswordReset, User
from fieldproof.db.models import utcnow
from fieldproof.errors import ResetInvalid, UserNotFound


class PasswordResets:
    def __init__(self, db: Database, accounts: Accounts, public_url: str | None) -> None:
        self.db = db
        self.accounts = accounts
        self.public_url = public_url

    def issue(self, email: str, *, hours: int = 24) -> OneTimeLink:
        email = email.strip().lower()
        secret = new_secret()
        expires_at = utcnow() + timedelta(hours=hours)
        with self.db.session() as s:
            user_id = s.scalar(select(User.id).where(User.email == email))
            if user_id is None:
                raise UserNotFound(f"no user {email}")
            s.add(PasswordReset(user_id=user_id, token_hash=secret_hash(secret),
                                expires_at=expires_at))
        return make_link(self.public_url, "reset?token=", secret, email=email,
                         expires_at=expires_at)

    def reset(self, token: str, password: str) -> None:
        """Set the password with a reset link's secret, once; all the user's tokens end."""
        password_hash = hash_new_password(password)  # a refused password keeps the link
        digest = secret_hash(token) if token and len(token) <= MAX_SECRET else ""
        with self.db.session() as s:
            user_id = s.scalar(
                update(PasswordReset)
                .where(PasswordReset.token_hash == digest, PasswordReset.used_at.is_(None),
                       PasswordReset.expires_at > utcnow())
                .values(used_at=utcnow()).returning(PasswordReset.user_id))
            if user_id is None:
                raise ResetInvalid("this reset link is not valid, was used or has expired; "
                                   "ask the server's operator for a new one")
            revoked = self.accounts.set_password(s, user_id, password_hash)
        self.accounts.announce_revoked(revoked)
