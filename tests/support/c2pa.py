"""Capture facts for content-credential tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fieldproof.core.canonical import canonicalize
from fieldproof.evidence.credentials import CaptureFacts

RECEIVED = datetime(2025, 3, 4, 1, 2, 9, 123000, tzinfo=UTC)


def facts_for(media: bytes, mime: str, *, kind: str = "photo", geo: dict[str, Any] | None = None,
              name: str | None = None, leaf_index: int | None = 41) -> CaptureFacts:
    manifest: dict[str, Any] = {
        "v": 1, "type": "fieldproof.capture", "kind": kind,
        "media": {"sha256": hashlib.sha256(media).hexdigest(), "size": len(media), "mime": mime,
                  **({"name": name} if name else {})},
        "captured": {"start": "2025-03-04T01:02:03.456Z", "end": "2025-03-04T01:02:04.000Z"},
        "nonce": "n" * 43, "geo": geo if geo is not None else {"absent": "permission_denied"},
        "device": {"key_id": "devkey-thumbprint", "user_agent": "pytest", "ua_hints": None,
                   "platform": "test", "screen": None, "app_version": "fieldproof-pwa/0.1.0",
                   "timezone": "Asia/Shanghai", "language": "zh-CN"},
        "prev": None}
    jcs = canonicalize(manifest).decode()
    return CaptureFacts(capture_id=f"cap-{kind}", kind=kind, manifest=manifest, manifest_jcs=jcs,
                        manifest_sha256=hashlib.sha256(jcs.encode()).hexdigest(),
                        media_sha256=hashlib.sha256(media).hexdigest(), media_size=len(media),
                        media_mime=mime, received_at=RECEIVED, signature_b64url="c2lnbmF0dXJl",
                        leaf_index=leaf_index,
                        log_origin=None if leaf_index is None else "fieldproof.local/log")
