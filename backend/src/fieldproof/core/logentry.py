"""What a log leaf says: hashes, key ids and event names, no personal data.

Two leaf types share the log: ``fieldproof.capture`` (one per accepted capture)
and ``fieldproof.custody`` (one per chain-of-custody event: a read of a capture
or a change of its status). A custody leaf holds only the SHA-256 of the full
event record, which names the capture, the event, who, when and from where and
carries a random salt; the record travels in the evidence bundle
(custody.jsonl), not in the log.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from fieldproof.core.canonical import canonicalize, parse_json
from fieldproof.core.encoding import b64url_encode
from fieldproof.errors import EntryInvalid

CAPTURE_ENTRY = "fieldproof.capture"
CUSTODY_ENTRY = "fieldproof.custody"
CUSTODY_RECORD = "fieldproof.custody-record"
# What a custody event can be: reads of the capture, then status changes.
CUSTODY_EVENTS = frozenset({"view", "download", "derive", "export", "anchored", "preview",
                            "certificate", "annotate", "confirm", "abandon"})


def capture_entry(*, manifest_sha256: str, signature: bytes, key_id: str, media_sha256: str,
                  received_at: datetime, stream: dict[str, Any] | None = None) -> bytes:
    """The canonical (JCS) leaf data for an accepted capture.

    ``stream`` (live recordings): {"id", "chunks", "chain_head", "partial"} and,
    for a partial one, "last_chunk_signature": the device's signature on the
    chunk header that carries the chain head, which proves every byte kept.
    """
    extra = {"stream": stream} if stream is not None else {}
    return canonicalize({**extra,
        "v": 1,
        "type": CAPTURE_ENTRY,
        "manifest_sha256": manifest_sha256,
        "signature": b64url_encode(signature),
        "key_id": key_id,
        "media_sha256": media_sha256,
        "received_at": _utc(received_at),
    })


def custody_record(*, capture_id: str, manifest_sha256: str, event: str, at: datetime,
                   actor: dict[str, Any], origin: dict[str, Any], detail: dict[str, Any],
                   salt: str, prev: str | None) -> bytes:
    """The canonical (JCS) full record of one custody event.

    ``actor``: who ({"user_id", "email"}, or {"system": ...} for status changes);
    ``origin``: from where ({"ip", "user_agent"}, empty for the server itself);
    ``detail``: what exactly (a byte range, a derived variant, a new status);
    ``prev``: :func:`chain_hash` of the capture's previous record, None for its
    first. It chains the capture's records, so the bundle's custody.jsonl
    cannot lose or reorder a line unnoticed (records made before the chain
    existed have no ``prev`` member and are reported as not chained).
    """
    if event not in CUSTODY_EVENTS:
        raise ValueError(f"unknown custody event {event!r}")
    return canonicalize({
        "v": 1, "type": CUSTODY_RECORD, "capture_id": capture_id,
        "manifest_sha256": manifest_sha256, "event": event, "at": _utc(at),
        "actor": actor, "origin": origin, "detail": detail, "salt": salt, "prev": prev})


def chain_hash(record: bytes) -> str:
    """What the next record's ``prev`` names: SHA-256 (hex) of this record's exact
    log-entry bytes, ``custody_entry(record)``, the leaf data in the log."""
    return hashlib.sha256(custody_entry(record)).hexdigest()


def custody_entry(record: bytes) -> bytes:
    """The canonical leaf data for a custody record: only the record's hash.

    Not even the capture, the event or its time: the log is public, and those
    would publish when its owner viewed or exported a capture. The record (with
    its random salt) binds them; the bundle carries it.
    """
    return canonicalize({"v": 1, "type": CUSTODY_ENTRY,
                         "record_sha256": hashlib.sha256(record).hexdigest()})


def _utc(at: datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_entry(data: bytes) -> dict[str, Any]:
    """Parse leaf data and insist it is canonical (it is what was hashed)."""
    value = parse_json(data)
    if not isinstance(value, dict) or canonicalize(value) != data:

        raise EntryInvalid("log entry is not canonical JSON")
    return value
