"""The sequencer: integrates queued leaves into the log, batch by batch.

One batch is one database transaction: assign leaf indices, store the new
subtrees, re-derive the root from what is stored, prove consistency with the
previous checkpoint, sign the new checkpoint and (with the embedded TSA)
timestamp it. A crash anywhere rolls the whole batch back; the entries stay
queued, and no checkpoint that was not proven is ever visible.

Only one sequencer writes at a time: a PostgreSQL advisory lock where
available, and on SQLite the write lock every transaction takes
(BEGIN IMMEDIATE, see db/engine.py), plus a row lock on log_state.

After a batch is committed the witnesses are asked to cosign the new
checkpoint (log/witnesses.py). Then, and on every tick until it succeeds, the
new checkpoint, with the cosignatures it has, is published as C2SP tlog-tiles
(log/tiles.py): its tiles first, ``tiles/checkpoint`` last. Tiles are made
from committed rows only, so a rolled-back batch never reaches a tile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, text, update

from fieldproof.core import merkle
from fieldproof.core.checkpoint import Checkpoint
from fieldproof.core.timestamp import parse_token
from fieldproof.db import Database, LogCheckpoint, LogEntry, LogNode, LogState, LogTimestamp
from fieldproof.db.models import utcnow
from fieldproof.errors import FieldProofError, LogCorrupt
from fieldproof.log.log import TransparencyLog, node_getter
from fieldproof.log.tiles import Tiles
from fieldproof.log.witnesses import Witnesses

log = logging.getLogger(__name__)

_ENTRIES = cast(Table, LogEntry.__table__)
# A queued entry takes its leaf (one executemany for the batch).
_PLACE = (update(_ENTRIES)
          .where(_ENTRIES.c.seq == bindparam("entry"), _ENTRIES.c.leaf_index.is_(None))
          .values(leaf_index=bindparam("leaf")))
ADVISORY_LOCK_KEY = 0x46504C4F47  # "FPLOG"


class Sequencer:
    def __init__(self, db: Database, tlog: TransparencyLog, *, interval: float = 1.0,
                 min_gap: float = 0.1, batch_max: int = 5000, retry_base: float = 5.0,
                 retry_max: float = 3600.0, tiles: Tiles | None = None,
                 witnesses: Witnesses | None = None) -> None:
        self.db = db
        self.log = tlog
        self.tiles = tiles
        self.witnesses = witnesses
        self.interval = interval
        self.min_gap = min_gap
        self.batch_max = batch_max
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Fault drills only: hold the batch transaction open this long before
        # committing, so a test can kill the process mid-batch.
        self._test_pause = float(os.environ.get("FIELDPROOF_TEST_SEQUENCER_PAUSE", "0") or 0)

    def notify(self) -> None:
        """A new entry is queued: integrate soon rather than at the next tick."""
        self._wake.set()

    # -- one batch ----------------------------------------------------------
    def integrate(self) -> int:
        """Integrate up to batch_max queued entries; returns how many."""
        with self.db.session() as s:
            if self.db.dialect == "postgresql":
                got = s.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"),
                               {"k": ADVISORY_LOCK_KEY})
                if not got:
                    return 0  # another sequencer is writing
            state = s.scalar(select(LogState).where(LogState.id == 1).with_for_update())
            if state is None:
                raise LogCorrupt("log_state row missing")
            # Rows and statements, not ORM objects: loading and flushing the
            # entries as objects was half of a batch's time (bench/translog.py).
            pending = s.execute(select(LogEntry.seq, LogEntry.leaf_hash)
                                .where(LogEntry.leaf_index.is_(None))
                                .order_by(LogEntry.seq).limit(self.batch_max)).all()
            if not pending:
                return 0
            get = node_getter(s)
            old_size = int(state.size)
            app = merkle.Appender(old_size, get(merkle.Appender.edge_ids(old_size)))
            new_nodes: list[tuple[merkle.NodeId, bytes]] = []
            placed: list[dict[str, int]] = []
            for seq, leaf_hash in pending:
                placed.append({"entry": seq, "leaf": app.size})
                new_nodes.extend(app.append(leaf_hash))
            moved = s.execute(_PLACE, placed)
            if moved.rowcount != len(placed):  # type: ignore[attr-defined]
                raise LogCorrupt("a queued entry was placed by another writer meanwhile")
            s.execute(insert(LogNode), [{"level": lv, "idx": ix, "hash": h}
                                        for (lv, ix), h in new_nodes])
            s.flush()
            size, root = app.size, app.root()
            # Trust nothing computed in memory alone: re-derive from storage,
            # and prove the new tree extends the last published one.
            if merkle.root(size, get) != root:
                raise LogCorrupt("stored tree does not reproduce the new root")
            prev = s.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
            if prev is not None:
                if prev.size != old_size:
                    raise LogCorrupt(f"last checkpoint {prev.size} != tree size {old_size}")
                merkle.verify_consistency(prev.size, size, prev.root, root,
                                          merkle.consistency_proof(prev.size, size, get))
            note = self.log.signer.sign(Checkpoint(self.log.origin, size, root).body())
            if Checkpoint.parse(self.log.signer.verifier.open(note)).root != root:
                raise LogCorrupt("checkpoint does not round-trip")
            s.add(LogCheckpoint(size=size, root=root, note=note.decode("utf-8")))
            state.size = size
            s.flush()
            stamped = False
            now = utcnow()
            for tsa in self.log.tsas:
                row = LogTimestamp(checkpoint_size=size, tsa=tsa.name, embedded=tsa.embedded,
                                   attempts=0, next_attempt_at=now)
                if tsa.embedded:
                    token = tsa.stamp(note)
                    row.token, row.gen_time = token, parse_token(token).gen_time
                    row.attempts, row.next_attempt_at = 1, None
                    stamped = True
                s.add(row)
            if stamped:
                s.flush()
                TransparencyLog.mark_anchored(s, size, start=old_size)
            if self._test_pause:
                log.warning("test pause: batch of %d held open", len(pending))
                time.sleep(self._test_pause)
        log.info("integrated %d entries; tree size %d", len(pending), size)
        self.cosign()
        self.publish_tiles()
        return len(pending)

    def cosign(self) -> None:
        """Ask the witnesses to cosign the newest checkpoint (before its tiles go out)."""
        if not self.witnesses:
            return
        try:
            self.witnesses.cosign_latest()
        except Exception:
            log.exception("asking the witnesses failed; retrying")

    def publish_tiles(self) -> None:
        """Publish committed checkpoints as tiles; a failure is retried on the next tick."""
        if self.tiles is None:
            return
        try:
            self.tiles.publish()
        except Exception:
            log.exception("publishing the log's tiles failed; retrying")

    # -- external TSAs --------------------------------------------------------
    def stamp_pending(self, limit: int = 20) -> int:
        """Ask external TSAs for tokens still missing; failures retry with backoff."""
        by_name = {t.name: t for t in self.log.tsas if not t.embedded}
        with self.db.session() as s:
            rows = s.execute(
                select(LogTimestamp.id, LogTimestamp.tsa, LogCheckpoint.note,
                       LogTimestamp.checkpoint_size, LogTimestamp.attempts)
                .join(LogCheckpoint, LogCheckpoint.size == LogTimestamp.checkpoint_size)
                .where(LogTimestamp.token.is_(None), LogTimestamp.next_attempt_at <= utcnow())
                .order_by(LogTimestamp.next_attempt_at).limit(limit)).all()
        done = 0
        for row_id, name, note, size, attempts in rows:
            tsa = by_name.get(name)
            if tsa is None:
                continue  # no longer configured; kept, not dropped
            try:
                token = tsa.stamp(note.encode("utf-8"))
                gen_time = parse_token(token).gen_time
            except FieldProofError as exc:
                delay = min(self.retry_max, self.retry_base * 2 ** attempts)
                log.warning("TSA %s failed for checkpoint %d (attempt %d): %s; retry in %.0f s",
                            name, size, attempts + 1, exc.code, delay)
                with self.db.session() as s:
                    row = s.get(LogTimestamp, row_id)
                    if row is not None:
                        row.attempts += 1
                        row.last_error = f"{exc.code}: {exc.detail}"[:500]
                        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                continue
            with self.db.session() as s:
                row = s.get(LogTimestamp, row_id)
                if row is not None and row.token is None:
                    row.token, row.gen_time = token, gen_time
                    row.attempts += 1
                    row.next_attempt_at = None
                    row.last_error = None
                    below = s.scalar(
                        select(func.max(LogTimestamp.checkpoint_size))
                        .where(LogTimestamp.checkpoint_size < size,
                               LogTimestamp.token.is_not(None)))
                    TransparencyLog.mark_anchored(s, size, start=below or 0)
            done += 1
        return done

    # -- the loop -----------------------------------------------------------
    def run(self) -> None:
        """Integrate until stopped: every ``interval`` s, sooner when notified."""
        while not self._stop.is_set():
            n = 0
            try:
                n = self.integrate()
                self.stamp_pending()
                self.cosign()  # witnesses that failed before are asked again
                self.publish_tiles()  # catches up after a crash or a store outage
            except Exception:
                log.exception("sequencer batch failed; retrying")
                self._stop.wait(min(5.0, self.interval * 2))
            if n >= self.batch_max:
                continue
            self._wake.wait(self.interval)
            self._wake.clear()
            self._stop.wait(self.min_gap)  # let a burst of ingests share one batch

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="sequencer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
