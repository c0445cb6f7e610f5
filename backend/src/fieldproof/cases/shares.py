"""Share links: a case or one capture, read-only, for someone with no account.

A link is ``<public base>/s/<token>``. The token is 32 random bytes, shown to
the owner once; the server keeps only its SHA-256, so a database leak yields
no working link. A link expires (60 s to 90 days, a week by default) and its
owner may revoke it; an unknown, revoked or expired link answers 404 alike.

Every access through a link is a custody event of the capture it shows, whose
actor is the link (``{"share": id, "label": label}``): the owner sees who was
given the link by its label, and when and from where it was used.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.cases.cases import CaseRecord, Cases
from fieldproof.db import CaseItem, Database, Share
from fieldproof.db.models import utcnow
from fieldproof.errors import CaptureNotFound, ShareInvalid, ShareNotFound

DEFAULT_EXPIRES = 7 * 24 * 3600
MIN_EXPIRES = 60
MAX_EXPIRES = 90 * 24 * 3600
MAX_LABEL = 200
Kind = Literal["case", "capture"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ShareRecord:
    id: str
    user_id: int
    kind: Kind
    target_id: str | None  # None once the shared case was deleted
    label: str
    allow_download: bool
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def actor(self) -> dict[str, Any]:
        """Who a custody event names for an access through this link."""
        return {"share": self.id, "label": self.label}

    @property
    def owner(self) -> Principal:
        """The owner, as whom the link reads (it can read nothing the owner cannot)."""
        return Principal(user_id=self.user_id, email="")

    @classmethod
    def of(cls, s: Share) -> ShareRecord:
        kind: Kind = "capture" if s.capture_id is not None else "case"
        return cls(id=s.id, user_id=s.user_id, kind=kind,
                   target_id=s.capture_id if kind == "capture" else s.case_id,
                   label=s.label, allow_download=s.allow_download, created_at=s.created_at,
                   expires_at=s.expires_at, revoked_at=s.revoked_at)


@dataclass(frozen=True)
class NewShare:
    share: ShareRecord
    token: str  # the link's secret: shown once, never stored


def parse_share(body: Mapping[str, Any]) -> dict[str, Any]:
    """``{expires_in?, allow_download?, label?}`` checked, with their defaults."""
    unknown = sorted(set(body) - {"expires_in", "allow_download", "label"})
    if unknown:
        raise ShareInvalid(f"unknown fields {', '.join(unknown)}; a share has expires_in, "
                           "allow_download and label")
    expires = body.get("expires_in", DEFAULT_EXPIRES)
    if not isinstance(expires, int) or isinstance(expires, bool) or \
            not MIN_EXPIRES <= expires <= MAX_EXPIRES:
        raise ShareInvalid(f"expires_in must be {MIN_EXPIRES}..{MAX_EXPIRES} seconds")
    allow = body.get("allow_download", False)
    if not isinstance(allow, bool):
        raise ShareInvalid("allow_download must be true or false")
    label = body.get("label", "")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        raise ShareInvalid(f"label must be a string of at most {MAX_LABEL} characters")
    return {"expires_in": expires, "allow_download": allow, "label": label.strip()}


class Shares:
    def __init__(self, db: Database, captures: Captures, cases: Cases) -> None:
        self.db = db
        self.captures = captures
        self.cases = cases

    # -- the owner's side --------------------------------------------------
    def create(self, principal: Principal, kind: Kind, target_id: str,
               body: Mapping[str, Any]) -> NewShare:
        """A new link to the caller's case or capture (404 if it is not theirs)."""
        fields = parse_share(body)
        if kind == "case":
            self.cases.get(principal, target_id)
        else:
            self.captures.get(principal, target_id)
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = Share(id=str(uuid.uuid4()), user_id=principal.user_id,
                    case_id=target_id if kind == "case" else None,
                    capture_id=target_id if kind == "capture" else None,
                    token_hash=token_hash(token), label=fields["label"],
                    allow_download=fields["allow_download"], created_at=now,
                    expires_at=now + timedelta(seconds=fields["expires_in"]))
        with self.db.session() as s:
            s.add(row)
        return NewShare(ShareRecord.of(row), token)

    def mine(self, principal: Principal) -> list[ShareRecord]:
        """The caller's links, newest first, revoked and expired ones included."""
        with self.db.reading() as s:
            rows = s.scalars(select(Share).where(Share.user_id == principal.user_id)
                             .order_by(Share.created_at.desc(), Share.id)).all()
        return [ShareRecord.of(r) for r in rows]

    def revoke(self, principal: Principal, share_id: str) -> None:
        """The link stops working now (revoking a revoked link changes nothing)."""
        with self.db.session() as s:
            row = s.scalar(select(Share).where(Share.id == share_id,
                                               Share.user_id == principal.user_id))
            if row is None:
                raise ShareNotFound("no such share")
            row.revoked_at = row.revoked_at or utcnow()

    # -- the link's side ---------------------------------------------------
    def resolve(self, token: str) -> ShareRecord:
        """The live share a token opens; 404 ``share_not_found`` for any other token."""
        if not token or len(token) > 128:
            raise ShareNotFound("no such share")
        with self.db.reading() as s:
            row = s.scalar(select(Share).where(Share.token_hash == token_hash(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow() or \
                (row.case_id is None and row.capture_id is None):
            raise ShareNotFound("no such share, or it was revoked or has expired")
        return ShareRecord.of(row)

    def case(self, share: ShareRecord) -> CaseRecord:
        if share.kind != "case" or share.target_id is None:
            raise ShareNotFound("this link shares no case")
        return self.cases.owned(share.user_id, share.target_id)

    def capture(self, share: ShareRecord, capture_id: str) -> CaptureRecord:
        """A capture the link shows: its capture, or an item of its case."""
        if share.kind == "capture":
            if capture_id != share.target_id:
                raise CaptureNotFound("no such capture")
        else:
            with self.db.reading() as s:
                inside = s.scalar(select(CaseItem.capture_id).where(
                    CaseItem.case_id == share.target_id, CaseItem.capture_id == capture_id))
            if inside is None:
                raise CaptureNotFound("no such capture")
        return self.captures.get(share.owner, capture_id)

    def captures_shown(self, share: ShareRecord) -> list[CaptureRecord]:
        """Every capture the link shows."""
        if share.kind == "capture" and share.target_id is not None:
            return [self.captures.get(share.owner, share.target_id)]
        return [item.capture for item in self.case(share).items]
