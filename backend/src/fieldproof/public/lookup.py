"""Public lookup: was a file with this SHA-256 anchored, and when.

It answers anyone, without an account (the /verify page calls it), so it says
no more than the public log already does: the capture's kind, the server's
receipt time, its leaf index and the first timestamped checkpoint holding it
with its TSA genTimes. Never the owner, the device, the location, the capture
id or the file. Knowing a hash only shows that the caller holds the file (or
its hash); the leaf index, receipt time and hashes are public in
``GET /log/entries`` anyway, and the kind is what the holder of the file can
see by opening it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from fieldproof.core.manifest import iso
from fieldproof.db import Capture, Database, LogCheckpoint, LogEntry, LogTimestamp
from fieldproof.errors import HashInvalid

_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_MATCHES = 20


# --------------------------------------------------------------------------- lookup
def normalize_sha256(text: Any) -> str:
    if not isinstance(text, str) or not _HEX64.fullmatch(text.strip().lower()):
        raise HashInvalid("expected a SHA-256 as 64 hex digits")
    return text.strip().lower()


@dataclass
class Lookup:
    db: Database

    def find(self, sha256: Any) -> dict[str, Any]:
        """Anchoring facts for every capture whose media or manifest hashes to ``sha256``."""
        digest = normalize_sha256(sha256)
        with self.db.reading() as s:
            rows = s.execute(
                select(Capture.id, Capture.kind, Capture.received_at, Capture.partial,
                       Capture.media_sha256, LogEntry.leaf_index)
                .outerjoin(LogEntry, (LogEntry.capture_id == Capture.id)
                           & (LogEntry.kind == "capture"))
                .where(or_(Capture.media_sha256 == digest, Capture.manifest_hash == digest))
                .order_by(Capture.received_at, Capture.seq)
                .limit(MAX_MATCHES + 1)).all()
            matches = []
            for _cid, kind, received_at, partial, media_sha256, leaf_index in rows[:MAX_MATCHES]:
                checkpoint = None
                if leaf_index is not None:
                    # The receipt's checkpoint: the first timestamped one holding the leaf.
                    cp = s.scalar(
                        select(LogCheckpoint)
                        .where(LogCheckpoint.size > leaf_index,
                               select(LogTimestamp.id).where(
                                   LogTimestamp.checkpoint_size == LogCheckpoint.size,
                                   LogTimestamp.token.is_not(None)).exists())
                        .order_by(LogCheckpoint.size).limit(1))
                    if cp is not None:
                        stamps = s.scalars(
                            select(LogTimestamp)
                            .where(LogTimestamp.checkpoint_size == cp.size,
                                   LogTimestamp.token.is_not(None))
                            .order_by(LogTimestamp.id)).all()
                        checkpoint = {
                            "tree_size": cp.size, "created_at": iso(cp.created_at),
                            "timestamps": [{"tsa": t.tsa, "embedded": t.embedded,
                                            "gen_time": iso(t.gen_time)} for t in stamps]}
                matches.append({
                    "matched": "media" if media_sha256 == digest else "manifest",
                    "kind": kind, "partial": bool(partial),
                    "received_at": iso(received_at),
                    "anchored": checkpoint is not None,
                    "leaf_index": leaf_index,
                    "checkpoint": checkpoint})
        return {"sha256": digest, "found": bool(matches), "matches": matches,
                "truncated": len(rows) > MAX_MATCHES}


