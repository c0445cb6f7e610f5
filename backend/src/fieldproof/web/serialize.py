"""Typed records as the JSON the API answers with (and the CLI prints)."""

from __future__ import annotations

from typing import Any

from fieldproof.capture.records import CaptureRecord
from fieldproof.core.encoding import b64, b64url_encode
from fieldproof.core.manifest import iso
from fieldproof.log.log import Receipt


def capture_json(c: CaptureRecord) -> dict[str, Any]:
    """GET /api/v1/captures/{id}; `fieldproof client capture --json` prints the same."""
    return {
        "id": c.id,
        "kind": c.kind,
        "status": c.status,
        "media": {"sha256": c.media_sha256, "size": c.media_size, "mime": c.media_mime,
                  "sniffed_mime": c.sniffed_mime},
        "manifest": c.manifest_data,
        "manifest_hash": c.manifest_hash,
        "signature": b64url_encode(c.signature),
        "device": {"key_id": c.device_key_id},
        "checks": [ch.as_dict() for ch in c.checks],
        "exif": c.exif,
        "received_at": iso(c.received_at),
        "stream": None if c.stream_id is None else {"id": c.stream_id, "partial": c.partial},
    }


def receipt_json(r: Receipt) -> dict[str, Any]:
    """GET /api/v1/captures/{id}/receipt."""
    return {"capture_id": r.capture_id, "origin": r.origin, "leaf_index": r.leaf_index,
            "tree_size": r.tree_size, "entry": r.entry, "leaf_hash": b64(r.leaf_hash),
            "inclusion_proof": [b64(p) for p in r.inclusion_proof], "checkpoint": r.checkpoint,
            "checkpoint_created_at": iso(r.checkpoint_created_at),
            "timestamps": [{"tsa": t.tsa, "embedded": t.embedded, "token_b64": b64(t.token),
                            "gen_time": iso(t.gen_time)} for t in r.timestamps]}
