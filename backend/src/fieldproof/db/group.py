"""Group commit: units of work that arrive together share one transaction.

Every live-stream chunk is acknowledged only after its row is committed. One
transaction per chunk means one commit (one fsync, one WAL flush) per chunk;
with many recordings open, most of a chunk's cost was that commit. Here the
first caller to find no commit running becomes the leader: it writes every
unit that is waiting (its own among them) in one transaction and commits once,
while the units that arrive meanwhile queue for the next round, whose leader
is the first of them. A caller returns only after the transaction holding its
unit committed, so "returned" still means "durable". Alone, a caller commits
at once, exactly as before; nobody waits on a timer.

Should the shared transaction fail, each of its units runs again alone, in a
transaction of its own, so one unit's error is that unit's alone. A unit must
therefore be safe to run twice against a rolled-back transaction: plain
statements whose only effect is what they write.

Written here rather than taken from a library: SQLAlchemy and the drivers
offer no group commit across callers (PostgreSQL's ``commit_delay`` groups
WAL flushes inside the server, SQLite has nothing of the kind), and the
leader/follower hand-off is a few lines on ``threading``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Unit(Generic[T]):
    __slots__ = ("done", "error", "lead", "result", "work", "written")

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.lead = False      # woken to lead the next round, not because it is done
        self.written = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    """Run ``work(connection)`` in a transaction shared with concurrent callers."""

    def __init__(self, engine: Engine, *, max_batch: int = 128) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Unit[Any]] = []
        self._busy = False  # a leader is writing
        # Counters for benchmarks and tests: rounds committed, units in them.
        self.rounds = 0
        self.units = 0

    def run(self, work: Callable[[Connection], T]) -> T:
        unit: _Unit[T] = _Unit(work)
        with self._lock:
            self._waiting.append(unit)
            lead = not self._busy
            self._busy = True
        if not lead:
            unit.done.wait()
            lead = unit.lead  # handed the next round; its unit is still waiting
        if lead:
            self._lead()
        if unit.error is not None:
            raise unit.error
        return cast(T, unit.result)

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[:self.max_batch]
            del self._waiting[:self.max_batch]
        try:
            self._write(batch)
        finally:
            for u in batch:
                if not u.written:
                    u.error = RuntimeError("the group commit was interrupted")
                u.lead = False
                u.done.set()
            with self._lock:
                if self._waiting:
                    # Hand the next round to the first caller waiting, whose
                    # thread would otherwise only wait; this one returns now.
                    nxt = self._waiting[0]
                    nxt.lead = True
                    nxt.done.set()
                else:
                    self._busy = False

    def _write(self, batch: list[_Unit[Any]]) -> None:
        try:
            with self.engine.begin() as conn:
                results = [u.work(conn) for u in batch]
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].written = exc, True
                return
            log.debug("a group of %d failed (%s); each runs alone", len(batch), exc)
            for u in batch:
                self._write([u])
            return
        for u, r in zip(batch, results, strict=True):
            u.result, u.written = r, True
        self.rounds += 1
        self.units += len(batch)
