"""Reading captures: one owner's, by id or page by page. Writing is ingest's."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord, CaseRef
from fieldproof.db import Capture, CaptureAnnotation, Case, CaseItem, Database, Device
from fieldproof.errors import CaptureNotFound, CaseNotFound


@dataclass(frozen=True)
class Page:
    items: list[CaptureRecord]
    next: int | None  # pass as ``before`` for the following page


class Captures:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, principal: Principal, capture_id: str) -> CaptureRecord:
        """The caller's capture; another user's is indistinguishable from a missing one."""
        with self.db.reading() as s:
            row = s.execute(select(Capture, Device.key_id, Device.revoked_at)
                            .join(Device, Device.id == Capture.device_id)
                            .where(Capture.id == capture_id,
                                   Capture.user_id == principal.user_id)).first()
        if row is None:
            raise CaptureNotFound("no such capture")
        return self.annotated([CaptureRecord.of(row[0], row[1], row[2])])[0]

    def by_manifest(self, manifest_hash: str) -> CaptureRecord | None:
        with self.db.reading() as s:
            row = s.execute(select(Capture, Device.key_id, Device.revoked_at)
                            .join(Device, Device.id == Capture.device_id)
                            .where(Capture.manifest_hash == manifest_hash)).first()
        return None if row is None else CaptureRecord.of(row[0], row[1], row[2])

    def page(self, principal: Principal, *, limit: int = 50,
             before: int | None = None) -> Page:
        """Newest first; ``before`` is the ``next`` of the previous page."""
        q = (select(Capture, Device.key_id, Device.revoked_at)
             .join(Device, Device.id == Capture.device_id)
             .where(Capture.user_id == principal.user_id)
             .order_by(Capture.seq.desc()).limit(limit + 1))
        if before is not None:
            q = q.where(Capture.seq < before)
        with self.db.reading() as s:
            rows = s.execute(q).all()
        nxt = rows[limit - 1][0].seq if len(rows) > limit else None
        return Page(self.annotated([CaptureRecord.of(c, k, r) for c, k, r in rows[:limit]]),
                    nxt)

    def search(self, principal: Principal, query: CaptureQuery, *, limit: int = 50,
               before: int | None = None) -> Page:
        """Like :meth:`page`, only the captures ``query`` matches.

        The text is matched here, not in SQL: tags and place names are JSON,
        whose stored text escapes non-ASCII characters differently per writer,
        and "case-insensitive" should mean Unicode case folding. The owner's
        captures are read in batches, newest first, until a page is full.
        """
        q = (select(Capture, Device.key_id, Device.revoked_at)
             .join(Device, Device.id == Capture.device_id)
             .where(Capture.user_id == principal.user_id)
             .order_by(Capture.seq.desc()))
        if query.kind is not None:
            q = q.where(Capture.kind == query.kind)
        if query.with_status is not None:
            q = q.where(Capture.status == query.with_status)
        if query.received_from is not None:
            q = q.where(Capture.received_at >= query.received_from)
        if query.received_to is not None:
            q = q.where(Capture.received_at <= query.received_to)
        needle = (query.text or "").strip().casefold()
        if needle:
            q = q.add_columns(CaptureAnnotation).outerjoin(
                CaptureAnnotation, CaptureAnnotation.capture_id == Capture.id)
        found: list[Any] = []
        cursor = before
        with self.db.reading() as s:
            if query.case_id is not None:
                if s.scalar(select(Case.id).where(Case.id == query.case_id,
                                                  Case.user_id == principal.user_id)) is None:
                    raise CaseNotFound("no such case")
                q = q.join(CaseItem, (CaseItem.capture_id == Capture.id)
                           & (CaseItem.case_id == query.case_id))
            batch = limit + 1 if not needle else max(SEARCH_BATCH, limit + 1)
            while len(found) <= limit:
                page_q = q.limit(batch) if cursor is None else \
                    q.where(Capture.seq < cursor).limit(batch)
                rows: list[Any] = list(s.execute(page_q).all())
                found += [r for r in rows if not needle or _matches(needle, r[0], r[3])]
                if len(rows) < batch:
                    break
                cursor = rows[-1][0].seq
        nxt = found[limit - 1][0].seq if len(found) > limit else None
        return Page(self.annotated([CaptureRecord.of(r[0], r[1], r[2]) for r in found[:limit]]),
                    nxt)

    def by_ids(self, user_id: int, ids: list[str]) -> dict[str, CaptureRecord]:
        """The owner's captures among ``ids`` (others' are left out), by id."""
        if not ids:
            return {}
        with self.db.reading() as s:
            rows = s.execute(select(Capture, Device.key_id, Device.revoked_at)
                             .join(Device, Device.id == Capture.device_id)
                             .where(Capture.id.in_(ids), Capture.user_id == user_id)).all()
        return {r.id: r for r in self.annotated([CaptureRecord.of(c, k, d)
                                                 for c, k, d in rows])}

    def annotated(self, records: list[CaptureRecord]) -> list[CaptureRecord]:
        """``records`` with their owner's title, note and tags and the cases they are in."""
        if not records:
            return records
        ids = [r.id for r in records]
        cases: dict[str, list[CaseRef]] = {}
        with self.db.reading() as s:
            notes = {a.capture_id: a for a in s.scalars(
                select(CaptureAnnotation).where(CaptureAnnotation.capture_id.in_(ids)))}
            for capture_id, case_id, title, position in s.execute(
                    select(CaseItem.capture_id, Case.id, Case.title, CaseItem.position)
                    .join(Case, Case.id == CaseItem.case_id)
                    .where(CaseItem.capture_id.in_(ids))
                    .order_by(Case.created_at, Case.id)):
                cases.setdefault(capture_id, []).append(CaseRef(case_id, title, position))
        out = []
        for r in records:
            a = notes.get(r.id)
            out.append(replace(r, title=a.title if a else "", note=a.note if a else "",
                               tags=tuple(a.tags) if a else (),
                               cases=tuple(cases.get(r.id, ()))))
        return out


SEARCH_BATCH = 500  # captures read at a time while searching their text
PLACE_NAMES = ("name", "name_zh", "admin1", "admin1_zh")


@dataclass(frozen=True)
class CaptureQuery:
    """What ``GET /captures`` filters on; None (or empty text) filters nothing."""

    text: str | None = None  # in title, note, tags and place names, case-insensitive
    kind: str | None = None
    with_status: str | None = None  # stored | anchored
    received_from: datetime | None = None  # inclusive
    received_to: datetime | None = None  # inclusive
    case_id: str | None = None


def _matches(needle: str, capture: Capture, note: CaptureAnnotation | None) -> bool:
    words: list[Any] = []
    if note is not None:
        words += [note.title, note.note, *(note.tags or [])]
    place = capture.place if isinstance(capture.place, dict) else {}
    words += [place.get(k) for k in PLACE_NAMES]
    return any(isinstance(w, str) and needle in w.casefold() for w in words)
