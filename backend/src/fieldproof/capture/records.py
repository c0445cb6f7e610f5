"""A stored capture as the rest of the server sees it: a typed, immutable record.

Read from the database by capture/repository.py; it becomes JSON only in the
web layer (web/serialize.py) and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from fieldproof.core.canonical import parse_json
from fieldproof.core.checks import Check
from fieldproof.db import Capture

# EXIF members a client sees (the rest stays on the server).
PUBLIC_EXIF = ("gps_lat", "gps_lon", "datetime_original", "offset_time_original", "make",
               "model")


@dataclass(frozen=True)
class CaptureRecord:
    id: str
    user_id: int
    device_id: int
    device_key_id: str
    kind: str
    status: str
    manifest: str  # the canonical (JCS) bytes as signed, as text
    manifest_hash: str
    signature: bytes
    media_sha256: str
    media_size: int
    media_mime: str
    sniffed_mime: str | None
    object_key: str
    checks: tuple[Check, ...]
    exif: dict[str, Any]
    received_at: datetime
    stream_id: str | None
    partial: bool

    @cached_property
    def manifest_data(self) -> dict[str, Any]:
        data = parse_json(self.manifest.encode("utf-8"))
        assert isinstance(data, dict)
        return data

    @classmethod
    def of(cls, c: Capture, device_key_id: str) -> CaptureRecord:
        return cls(
            id=c.id, user_id=c.user_id, device_id=c.device_id, device_key_id=device_key_id,
            kind=c.kind, status=c.status, manifest=c.manifest, manifest_hash=c.manifest_hash,
            signature=c.signature, media_sha256=c.media_sha256, media_size=c.media_size,
            media_mime=c.media_mime, sniffed_mime=c.sniffed_mime, object_key=c.object_key,
            checks=tuple(Check(str(d["name"]), bool(d["ok"]), str(d["detail"]))
                         for d in c.checks),
            exif={k: c.exif[k] for k in PUBLIC_EXIF if k in c.exif},
            received_at=c.received_at, stream_id=c.stream_id, partial=bool(c.partial))
