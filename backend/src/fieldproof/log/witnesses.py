"""The log asks its witnesses to cosign each new checkpoint (C2SP tlog-witness).

After a batch is committed the sequencer calls :meth:`Witnesses.cosign_latest`:
each configured witness gets the newest checkpoint with a consistency proof
from the size it cosigned last (the newest checkpoint holding its
cosignature; a 409 answer names the size it really has, and the request is
made once more from there). Each returned line is checked against the
witness's pinned key before it is stored in ``log_cosignatures``.

A witness that is down or refuses never stops the log: the checkpoint stays
uncosigned by it, the failure is logged with its code, and the witness is
tried again, with backoff, at the newest checkpoint of a later tick. A
witness that refuses with a conflict it cannot explain (a size larger than
the log's, or a different root) is logged as an error: either the witness is
broken or this log's history was rewritten.

Cosignatures are served appended to the log's note (``/log/checkpoint``, the
tiles' ``checkpoint``), listed with each checkpoint, and carried in receipts
and bundles; the RFC 3161 tokens stay over the log's own note.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from fieldproof.config import WitnessSpec
from fieldproof.core import merkle
from fieldproof.core.cosignature import AddCheckpoint, CosignerKey
from fieldproof.db import Database, LogCheckpoint, LogCosignature
from fieldproof.errors import FieldProofError, ProofError, WitnessConflict, WitnessUnavailable
from fieldproof.log.log import node_getter

log = logging.getLogger(__name__)
MAX_REPLY = 64 * 1024


@dataclass
class _Witness:
    url: str  # as configured: it may hold credentials, never logged
    public_url: str
    key: CosignerKey
    failures: int = 0
    next_try: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Witnesses:
    def __init__(self, db: Database, specs: Iterable[WitnessSpec], *, timeout: float = 5.0,
                 retry_max: float = 300.0) -> None:
        self.db = db
        self.timeout = timeout
        self.retry_max = retry_max
        self.witnesses = [_Witness(s.url, s.public_url, CosignerKey.parse(s.vkey))
                          for s in specs]
        names = [w.key.name for w in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError("two configured witnesses share a name")

    def __bool__(self) -> bool:
        return bool(self.witnesses)


    def cosign_latest(self) -> int:
        """Ask every witness due for a cosignature on the newest checkpoint; returns how many."""
        with self.db.reading() as s:
            cp = s.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
            if cp is None:
                return 0
            size, note = cp.size, cp.note.encode("utf-8")
            have = set(s.scalars(select(LogCosignature.witness)
                                 .where(LogCosignature.checkpoint_size == size)))
        got = 0
        now = time.monotonic()
        for w in self.witnesses:
            if w.key.name in have or now < w.next_try or not w.lock.acquire(blocking=False):
                continue
            try:
                self._cosign(w, size, note)
                w.failures, w.next_try = 0, 0.0
                got += 1
            except FieldProofError as exc:
                w.failures += 1
                delay = min(self.retry_max, 2.0 ** w.failures)
                w.next_try = time.monotonic() + delay
                level = logging.ERROR if exc.code in ("witness_conflict", "proof_invalid") \
                    else logging.WARNING
                log.log(level, "witness %s did not cosign checkpoint %d: %s (%s); "
                        "retry in %.0f s", w.key.name, size, exc.code, exc.detail, delay)
            finally:
                w.lock.release()
        return got

    def _last_cosigned(self, w: _Witness) -> int:
        with self.db.reading() as s:
            return int(s.scalar(select(func.max(LogCosignature.checkpoint_size))
                                .where(LogCosignature.witness == w.key.name)) or 0)

    def _proof(self, old: int, size: int) -> tuple[bytes, ...]:
        if old == 0 or old == size:
            return ()
        with self.db.reading() as s:
            return tuple(merkle.consistency_proof(old, size, node_getter(s)))

    def _cosign(self, w: _Witness, size: int, note: bytes) -> None:
        old = self._last_cosigned(w)
        if old > size:
            raise WitnessUnavailable(f"we hold its cosignature on {old} > newest {size}")
        status, body = self._post(w, AddCheckpoint(old, self._proof(old, size), note))
        if status == 409:
            theirs = _size(body)
            if theirs is None or theirs > size or theirs == old:
                raise WitnessConflict(f"it holds size {theirs}; the log's newest is {size}",
                                      size=theirs)
            status, body = self._post(w, AddCheckpoint(theirs, self._proof(theirs, size), note))
        if status != 200:
            raise _refusal(status, body)
        lines = body.decode("utf-8", "replace").splitlines(keepends=True)
        mine = [ln for ln in lines if ln.startswith(f"\u2014 {w.key.name} ")]
        for line in mine:
            stamp = w.key.timestamp(note + line.encode("utf-8"))
            if stamp is None:
                continue  # our name, another key: ignored, as the spec says
            with self.db.session() as s:
                if s.get(LogCosignature, (size, w.key.name)) is None:
                    s.add(LogCosignature(checkpoint_size=size, witness=w.key.name, line=line,
                                         cosigned_at=datetime.fromtimestamp(stamp, UTC)))
            log.info("witness %s cosigned checkpoint %d", w.key.name, size)
            return
        raise WitnessUnavailable("its answer holds no cosignature by its pinned key")

    def _post(self, w: _Witness, req: AddCheckpoint) -> tuple[int, bytes]:
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client, \
                    client.stream("POST", f"{w.url}/add-checkpoint", content=req.encode(),
                                  headers={"Content-Type": "text/plain"}) as resp:
                body = b""
                for part in resp.iter_bytes():
                    body += part
                    if len(body) > MAX_REPLY:
                        raise WitnessUnavailable("its answer is too large")
                return resp.status_code, body
        except httpx.HTTPError as exc:
            raise WitnessUnavailable(f"{type(exc).__name__} talking to {w.public_url}") from exc


def _size(body: bytes) -> int | None:
    text = body.decode("ascii", "replace")
    return int(text) if text.endswith("\n") and text[:-1].isdigit() else None


def _refusal(status: int, body: bytes) -> FieldProofError:
    if status == 422:
        return ProofError("the witness found the consistency proof invalid")
    if status == 409:
        return WitnessConflict("the witness holds a different tree of that size", size=None)
    return WitnessUnavailable(f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
