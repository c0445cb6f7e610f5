"""The log published as C2SP tlog-tiles, in the object store under ``tiles/``.

Layout (core/tiles.py): ``tiles/checkpoint``, ``tiles/tile/<L>/<N>[.p/<W>]`` and
``tiles/tile/entries/<N>[.p/<W>]``, the same names a static host serves under
its prefix. The sequencer calls :meth:`Tiles.publish` after each batch it
commits (and on every tick, to catch up after a crash or a store outage):

1. every tile the checkpoints since the last published one need, made from
   committed rows only (a rolled-back batch never reaches a tile);
2. the root recomputed from the tiles as stored, compared with the checkpoint's;
3. only then ``tiles/checkpoint``, so it never names a tile that is not there.

A crash anywhere leaves the old checkpoint with every tile it needs: tiles are
content for sizes up to the new one, and a tile's name fixes its bytes (the
width is in a partial tile's name), so writing one again writes the same bytes.
Full tiles are written once: one already stored is checked, never replaced.
Partial tiles of intermediate checkpoints are skipped when the full tile is
there by the end of the same publish (the spec lets a log drop those).

Publishers are serialised (a PostgreSQL advisory lock, or a file lock beside
SQLite) and ``tiles/checkpoint`` only ever moves forward.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text

from fieldproof.core import merkle
from fieldproof.core import tiles as layout
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.core.tiles import Tile
from fieldproof.db import Database, LogCheckpoint, LogCosignature, LogEntry, LogNode
from fieldproof.errors import LogCorrupt, NoCheckpoint, NotFound, ObjectMissing
from fieldproof.log.log import cosignature_lines
from fieldproof.storage import ObjectStore
from fieldproof.storage.private import private_dir
from fieldproof.storage.tmpfiles import locked_mkstemp

log = logging.getLogger(__name__)

PREFIX = "tiles/"
CHECKPOINT = "checkpoint"
ADVISORY_LOCK_KEY = 0x46505449  # "FPTI"


@dataclass(frozen=True)
class _Target:
    size: int
    root: bytes
    note: str


class Tiles:
    """Writes the tiles of committed checkpoints to the store, and reads them back."""

    def __init__(self, db: Database, store: ObjectStore, verifier: Verifier, *,
                 tmp_dir: Path, lock_file: Path) -> None:
        self.db = db
        self.store = store
        self.verifier = verifier
        self.tmp_dir = tmp_dir
        self.lock_file = lock_file
        self._lock = threading.Lock()
        # this process's last look at tiles/checkpoint: (size, cosignatures on it)
        self._published: tuple[int, int] | None = None

    # -- reading -------------------------------------------------------------
    def read(self, path: str) -> bytes:
        """``checkpoint`` or a tile path; NotFound if it is not (yet) published."""
        if path != CHECKPOINT:
            try:
                layout.parse_path(path)
            except ValueError as exc:
                raise NotFound(f"no such tile: {path}") from exc
        try:
            return b"".join(self.store.iter_range(PREFIX + path))
        except ObjectMissing as exc:
            if path == CHECKPOINT:
                raise NoCheckpoint("no checkpoint has been published as tiles yet") from exc
            raise NotFound(f"tile {path} is not published") from exc

    def published_size(self) -> int:
        """The tree size of ``tiles/checkpoint`` (0 before the first)."""
        try:
            note = self.read(CHECKPOINT)
        except NoCheckpoint:
            return 0
        return Checkpoint.parse(self.verifier.open(note)).size

    # -- writing -------------------------------------------------------------
    def publish(self) -> int:
        """Bring the tiles up to the newest committed checkpoint; returns the published size.

        The checkpoint goes out with the cosignatures it has; one that gains
        cosignatures later is written again (same size, more signature lines).
        """
        with self.db.reading() as s:
            newest = s.scalar(select(func.max(LogCheckpoint.size))) or 0
            cosigned = s.scalar(select(func.count()).select_from(LogCosignature)
                                .where(LogCosignature.checkpoint_size == newest)) or 0
        if self._published is not None and (newest, cosigned) <= self._published:
            return self._published[0]
        with self._lock, self._exclusive():
            published = self.published_size()  # another process may have gone further
            with self.db.reading() as s:
                rows = s.execute(select(LogCheckpoint.size, LogCheckpoint.root,
                                        LogCheckpoint.note)
                                 .where(LogCheckpoint.size >= published)
                                 .order_by(LogCheckpoint.size)).all()
                lines = cosignature_lines(s, [int(rows[-1][0])] if rows else [])
            targets = [_Target(int(z), bytes(r), n + lines.get(int(z), ""))
                       for z, r, n in rows]
            if targets and targets[-1].size > published:
                self._publish(published, [t for t in targets if t.size > published])
                published = targets[-1].size
            elif targets and targets[-1].size == published and published > 0 \
                    and self.read(CHECKPOINT) != targets[-1].note.encode("utf-8"):
                self._put(PREFIX + CHECKPOINT, targets[-1].note.encode("utf-8"))
            self._published = (published, cosigned)
            return published

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self.db.dialect == "postgresql":
            with self.db.session() as s:
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                yield
            return
        self.lock_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _publish(self, published: int, targets: list[_Target]) -> None:
        final = targets[-1]
        wanted: dict[Tile, None] = {}
        prev = published
        for t in targets:
            for tile in layout.new_tiles(prev, t.size):
                if tile.partial and tile.index < final.size >> (layout.TILE_HEIGHT *
                                                                (tile.level + 1)):
                    continue  # full by the end of this publish
                wanted[tile] = None
            prev = t.size
        for tile in wanted:
            self._write(tile)
        # The checkpoint goes out only if the stored tiles reproduce its root.
        cached: dict[Tile, list[bytes]] = {}

        def stored(tile: Tile) -> list[bytes]:
            if tile not in cached:
                cached[tile] = layout.decode_hashes(self.read(tile.path), tile)
            return cached[tile]

        if layout.root_from_tiles(final.size, stored) != final.root:
            raise LogCorrupt(f"the stored tiles do not reproduce checkpoint {final.size}")
        self._put(PREFIX + CHECKPOINT, final.note.encode("utf-8"))
        log.info("published tiles up to tree size %d (%d tiles)", final.size, len(wanted))

    def _content(self, tile: Tile) -> bytes:
        first = tile.index * layout.TILE_WIDTH
        with self.db.reading() as s:
            if tile.entries:
                rows = s.execute(select(LogEntry.leaf_index, LogEntry.data, LogEntry.leaf_hash)
                                 .where(LogEntry.leaf_index >= first,
                                        LogEntry.leaf_index < first + tile.width)
                                 .order_by(LogEntry.leaf_index)).all()
                if [r[0] for r in rows] != list(range(first, first + tile.width)):
                    raise LogCorrupt(f"leaves missing for {tile.path}")
                entries = [d.encode("utf-8") for _, d, _ in rows]
                # The bundle must hash to the tree as integrated, whatever the row says now.
                for (i, _, leaf), entry in zip(rows, entries, strict=True):
                    if merkle.leaf_hash(entry) != bytes(leaf):
                        raise LogCorrupt(f"leaf {i} no longer hashes to its leaf hash")
                return layout.encode_bundle(entries)
            level = layout.TILE_HEIGHT * tile.level
            nodes = s.execute(select(LogNode.idx, LogNode.hash)
                              .where(LogNode.level == level, LogNode.idx >= first,
                                     LogNode.idx < first + tile.width)
                              .order_by(LogNode.idx)).all()
        if [i for i, _ in nodes] != list(range(first, first + tile.width)):
            raise LogCorrupt(f"stored subtrees missing for {tile.path}")
        return layout.encode_hashes([bytes(h) for _, h in nodes])

    def _write(self, tile: Tile) -> None:
        data = self._content(tile)
        key = PREFIX + tile.path
        if not tile.partial:
            there = self.store.stat(key)
            if there is not None:  # written once, by an earlier (interrupted) publish
                if b"".join(self.store.iter_range(key)) != data:
                    raise LogCorrupt(f"stored full tile {tile.path} differs from the log")
                return
        self._put(key, data)

    def _put(self, key: str, data: bytes) -> None:
        fd, tmp = locked_mkstemp(private_dir(self.tmp_dir), ".tile-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
                self.store.put_file(key, tmp, consume=True)  # still locked: not swept
        finally:
            tmp.unlink(missing_ok=True)
