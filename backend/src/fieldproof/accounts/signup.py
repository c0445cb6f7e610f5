"""Who may make an account (FIELDPROOF_SIGNUP), and invitations to.

- ``open``: anyone may sign up.
- ``invite``: only with a one-time invitation an operator made for that email
  (`fieldproof admin invite`).
- ``closed``: nobody; an operator creates accounts (`fieldproof admin create-user`).

Sign-up attempts are counted per client address, whatever their outcome. In
invite mode, an attempt without a valid invitation learns nothing about which
emails have accounts: the invitation is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from fieldproof.accounts.accounts import (
    Accounts,
    IssuedToken,
    hash_new_password,
    normalise_email,
)
from fieldproof.accounts.links import MAX_SECRET, OneTimeLink, make_link, new_secret, secret_hash
from fieldproof.db import Database, Invite, User
from fieldproof.db.models import utcnow
from fieldproof.errors import InviteInvalid, SignupClosed, UserExists
from fieldproof.ratelimit import RateLimit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from fieldproof.config import Settings


_NO_INVITE = "sign-up needs a valid invitation for this email; it may be used or expired"


@dataclass(frozen=True)
class SignupInfo:
    """What the sign-in page shows: whether and how one signs up, and whom to ask."""

    mode: str
    contact: str | None


class Signup:
    ATTEMPTS_PER_SOURCE = "10/hour"

    def __init__(self, db: Database, accounts: Accounts, settings: Settings, *,
                 limits_storage: Any = None) -> None:
        self.db = db
        self.accounts = accounts
        self.mode = settings.signup
        self.contact = settings.operator_contact
        self.public_url = settings.public_url
        self._attempts = RateLimit(self.ATTEMPTS_PER_SOURCE, limits_storage,
                                   message="too many sign-ups from this address; "
                                           "try again later")

    def info(self) -> SignupInfo:
        return SignupInfo(self.mode, self.contact)

    def signup(self, email: str, password: str, invite: str | None, *,
               source: str = "unknown") -> IssuedToken:
        self._attempts.check(source)
        self._attempts.hit(source)
        if self.mode == "closed":
            raise SignupClosed("this server takes no sign-ups; ask its operator for an account")
        email = normalise_email(email)
        if self.mode == "invite":
            self._check_invite(invite, email)  # before anything that could tell emails apart
        password_hash = hash_new_password(password)  # slow: outside the transaction
        with self.db.session() as s:
            if self.mode == "invite":
                self._use_invite(s, invite, email)
            user_id = self.accounts.add_user(s, email, password_hash)
        return self.accounts.issue(user_id, label="signup")

    # -- invitations ---------------------------------------------------------------
    def invite(self, email: str, *, days: int = 7) -> OneTimeLink:
        """A one-time link to sign up as ``email`` (in invite mode; open mode needs none)."""
        email = normalise_email(email)
        secret = new_secret()
        expires_at = utcnow() + timedelta(days=days)
        with self.db.session() as s:
            if s.scalar(select(User.id).where(User.email == email)) is not None:
                raise UserExists("a user with that email exists")
            s.add(Invite(email=email, token_hash=secret_hash(secret), expires_at=expires_at))
        return make_link(self.public_url, "signup?invite=", secret, email=email,
                         expires_at=expires_at)

    def _check_invite(self, invite: str | None, email: str) -> None:
        with self.db.reading() as s:
            found = s.scalar(select(Invite.id).where(*self._usable(invite, email)))
        if found is None:
            raise InviteInvalid(_NO_INVITE)

    def _use_invite(self, s: Session, invite: str | None, email: str) -> None:
        """Use the invitation up, in the transaction that creates the user: once only."""
        used = s.scalar(update(Invite).where(*self._usable(invite, email))
                        .values(used_at=utcnow()).returning(Invite.id))
        if used is None:
            raise InviteInvalid(_NO_INVITE)

    @staticmethod
    def _usable(invite: str | None, email: str) -> tuple[Any, ...]:
        digest = secret_hash(invite) if invite and len(invite) <= MAX_SECRET else ""
        return (Invite.token_hash == digest, Invite.email == email,
                Invite.used_at.is_(None), Invite.expires_at > utcnow())
