"""What a log leaf says about a capture: hashes and a key id, no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .canonical import canonicalize, parse_json
from .keys import b64url_encode

CAPTURE_ENTRY = "fieldproof.capture"


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
        "received_at": received_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
    })


def parse_entry(data: bytes) -> dict[str, Any]:
    """Parse leaf data and insist it is canonical (it is what was hashed)."""
    value = parse_json(data)
    if not isinstance(value, dict) or canonicalize(value) != data:
        from ..errors import BadRequest

        raise BadRequest("log entry is not canonical JSON", code="entry_invalid")
    return value
