"""One sequencer for a cluster: leadership by a PostgreSQL session advisory lock.

Every `fieldproof worker` runs the job queues (web recorder, transcripts,
housekeeping), which claim their jobs in the database; only the worker that
holds this lock runs the sequencer. The lock belongs to one database session:
when its worker dies (kill -9, a lost machine), PostgreSQL ends the session and
frees the lock, and a standby takes it within ``poll`` seconds. No lease, no
clock: the database that holds the log decides who writes it.

This is belt and braces: each batch also takes the sequencer's own transaction
lock (log/sequencer.py), so two workers that both believed they led (a partition
the database had not noticed yet) would still never write one batch twice.

SQLite is one machine and one database file: there every worker leads, and
SQLite's write lock orders the batches.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text
from sqlalchemy.engine import Connection

from fieldproof.db import Database

log = logging.getLogger(__name__)
LEADER_LOCK_KEY = 0x46504C454144  # "FPLEAD"; not the sequencer's per-batch key


class Leadership:
    def __init__(self, db: Database, *, poll: float = 1.0, key: int = LEADER_LOCK_KEY) -> None:
        self.db = db
        self.poll = max(0.05, poll)  # FIELDPROOF_SEQUENCER_INTERVAL=0 must not spin
        self.key = key
        self.attempts = 0  # tries so far (tests wait on it)
        self._conn: Connection | None = None

    def acquire(self, stop: threading.Event) -> bool:
        """Wait until this process leads (True) or ``stop`` is set (False)."""
        if self.db.dialect != "postgresql":
            return True
        while not stop.is_set():
            self.attempts += 1
            conn: Connection | None = None
            try:
                conn = self.db.engine.connect()
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                   {"k": self.key}).scalar()
                conn.commit()  # the session lock outlives the transaction
                if got:
                    self._conn = conn
                    return True
            except Exception as exc:  # the database restarting: try again
                log.warning("leader election: %s", type(exc).__name__)
                if conn is not None:
                    conn.invalidate()  # whatever it holds dies with its session
            if conn is not None:
                conn.close()
            stop.wait(self.poll)
        return False

    def held(self) -> bool:
        """Whether the session that holds the lock is still alive."""
        if self._conn is None:
            return self.db.dialect != "postgresql"
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                # Out of the pool, not back into it: ending the session frees the lock.
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                log.warning("leader election: closing the lock's session failed")
            self._conn = None
