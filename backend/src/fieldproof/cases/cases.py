"""Cases and their items: which captures make up a dispute's evidence, in which order,
under which name, and what each proves (证明目的).

An item is one of the owner's captures; another user's capture, like a missing
one, answers 404. Positions run 1..n with no gaps: adding appends, moving an
item shifts the others, removing one closes the gap.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.db import Case, CaseItem, Database, Share
from fieldproof.db.models import utcnow
from fieldproof.errors import CaseInvalid, CaseNotFound, ItemExists, ItemNotFound

MAX_TITLE = 200
MAX_NOTE = 10_000
MAX_PARTIES = 20
MAX_ROLE = 100
MAX_NAME = 200
MAX_PURPOSE = 2_000  # one table cell of the evidence list


@dataclass(frozen=True)
class Party:
    role: str  # 原告 / 被告 / 申请人 / plaintiff ..., free text
    name: str


@dataclass(frozen=True)
class CaseItemRecord:
    case_id: str
    position: int
    capture_id: str
    title: str  # its name in this case's list ("" = the capture's own title)
    purpose: str  # what it proves (证明目的)
    added_at: datetime
    capture: CaptureRecord

    @property
    def shown_title(self) -> str:
        """The name the evidence list prints: the item's, else the capture's own."""
        return self.title or self.capture.title


@dataclass(frozen=True)
class CaseRecord:
    id: str
    user_id: int
    title: str
    parties: tuple[Party, ...]
    note: str
    created_at: datetime
    updated_at: datetime
    item_count: int
    items: tuple[CaseItemRecord, ...] = ()  # in position order (empty in a list of cases)


# --------------------------------------------------------------------------- input
def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool = False,
          strip: bool = True) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise CaseInvalid(f"{name} must be a string")
    # the limit is on what was sent (as the OpenAPI schema says), then it is trimmed
    too_long = len(value) > limit
    value = value.strip() if strip else value
    if too_long or (required and not value):
        raise CaseInvalid(f"{name} must have {'1' if required else '0'} to {limit} characters")
    return value


def _known(body: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise CaseInvalid(f"unknown fields {', '.join(unknown)}; expected {', '.join(fields)}")


def parse_case(body: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """``{title, parties?, note?}`` checked (``partial``: every field optional)."""
    _known(body, ("title", "parties", "note"))
    out: dict[str, Any] = {}
    if "title" in body or not partial:
        out["title"] = _text(body, "title", MAX_TITLE, required=True)
    if "parties" in body:
        parties = body["parties"]
        if not isinstance(parties, list) or len(parties) > MAX_PARTIES or \
                not all(isinstance(p, dict) for p in parties):
            raise CaseInvalid(f"parties must be a list of at most {MAX_PARTIES} "
                              "{role, name} objects")
        for p in parties:
            _known(p, ("role", "name"))
        out["parties"] = [{"role": _text(p, "role", MAX_ROLE) if "role" in p else "",
                           "name": _text(p, "name", MAX_NAME, required=True)}
                          for p in parties]
    if "note" in body:
        out["note"] = _text(body, "note", MAX_NOTE, strip=False)
    return out


def parse_item(body: Mapping[str, Any], *, adding: bool) -> dict[str, Any]:
    """``{capture_id, title?, purpose?}`` to add, ``{title?, purpose?, position?}`` to change."""
    _known(body, ("capture_id", "title", "purpose") if adding else ("title", "purpose",
                                                                    "position"))
    out: dict[str, Any] = {}
    if adding:
        out["capture_id"] = _text(body, "capture_id", 36, required=True)
    if "title" in body:
        out["title"] = _text(body, "title", MAX_TITLE)
    if "purpose" in body:
        out["purpose"] = _text(body, "purpose", MAX_PURPOSE)
    if "position" in body:
        pos = body["position"]
        if not isinstance(pos, int) or isinstance(pos, bool) or pos < 1:
            raise CaseInvalid("position must be an integer from 1")
        out["position"] = pos
    return out


# --------------------------------------------------------------------------- the service
class Cases:
    def __init__(self, db: Database, captures: Captures) -> None:
        self.db = db
        self.captures = captures

    # -- cases -------------------------------------------------------------
    def create(self, principal: Principal, body: Mapping[str, Any]) -> CaseRecord:
        fields = parse_case(body, partial=False)
        now = utcnow()
        case_id = str(uuid.uuid4())
        with self.db.session() as s:
            s.add(Case(id=case_id, user_id=principal.user_id, title=fields["title"],
                       parties=fields.get("parties", []), note=fields.get("note", ""),
                       created_at=now, updated_at=now))
        return self.owned(principal.user_id, case_id)

    def mine(self, principal: Principal) -> list[CaseRecord]:
        """The caller's cases, the most recently changed first, without their items."""
        counts = (select(CaseItem.case_id, func.count().label("n"))
                  .group_by(CaseItem.case_id).subquery())
        with self.db.reading() as s:
            rows = s.execute(select(Case, counts.c.n)
                             .outerjoin(counts, counts.c.case_id == Case.id)
                             .where(Case.user_id == principal.user_id)
                             .order_by(Case.updated_at.desc(), Case.id)).all()
        return [_record(c, n or 0) for c, n in rows]

    def get(self, principal: Principal, case_id: str) -> CaseRecord:
        return self.owned(principal.user_id, case_id)

    def owned(self, user_id: int, case_id: str) -> CaseRecord:
        """The case with its items, if ``user_id`` owns it (404 otherwise)."""
        with self.db.reading() as s:
            case = _case_row(s, user_id, case_id)
            rows = s.scalars(select(CaseItem).where(CaseItem.case_id == case_id)
                             .order_by(CaseItem.position)).all()
        captures = self.captures.by_ids(user_id, [r.capture_id for r in rows])
        items = tuple(CaseItemRecord(case_id, r.position, r.capture_id, r.title, r.purpose,
                                     r.added_at, captures[r.capture_id])
                      for r in rows if r.capture_id in captures)
        return _record(case, len(items), items)

    def update(self, principal: Principal, case_id: str, body: Mapping[str, Any]) -> CaseRecord:
        fields = parse_case(body, partial=True)
        with self.db.session() as s:
            case = _case_row(s, principal.user_id, case_id, lock=True)
            for name, value in fields.items():
                setattr(case, name, value)
            case.updated_at = utcnow()
        return self.owned(principal.user_id, case_id)

    def delete(self, principal: Principal, case_id: str) -> None:
        """The case and its list go; its captures stay, and its share links stop
        working (kept, revoked, so the owner's list of shares still shows them)."""
        now = utcnow()
        with self.db.session() as s:
            case = _case_row(s, principal.user_id, case_id, lock=True)
            for share in s.scalars(select(Share).where(Share.case_id == case_id)):
                share.case_id = None
                share.revoked_at = share.revoked_at or now
            for item in s.scalars(select(CaseItem).where(CaseItem.case_id == case_id)):
                s.delete(item)
            s.flush()
            s.delete(case)

    # -- items -------------------------------------------------------------
    def add_item(self, principal: Principal, case_id: str,
                 body: Mapping[str, Any]) -> CaseItemRecord:
        """Append one of the caller's captures to the case's list."""
        fields = parse_item(body, adding=True)
        with self.db.session() as s:
            case = _case_row(s, principal.user_id, case_id, lock=True)
            capture = self.captures.get(principal, fields["capture_id"])  # 404 unless theirs
            if s.get(CaseItem, (case_id, capture.id)) is not None:
                raise ItemExists("this capture is already an item of the case")
            last = s.scalar(select(func.max(CaseItem.position))
                            .where(CaseItem.case_id == case_id)) or 0
            s.add(CaseItem(case_id=case_id, capture_id=capture.id, position=last + 1,
                           title=fields.get("title", ""), purpose=fields.get("purpose", ""),
                           added_at=utcnow()))
            case.updated_at = utcnow()
        return self.item(principal, case_id, capture.id)

    def item(self, principal: Principal, case_id: str, capture_id: str) -> CaseItemRecord:
        for item in self.owned(principal.user_id, case_id).items:
            if item.capture_id == capture_id:
                return item
        raise ItemNotFound("this capture is not an item of the case")

    def update_item(self, principal: Principal, case_id: str, capture_id: str,
                    body: Mapping[str, Any]) -> CaseItemRecord:
        """Rename, restate the purpose, or move the item to ``position`` (1..n): the
        items between its old and new place shift by one to make room."""
        fields = parse_item(body, adding=False)
        with self.db.session() as s:
            case = _case_row(s, principal.user_id, case_id, lock=True)
            items = list(s.scalars(select(CaseItem).where(CaseItem.case_id == case_id)
                                   .order_by(CaseItem.position)))
            item = next((i for i in items if i.capture_id == capture_id), None)
            if item is None:
                raise ItemNotFound("this capture is not an item of the case")
            if "title" in fields:
                item.title = fields["title"]
            if "purpose" in fields:
                item.purpose = fields["purpose"]
            if "position" in fields:
                if fields["position"] > len(items):
                    raise CaseInvalid(f"position must be 1..{len(items)}")
                items.remove(item)
                items.insert(fields["position"] - 1, item)
                _renumber(s, items)
            case.updated_at = utcnow()
        return self.item(principal, case_id, capture_id)

    def remove_item(self, principal: Principal, case_id: str, capture_id: str) -> None:
        with self.db.session() as s:
            case = _case_row(s, principal.user_id, case_id, lock=True)
            items = list(s.scalars(select(CaseItem).where(CaseItem.case_id == case_id)
                                   .order_by(CaseItem.position)))
            item = next((i for i in items if i.capture_id == capture_id), None)
            if item is None:
                raise ItemNotFound("this capture is not an item of the case")
            s.delete(item)
            s.flush()
            items.remove(item)
            _renumber(s, items)
            case.updated_at = utcnow()


def _case_row(s: Session, user_id: int, case_id: str, *, lock: bool = False) -> Case:
    q = select(Case).where(Case.id == case_id, Case.user_id == user_id)
    # Item writes lock the case row, so positions are assigned one writer at a
    # time (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes every writer anyway).
    row = s.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise CaseNotFound("no such case")
    return row


def _renumber(s: Session, items: list[CaseItem]) -> None:
    """Positions 1..n in the order of ``items``.

    (case, position) is unique at every statement, so the moved rows first step
    aside to negative positions (distinct from each other and from every row
    that stays), then take their places.
    """
    moved = [(item, n) for n, item in enumerate(items, 1) if item.position != n]
    for item, _ in moved:
        item.position = -item.position
    s.flush()
    for item, n in moved:
        item.position = n
    s.flush()


def _record(c: Case, count: int, items: tuple[CaseItemRecord, ...] = ()) -> CaseRecord:
    return CaseRecord(id=c.id, user_id=c.user_id, title=c.title,
                      parties=tuple(Party(str(p.get("role", "")), str(p.get("name", "")))
                                    for p in c.parties or [] if isinstance(p, dict)),
                      note=c.note, created_at=c.created_at, updated_at=c.updated_at,
                      item_count=count, items=items)
