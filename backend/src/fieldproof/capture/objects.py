"""Who may still use a stored media object, and when it may go.

Media objects are content-addressed, so two requests (even of two users) that
carry the same bytes share one object. A request that fails must therefore
never delete "its" object: another one may have found it already stored and be
about to commit a capture that refers to it. Instead:

* every ingest **pins** the key (a committed row) before it looks at the store,
  and drops the pin in the same transaction that commits its capture, or when
  it fails;
* the **collector** deletes an object only when no capture refers to it, no
  live pin exists and it was last touched longer ago than a grace period, and
  it does so while holding the object's row lock. A pin taken meanwhile waits
  for that lock and then finds the object gone, so its ingest stores it again.

A pin left behind by a killed process expires; until then its object is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fieldproof.db import Capture, Database, ObjectPin, StoredObject, WebCaptureFile
from fieldproof.db.models import utcnow
from fieldproof.errors import FieldProofError
from fieldproof.storage import ObjectStore

log = logging.getLogger(__name__)


class ObjectRefs:
    # Longer than any ingest takes from pin to commit (a 4 GiB read-back on a
    # slow S3 is minutes); only a crashed ingest's pin ever reaches it.
    PIN_LIFETIME = timedelta(hours=6)
    # An unreferenced object stays this long after its last pin, for a resend.
    GRACE = timedelta(hours=1)

    def __init__(self, db: Database, store: ObjectStore, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.store = store
        self.clock = clock

    # -- ingests ----------------------------------------------------------------
    def pin(self, key: str) -> int:
        """Register ``key`` and pin it; committed before the caller touches the store."""
        now = self.clock()
        with self.db.session() as s:
            dialect = postgresql if self.db.dialect == "postgresql" else sqlite
            # The upsert takes the row lock: it waits for a collector that is
            # deleting this object, and re-creates the row after it.
            s.execute(dialect.insert(StoredObject).values(key=key, touched_at=now)
                      .on_conflict_do_update(index_elements=["key"],
                                             set_={"touched_at": now}))
            pin = ObjectPin(key=key, expires_at=now + self.PIN_LIFETIME)
            s.add(pin)
            s.flush()
            return pin.id

    @staticmethod
    def unpin_in(s: Session, pin_id: int) -> None:
        """Drop a pin inside the transaction that commits the capture using it."""
        s.execute(delete(ObjectPin).where(ObjectPin.id == pin_id))

    def unpin(self, pin_id: int) -> None:
        """Drop the pin of a failed ingest; its object is left for the collector."""
        try:
            with self.db.session() as s:
                self.unpin_in(s, pin_id)
        except Exception:
            # The pin expires by itself; until then the object is only kept longer.
            log.warning("could not drop object pin %d", pin_id, exc_info=True)

    # -- the collector --------------------------------------------------------------
    def _unused(self, now: datetime):  # type: ignore[no-untyped-def]
        return (~exists().where(Capture.object_key == StoredObject.key)) & (
            ~exists().where(WebCaptureFile.object_key == StoredObject.key)) & (
            ~exists().where(ObjectPin.key == StoredObject.key, ObjectPin.expires_at > now))

    def collect(self, limit: int = 500) -> list[str]:
        """Delete unreferenced, unpinned objects past the grace period; returns their keys."""
        now = self.clock()
        cutoff = now - self.GRACE
        with self.db.reading() as s:
            keys = s.scalars(select(StoredObject.key)
                             .where(StoredObject.touched_at < cutoff, self._unused(now))
                             .limit(limit)).all()
        deleted = []
        for key in keys:
            try:
                if self._collect_one(key, cutoff, now):
                    deleted.append(key)
            except FieldProofError:
                log.warning("could not collect object %s", key, exc_info=True)
        if deleted:
            log.info("collected %d unreferenced media object(s)", len(deleted))
        return deleted

    def _collect_one(self, key: str, cutoff: datetime, now: datetime) -> bool:
        with self.db.session() as s:
            # Lock the row (SQLite: the whole database is locked for writing),
            # then decide again: a capture or a pin may have come meanwhile.
            row = s.scalar(select(StoredObject.key)
                           .where(StoredObject.key == key, StoredObject.touched_at < cutoff,
                                  self._unused(now))
                           .with_for_update())
            if row is None:
                return False
            self.store.delete(key)  # under the lock: no pin can slip in between
            s.execute(delete(ObjectPin).where(ObjectPin.key == key))
            s.execute(delete(StoredObject).where(StoredObject.key == key))
        return True
