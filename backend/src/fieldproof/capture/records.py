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
from fieldproof.core.manifest import parse_time
from fieldproof.core.media import exif_time
from fieldproof.core.verdict import Facts, verdict
from fieldproof.db import Capture

# EXIF members a client sees (the rest stays on the server).
PUBLIC_EXIF = ("gps_lat", "gps_lon", "datetime_original", "offset_time_original", "make",
               "model")


@dataclass(frozen=True)
class CaseRef:
    """A case a capture is an item of, and where in its evidence list."""

    id: str
    title: str
    position: int


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
    place: dict[str, Any] | None = None
    device_revoked_at: datetime | None = None
    # The owner's own words (capture/annotations.py; not signed evidence) and
    # the cases it is an item of; filled in by the repository's reads.
    title: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()
    cases: tuple[CaseRef, ...] = ()

    @cached_property
    def manifest_data(self) -> dict[str, Any]:
        data = parse_json(self.manifest.encode("utf-8"))
        assert isinstance(data, dict)
        return data

    def verdict(self) -> list[dict[str, Any]]:
        """The plain-language verdict (core/verdict.py) on this capture."""
        m = self.manifest_data
        device = m.get("device") or {}
        captured = m.get("captured") or {}
        start = captured.get("start") or m.get("started_at")
        end = _check_param(self.checks, "capture_time", "end_at") or captured.get("end")
        imported = self.kind == "import"
        made = exif_time(self.exif, str(device.get("timezone") or "")) if imported else None
        return verdict(Facts(
            kind=self.kind, received_at=self.received_at, anchored=self.status == "anchored",
            tz=str(device.get("timezone") or "UTC"),
            captured_at=parse_time(start) if start and not imported else None,
            end_at=parse_time(end) if end else None, place=self.place,
            imported_name=str((m.get("media") or {}).get("name") or "") if imported else None,
            made_at=made, device_revoked_at=self.device_revoked_at, partial=self.partial,
            flagged=sum(1 for c in self.checks if not c.ok),
            web_url=str((m.get("web") or {}).get("url") or "") or None
            if self.kind == "web" else None))

    @classmethod
    def of(cls, c: Capture, device_key_id: str,
           device_revoked_at: datetime | None = None) -> CaptureRecord:
        return cls(
            id=c.id, user_id=c.user_id, device_id=c.device_id, device_key_id=device_key_id,
            kind=c.kind, status=c.status, manifest=c.manifest, manifest_hash=c.manifest_hash,
            signature=c.signature, media_sha256=c.media_sha256, media_size=c.media_size,
            media_mime=c.media_mime, sniffed_mime=c.sniffed_mime, object_key=c.object_key,
            checks=tuple(Check(str(d["name"]), bool(d["ok"]), str(d["detail"]),
                               str(d.get("code") or ""), dict(d.get("params") or {}))
                         for d in c.checks),
            exif={k: c.exif[k] for k in PUBLIC_EXIF if k in c.exif},
            received_at=c.received_at, stream_id=c.stream_id, partial=bool(c.partial),
            place=c.place, device_revoked_at=device_revoked_at)


def _check_param(checks: tuple[Check, ...], name: str, param: str) -> str | None:
    for c in checks:
        if c.name == name and isinstance(c.params.get(param), str):
            return str(c.params[param])
    return None
