"""The transparency log as stored in the database: reads, proofs and receipts.

Writes happen in two places only: ``append`` (inside the transaction that
accepts a capture) and the sequencer (services/sequencer.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fieldproof.config import WitnessSpec
from fieldproof.core import merkle
from fieldproof.core.checkpoint import Signer
from fieldproof.core.encoding import b64
from fieldproof.core.manifest import iso
from fieldproof.db import (
    Capture,
    Database,
    LogCheckpoint,
    LogCosignature,
    LogEntry,
    LogState,
    LogTimestamp,
)
from fieldproof.errors import (
    LogCorrupt,
    NoCheckpoint,
    NotAnchored,
    ProofOutOfRange,
    QueryInvalid,
)
from fieldproof.log.custody import SYSTEM, add_event
from fieldproof.tsa import TimestampAuthority

MAX_ENTRIES_PER_CALL = 1000


@dataclass(frozen=True)
class StampRecord:
    """An RFC 3161 token over a checkpoint."""

    tsa: str
    embedded: bool
    token: bytes
    gen_time: datetime | None


@dataclass(frozen=True)
class Receipt:
    """Where a capture's leaf sits: the first time-stamped checkpoint that holds it."""

    capture_id: str
    origin: str
    leaf_index: int
    tree_size: int
    entry: str  # the leaf data (canonical JSON), exactly as hashed
    leaf_hash: bytes
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str  # the signed note, exactly as served
    checkpoint_root: bytes
    checkpoint_created_at: datetime
    timestamps: tuple[StampRecord, ...]
    # Witnesses' note signature lines on ``checkpoint`` (log/witnesses.py), joined.
    cosignatures: str = ""


def cosignature_lines(s: Session, sizes: Iterable[int]) -> dict[int, str]:
    """Each checkpoint's cosignature lines, joined (ordered by witness name)."""
    wanted = list(sizes)
    out: dict[int, str] = {}
    if not wanted:
        return out
    rows = s.execute(select(LogCosignature.checkpoint_size, LogCosignature.line)
                     .where(LogCosignature.checkpoint_size.in_(wanted))
                     .order_by(LogCosignature.checkpoint_size, LogCosignature.witness)).all()
    for size, line in rows:
        out[size] = out.get(size, "") + line
    return out


def node_getter(s: Session) -> merkle.GetNodes:
    """Fetch any set of stored subtrees in one query.

    Plain driver SQL on purpose: building and compiling an ORM statement for
    every proof cost ~1.3 ms, ten times the lookup itself (bench/translog.py).
    """
    conn = s.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def get(ids: Iterable[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        wanted = set(ids)
        if not wanted:
            return {}
        by_level: dict[int, list[int]] = defaultdict(list)
        for level, idx in wanted:
            by_level[level].append(idx)
        clauses, params = [], []
        for lv, ixs in by_level.items():
            clauses.append(f"(level = {mark} AND idx IN ({', '.join([mark] * len(ixs))}))")
            params += [lv, *ixs]
        # Only placeholders are interpolated; every value is a bound parameter.
        sql = f"SELECT level, idx, hash FROM log_nodes WHERE {' OR '.join(clauses)}"  # noqa: S608
        found = {(lv, ix): bytes(h) for lv, ix, h in conn.exec_driver_sql(sql, tuple(params))}
        if len(found) != len(wanted):
            raise LogCorrupt(f"{len(wanted) - len(found)} stored subtrees are missing")
        return found
    return get


@dataclass
class TransparencyLog:
    db: Database
    signer: Signer
    tsas: list[TimestampAuthority]
    witnesses: tuple[WitnessSpec, ...] = ()  # asked to cosign (log/witnesses.py)

    @property
    def origin(self) -> str:
        return self.signer.name

    # -- reads --------------------------------------------------------------
    def size(self) -> int:
        with self.db.reading() as s:
            state = s.get(LogState, 1)
            return 0 if state is None else int(state.size)

    def latest_checkpoint(self) -> LogCheckpoint:
        with self.db.reading() as s:
            cp = s.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
        if cp is None:
            raise NoCheckpoint("the log has no checkpoint yet")
        return cp

    def cosigned_note(self, cp: LogCheckpoint) -> str:
        """The checkpoint with its witnesses' cosignatures: one C2SP signed note."""
        with self.db.reading() as s:
            return cp.note + cosignature_lines(s, [cp.size]).get(cp.size, "")

    def info(self) -> dict[str, Any]:
        with self.db.reading() as s:
            cp = s.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
        tsas = []
        for tsa in self.tsas:
            chain = getattr(tsa, "chain_pem", None)
            tsas.append({"name": tsa.name, "embedded": tsa.embedded,
                         "chain_pem": [p.decode() for p in chain()] if chain else []})
        return {"origin": self.origin, "vkey": self.signer.verifier.vkey(),
                "tree_size": 0 if cp is None else cp.size,
                "root": None if cp is None else b64(cp.root), "tsa": tsas}

    def checkpoints(self, start: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        limit = max(1, min(limit, 1000))
        with self.db.reading() as s:
            cps = s.scalars(select(LogCheckpoint).where(LogCheckpoint.size >= start)
                            .order_by(LogCheckpoint.size).limit(limit)).all()
            stamps = self._timestamps(s, [c.size for c in cps])
            cosigs = cosignature_lines(s, [c.size for c in cps])
        return [{"tree_size": c.size, "root": b64(c.root), "checkpoint": c.note,
                 "cosignatures": cosigs.get(c.size, ""),
                 "created_at": iso(c.created_at), "timestamps": stamps.get(c.size, [])}
                for c in cps]

    @staticmethod
    def _timestamps(s: Session, sizes: list[int]) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if not sizes:
            return out
        rows = s.scalars(select(LogTimestamp).where(LogTimestamp.checkpoint_size.in_(sizes),
                                                    LogTimestamp.token.is_not(None))
                         .order_by(LogTimestamp.id)).all()
        for t in rows:
            assert t.token is not None
            out[t.checkpoint_size].append({"tsa": t.tsa, "embedded": t.embedded,
                                           "token_b64": b64(t.token),
                                           "gen_time": iso(t.gen_time)})
        return out

    @staticmethod
    def _checked_size(s: Session, size: int) -> None:
        # Plain driver SQL, as in node_getter: the ORM's get of this one row was a
        # third of a proof's time (bench/translog.py).
        stored = s.connection().exec_driver_sql("SELECT size FROM log_state WHERE id = 1").scalar()
        if stored is None or not 0 < size <= int(stored):
            raise ProofOutOfRange(f"tree size {size} is not in the log")

    def inclusion(self, index: int, size: int) -> dict[str, Any]:
        with self.db.reading() as s:
            self._checked_size(s, size)
            if not 0 <= index < size:
                raise ProofOutOfRange(f"leaf {index} is not in a tree of size {size}")
            get = node_getter(s)
            proof = merkle.inclusion_proof(index, size, get)
            leaf = get([(0, index)])[(0, index)]
        return {"leaf_index": index, "tree_size": size, "leaf_hash": b64(leaf),
                "inclusion_proof": [b64(p) for p in proof]}

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        with self.db.reading() as s:
            self._checked_size(s, second)
            if not 0 < first <= second:
                raise ProofOutOfRange("need 0 < first <= second")
            proof = merkle.consistency_proof(first, second, node_getter(s))
        return {"first": first, "second": second, "consistency_proof": [b64(p) for p in proof]}

    def entries(self, start: int, end: int) -> dict[str, Any]:
        if not 0 <= start < end:
            raise QueryInvalid("need 0 <= start < end")
        end = min(end, start + MAX_ENTRIES_PER_CALL)
        with self.db.reading() as s:
            rows = s.execute(select(LogEntry.leaf_index, LogEntry.data)
                             .where(LogEntry.leaf_index >= start, LogEntry.leaf_index < end)
                             .order_by(LogEntry.leaf_index)).all()
        return {"entries": [{"leaf_index": i, "data": d} for i, d in rows]}

    def leaf_index_of(self, capture_id: str) -> int | None:
        """Where the capture's leaf sits in the log, once sequenced."""
        with self.db.reading() as s:
            index = s.scalar(select(LogEntry.leaf_index)
                             .where(LogEntry.capture_id == capture_id,
                                    LogEntry.kind == "capture"))
        return None if index is None else int(index)

    def receipt(self, capture_id: str) -> Receipt:
        """The first timestamped checkpoint that includes the capture, with the proof."""
        with self.db.reading() as s:
            entry = s.scalar(select(LogEntry).where(LogEntry.capture_id == capture_id,
                                                    LogEntry.kind == "capture"))
            if entry is None or entry.leaf_index is None:
                raise NotAnchored("the capture is not anchored yet")
            cp = s.scalar(
                select(LogCheckpoint)
                .where(LogCheckpoint.size > entry.leaf_index,
                       select(LogTimestamp.id).where(
                           LogTimestamp.checkpoint_size == LogCheckpoint.size,
                           LogTimestamp.token.is_not(None)).exists())
                .order_by(LogCheckpoint.size).limit(1))
            if cp is None:
                raise NotAnchored("the capture's checkpoint has no timestamp yet")
            proof = merkle.inclusion_proof(entry.leaf_index, cp.size, node_getter(s))
            stamps = s.scalars(select(LogTimestamp)
                               .where(LogTimestamp.checkpoint_size == cp.size,
                                      LogTimestamp.token.is_not(None))
                               .order_by(LogTimestamp.id)).all()
            return Receipt(
                capture_id=capture_id, origin=self.origin, leaf_index=entry.leaf_index,
                tree_size=cp.size, entry=entry.data, leaf_hash=entry.leaf_hash,
                inclusion_proof=tuple(proof), checkpoint=cp.note, checkpoint_root=cp.root,
                checkpoint_created_at=cp.created_at,
                timestamps=tuple(StampRecord(t.tsa, t.embedded, t.token or b"", t.gen_time)
                                 for t in stamps),
                cosignatures=cosignature_lines(s, [cp.size]).get(cp.size, ""))

    @staticmethod
    def mark_anchored(s: Session, size: int, start: int = 0) -> None:
        """Stored captures at leaves [start, size) of a timestamped checkpoint are anchored.

        Callers pass the size of the previous timestamped checkpoint as
        ``start``: below it everything is anchored already, and re-reading it
        would make every batch slower as the log grows.
        """
        ids = select(LogEntry.capture_id).where(LogEntry.leaf_index >= start,
                                                LogEntry.leaf_index < size,
                                                LogEntry.kind == "capture")
        # RETURNING: only the rows this statement changed get an event, so two
        # sequencers (stamp_pending runs outside the advisory lock) cannot both
        # record the same capture's change.
        changed = list(s.scalars(update(Capture)
                                 .where(Capture.status == "stored", Capture.id.in_(ids))
                                 .values(status="anchored")
                                 .returning(Capture.id)))
        if not changed:
            return
        newly = s.scalars(select(Capture).where(Capture.id.in_(changed))
                          .order_by(Capture.seq)).all()
        # A status change is a custody event too: its own leaf, in the next batch.
        for capture in newly:
            add_event(s, capture, "anchored", actor={"system": "sequencer"}, origin=SYSTEM,
                      detail={"status": "anchored", "checkpoint_size": size})

