"""Helpers to speak protocol v2 by hand in tests (no client library shortcuts)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fieldproof.core.canonical import canonicalize
from fieldproof.core.manifest import new_manifest, utc_text
from fieldproof.core.stream import chunk_header
from tests.support.accounts import DeviceKey

NS = "/streams"
DEVICE = {"user_agent": "pytest", "ua_hints": None, "platform": "test", "screen": None,
          "app_version": "tests/0", "timezone": "UTC", "language": "en"}


class HandStream:
    """Builds signed stream messages for one recording."""

    def __init__(self, device: DeviceKey, nonce: str, *, kind: str = "audio",
                 mime: str = "audio/webm", prev: str | None = None,
                 continues: str | None = None, started: datetime | None = None,
                 context: dict[str, Any] | None = None) -> None:
        self.device = device
        self.started = started or datetime.now(UTC)
        self.header: dict[str, Any] = {
            "v": 2, "type": "fieldproof.stream", "kind": kind, "mime": mime, "nonce": nonce,
            "started_at": utc_text(self.started), "geo": {"absent": "permission_denied"},
            "device": {"key_id": device.key_id, **DEVICE}, "prev": prev}
        if continues:
            self.header["continues"] = continues
        if context:
            self.header["context"] = context
        self.header_bytes = canonicalize(self.header)
        self.id = hashlib.sha256(self.header_bytes).hexdigest()
        self.chains = [bytes.fromhex(self.id)]
        self.data: list[bytes] = []

    def start_msg(self) -> dict[str, Any]:
        return {"header": self.header_bytes.decode(), "signature": self.device.sign(
            self.header_bytes)}

    def chunk_msg(self, seq: int, data: bytes, *, signer: DeviceKey | None = None,
                  geo: dict[str, Any] | None = None,
                  at: datetime | None = None) -> dict[str, Any]:
        head, chain = chunk_header(stream_id=self.id, seq=seq, data=data,
                                   prev_chain=self.chains[min(seq, len(self.chains) - 1)],
                                   at=at or datetime.now(UTC), geo=geo)
        if seq == len(self.chains) - 1:
            self.chains.append(chain)
            self.data.append(data)
        raw = canonicalize(head)
        return {"header": raw.decode(), "data": data,
                "signature": (signer or self.device).sign(raw)}

    def stop_msg(self, *, chunks: int | None = None,
                 end: datetime | None = None) -> dict[str, Any]:
        media = b"".join(self.data)
        n = len(self.data) if chunks is None else chunks
        m = new_manifest(kind=self.header["kind"], sha256=hashlib.sha256(media).hexdigest(),
                         size=len(media), mime=self.header["mime"], start=self.started,
                         end=end or datetime.now(UTC), nonce=self.header["nonce"],
                         key_id=self.device.key_id, prev=self.header["prev"], device=DEVICE,
                         geo_absent="permission_denied")
        m["stream"] = {"id": self.id, "chunks": n, "chain_head": self.chains[n].hex()}
        if "context" in self.header:
            m["context"] = self.header["context"]
        raw = canonicalize(m)
        return {"stream_id": self.id, "manifest": raw.decode(),
                "signature": self.device.sign(raw)}
