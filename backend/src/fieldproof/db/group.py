"""Group commit: writes that arrive together share one transaction.

Every live-stream chunk is acknowledged only after its row is committed. One
transaction per chunk means one commit (one fsync, one WAL flush) per chunk;
with many recordings open, most of a chunk's cost was that commit. Here the
first caller to find no commit running becomes the leader: it writes every
item that is waiting (its own among them) in one transaction, with one call
of ``write_batch``, and commits once, while the items that arrive meanwhile
queue for the next round, whose leader is the first of them. A caller returns
only after the transaction holding its item committed, so "returned" still
means "durable". Alone, a caller commits at once, exactly as before; nobody
waits on a timer.

``write_batch(connection, items)`` gets the whole round at once so that it can
hand the driver one ``executemany`` per statement: in a threaded server every
driver call gives up the GIL and must win it back from the threads parsing
and verifying the next chunks, so a round's cost is counted in calls, not in
rows.

Should a round's transaction fail (or ``write_batch`` raise), each of its
items is written again alone, in a transaction of its own, so one item's error
is that item's alone. ``write_batch`` must therefore be safe to run again after
a rollback: plain statements whose only effect is what they write.

Written here rather than taken from a library: SQLAlchemy and the drivers
offer no group commit across callers (PostgreSQL's ``commit_delay`` groups
WAL flushes inside the server, SQLite has nothing of the kind), and the
leader/follower hand-off is a few lines on ``threading``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")  # what a caller writes
R = TypeVar("R")  # what writing it returned


class _Waiter:
    __slots__ = ("done", "error", "item", "lead", "result", "written")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False      # woken to lead the next round, not because it is done
        self.written = False
        self.result: Any = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """``run(item)`` writes ``item`` in a transaction shared with concurrent callers."""

    def __init__(self, engine: Engine,
                 write_batch: Callable[[Connection, Sequence[T]], Sequence[R]], *,
                 max_batch: int = 128) -> None:
        self.engine = engine
        self.write_batch = write_batch
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Waiter] = []
        self._busy = False  # a leader is writing
        # For tests: rounds committed, and the items in them.
        self.rounds = 0
        self.items = 0

    def run(self, item: T) -> R:
        me = _Waiter(item)
        with self._lock:
            self._waiting.append(me)
            lead = not self._busy
            self._busy = True
        if not lead:
            me.done.wait()
            lead = me.lead  # handed the next round; its item is still waiting
        if lead:
            self._lead()
        if me.error is not None:
            raise me.error
        return cast(R, me.result)

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[:self.max_batch]
            del self._waiting[:self.max_batch]
        try:
            self._write(batch)
        finally:
            for w in batch:
                if not w.written:
                    w.error = RuntimeError("the group commit was interrupted")
                w.lead = False
                w.done.set()
            with self._lock:
                if self._waiting:
                    # Hand the next round to the first caller waiting, whose
                    # thread would otherwise only wait; this one returns now.
                    nxt = self._waiting[0]
                    nxt.lead = True
                    nxt.done.set()
                else:
                    self._busy = False

    def _write(self, batch: list[_Waiter]) -> None:
        try:
            with self.engine.begin() as conn:
                results = self.write_batch(conn, [w.item for w in batch])
                if len(results) != len(batch):
                    raise AssertionError("write_batch must return one result per item")
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].written = exc, True
                return
            log.debug("a round of %d failed (%s); each is written alone", len(batch), exc)
            for w in batch:
                self._write([w])
            return
        for w, r in zip(batch, results, strict=True):
            w.result, w.written = r, True
        self.rounds += 1
        self.items += len(batch)
