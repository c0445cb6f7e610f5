"""Chain of custody: every read of a capture and every status change is an event,
kept in full in the database and appended as its own leaf to the transparency log.

An event is written (and committed) before the read it records is served, so
no read goes unrecorded; its leaf is anchored by the sequencer like any other.
The full record (who, from where) stays private; the leaf commits to its hash
(core/logentry.py). The evidence bundle carries the records and their proofs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldproof.accounts.accounts import Principal
from fieldproof.core import merkle
from fieldproof.core.canonical import canonicalize, parse_json
from fieldproof.core.logentry import chain_hash, custody_entry, custody_record
from fieldproof.db import Capture, CustodyEvent, Database, LogEntry
from fieldproof.db.models import utcnow
from fieldproof.errors import CustodyChainConflict

MAX_USER_AGENT = 256


class CaptureRef(Protocol):
    """What custody needs to know of a capture (a row or a CaptureRecord)."""

    @property
    def id(self) -> str: ...

    @property
    def manifest_hash(self) -> str: ...


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the web layer saw it."""

    ip: str | None = None
    user_agent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.ip:
            out["ip"] = self.ip
        if self.user_agent:
            out["user_agent"] = self.user_agent[:MAX_USER_AGENT]
        return out


SYSTEM = Origin()


def add_event(s: Session, capture: CaptureRef, event: str, *, actor: dict[str, Any],
              origin: Origin, detail: dict[str, Any] | None = None,
              at: datetime | None = None) -> CustodyEvent:
    """Add one event and its queued log leaf to the session's transaction."""
    head = lock_chain(s, capture.id)
    return add_prepared(s, prepare_event(capture, event, actor=actor, origin=origin,
                                         detail=detail, at=at, prev=head))


def chain_head(s: Session, capture_id: str) -> str | None:
    """The ``prev`` the capture's next record names: the chain hash of its last
    record in log order, None before its first."""
    last = s.scalar(select(CustodyEvent.record).where(CustodyEvent.capture_id == capture_id)
                    .order_by(CustodyEvent.entry_seq.desc()).limit(1))
    return None if last is None else chain_hash(last.encode("utf-8"))


def lock_chain(s: Session, capture_id: str) -> str | None:
    """Lock the capture's row until the transaction ends, then read its chain head.

    Two events of one capture committed at once would otherwise both name the
    same ``prev`` (a fork). PostgreSQL makes the second wait here, and its
    next statement sees the first one's record; SQLite has one writer at a time.
    """
    s.execute(select(Capture.seq).where(Capture.id == capture_id).with_for_update())
    return chain_head(s, capture_id)


@dataclass(frozen=True)
class PreparedEvent:
    """A custody record made before the read it describes is complete."""

    capture_id: str
    event: str
    at: datetime
    record: bytes  # canonical JSON, exactly as it will be kept and proven
    actor: dict[str, Any]
    prev: str | None  # the chain head it was made on


def prepare_event(capture: CaptureRef, event: str, *, actor: dict[str, Any], origin: Origin,
                  detail: dict[str, Any] | None = None,
                  at: datetime | None = None, prev: str | None) -> PreparedEvent:
    at = at or utcnow()
    record = custody_record(capture_id=capture.id, manifest_sha256=capture.manifest_hash,
                            event=event, at=at, actor=actor, origin=origin.as_dict(),
                            detail=detail or {}, salt=secrets.token_hex(16), prev=prev)
    return PreparedEvent(capture.id, event, at, record, actor, prev)


def add_prepared(s: Session, ev: PreparedEvent, *, rebind: bool = False) -> CustodyEvent:
    """Add a prepared event. If another event of its capture was recorded since
    it was made (its ``prev`` is no longer the head): with ``rebind``, its record
    is remade on the new head (nobody has seen it yet), else CustodyChainConflict
    (the record was already shown, as an export's is in its bundle)."""
    head = lock_chain(s, ev.capture_id)
    if head != ev.prev:
        if not rebind:
            raise CustodyChainConflict(
                f"another custody event of capture {ev.capture_id} was recorded first")
        ev = replace(ev, prev=head,
                     record=canonicalize({**parse_json(ev.record), "prev": head}))
    entry = LogEntry.for_data(kind="custody", capture_id=ev.capture_id,
                              data=custody_entry(ev.record))
    s.add(entry)
    s.flush()  # assigns entry.seq
    row = CustodyEvent(capture_id=ev.capture_id, event=ev.event,
                       record=ev.record.decode("utf-8"), at=ev.at, entry_seq=entry.seq)
    s.add(row)
    return row


def actor_of(principal: Principal | dict[str, Any]) -> dict[str, Any]:
    """Who acted: a signed-in account, or an actor given as is (a share link:
    ``{"share": id, "label": ...}``; the server: ``{"system": ...}``)."""
    if isinstance(principal, dict):
        return principal
    return {"user_id": principal.user_id, "email": principal.email}


class Custody:
    # Repeated reads of one kind by one account within this many seconds are one
    # event (the first): a video player's range requests, an app polling for a
    # status. Without it every read would be a log leaf, a checkpoint and a call
    # to each TSA, which any signed-in user could drive in a loop.
    COALESCE_SECONDS = 60.0
    # A gallery shows thumbnails again and again: one preview event a day is
    # enough to say the account looked at it.
    COALESCE_BY_EVENT: ClassVar[dict[str, float]] = {"preview": 86400.0}
    # An export's record names the chain head it was made on and is in its
    # bundle before it is committed; when another event of the capture lands
    # first, the bundle is written again, at most this many times.
    RETRIES = 5

    def __init__(self, db: Database, on_new: Callable[[], None] | None = None) -> None:
        self.db = db
        self.on_new = on_new or (lambda: None)

    def record(self, principal: Principal | dict[str, Any], capture: CaptureRef, event: str, *,
               origin: Origin, detail: dict[str, Any] | None = None) -> None:
        """Record a read by ``principal`` (already authorized), or by an actor
        given as a dict (:func:`actor_of`), and commit it."""
        prepared = self.prepare(principal, capture, event, origin=origin, detail=detail)
        if prepared is not None:
            self.commit(prepared, rebind=True)

    def prepare(self, principal: Principal | dict[str, Any], capture: CaptureRef, event: str,
                *, origin: Origin,
                detail: dict[str, Any] | None = None) -> PreparedEvent | None:
        """The record of a read about to happen, or None if a recent one already
        covers it (the same account, the same kind of read, within COALESCE_SECONDS)."""
        actor = actor_of(principal)
        with self.db.reading() as s:
            since = utcnow() - timedelta(
                seconds=self.COALESCE_BY_EVENT.get(event, self.COALESCE_SECONDS))
            recent = s.scalars(select(CustodyEvent.record).where(
                CustodyEvent.capture_id == capture.id, CustodyEvent.event == event,
                CustodyEvent.at >= since)).all()
            head = chain_head(s, capture.id)
        if any(parse_json(r.encode("utf-8")).get("actor") == actor for r in recent):
            return None
        return prepare_event(capture, event, actor=actor, origin=origin, detail=detail,
                             prev=head)

    def commit(self, prepared: PreparedEvent, *, rebind: bool = False) -> None:
        """Commit a prepared event (``rebind``: see :func:`add_prepared`)."""
        with self.db.session() as s:
            add_prepared(s, prepared, rebind=rebind)
        self.on_new()

    def timeline(self, capture: CaptureRef) -> list[dict[str, Any]]:
        """The capture's custody events in log order, with their log positions.

        Log order is the order of the queued leaves (``entry_seq``), which the
        sequencer keeps; event times can interleave across concurrent requests.
        """
        with self.db.reading() as s:
            rows = s.execute(select(CustodyEvent, LogEntry.leaf_index)
                             .join(LogEntry, LogEntry.seq == CustodyEvent.entry_seq)
                             .where(CustodyEvent.capture_id == capture.id)
                             .order_by(CustodyEvent.entry_seq)).all()
        out = []
        for ev, leaf_index in rows:
            rec = parse_json(ev.record.encode("utf-8"))
            out.append({"event": ev.event, "at": rec["at"], "actor": rec["actor"],
                        "origin": rec["origin"], "detail": rec["detail"],
                        "leaf_index": leaf_index})
        return out

    def bundle_lines(self, capture_id: str, tree_size: int | None,
                     getter: Callable[[Session], merkle.GetNodes]) -> list[dict[str, Any]]:
        """custody.jsonl: each record with its leaf index and, when the leaf is
        inside ``tree_size``, its inclusion proof to that tree."""
        with self.db.reading() as s:
            rows = s.execute(select(CustodyEvent.record, LogEntry.leaf_index)
                             .join(LogEntry, LogEntry.seq == CustodyEvent.entry_seq)
                             .where(CustodyEvent.capture_id == capture_id)
                             .order_by(CustodyEvent.entry_seq)).all()
            nodes = getter(s)
            lines = []
            for record, leaf_index in rows:
                line: dict[str, Any] = {"record": record, "leaf_index": leaf_index}
                if leaf_index is not None and tree_size is not None and leaf_index < tree_size:
                    line["inclusion_proof"] = [
                        _b64(p) for p in merkle.inclusion_proof(leaf_index, tree_size, nodes)]
                lines.append(line)
        return lines


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()
