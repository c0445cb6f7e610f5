"""Reading captures: one owner's, by id or page by page. Writing is ingest's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.db import Capture, Database, Device
from fieldproof.errors import CaptureNotFound


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
            row = s.execute(select(Capture, Device.key_id)
                            .join(Device, Device.id == Capture.device_id)
                            .where(Capture.id == capture_id,
                                   Capture.user_id == principal.user_id)).first()
        if row is None:
            raise CaptureNotFound("no such capture")
        return CaptureRecord.of(row[0], row[1])

    def by_manifest(self, manifest_hash: str) -> CaptureRecord | None:
        with self.db.reading() as s:
            row = s.execute(select(Capture, Device.key_id)
                            .join(Device, Device.id == Capture.device_id)
                            .where(Capture.manifest_hash == manifest_hash)).first()
        return None if row is None else CaptureRecord.of(row[0], row[1])

    def page(self, principal: Principal, *, limit: int = 50,
             before: int | None = None) -> Page:
        """Newest first; ``before`` is the ``next`` of the previous page."""
        q = (select(Capture, Device.key_id).join(Device, Device.id == Capture.device_id)
             .where(Capture.user_id == principal.user_id)
             .order_by(Capture.seq.desc()).limit(limit + 1))
        if before is not None:
            q = q.where(Capture.seq < before)
        with self.db.reading() as s:
            rows = s.execute(q).all()
        nxt = rows[limit - 1][0].seq if len(rows) > limit else None
        return Page([CaptureRecord.of(c, k) for c, k in rows[:limit]], nxt)
