"""The completeness statement of a capture (core/continuity.py), from its stream's
rows and its media: what the detail view, the certificate and the API show."""

from __future__ import annotations

import os
from collections import OrderedDict
from threading import Lock
from typing import Any

from sqlalchemy import select

from fieldproof.capture.records import CaptureRecord
from fieldproof.core.canonical import parse_json
from fieldproof.core.continuity import chunk_times, continuity
from fieldproof.core.manifest import parse_time
from fieldproof.db import Database, Stream, StreamChunk
from fieldproof.evidence.remux import probe
from fieldproof.storage import ObjectStore
from fieldproof.storage.tmpfiles import locked_mkstemp

CACHE = 256  # media durations kept, by SHA-256 (an original never changes)


class Continuity:
    def __init__(self, db: Database, store: ObjectStore) -> None:
        self.db = db
        self.store = store
        self._durations: OrderedDict[str, int | None] = OrderedDict()
        self._lock = Lock()

    def of(self, capture: CaptureRecord) -> dict[str, Any] | None:
        """The statement for a recording (None for a photo)."""
        mime = (capture.sniffed_mime or capture.media_mime).split(";")[0]
        if not mime.startswith(("audio/", "video/")) and capture.kind not in (
                "audio", "video", "screen", "web"):
            return None
        media_ms = self.media_ms(capture)
        manifest = capture.manifest_data
        if capture.stream_id is None:  # uploaded whole: the device's start and end only
            start = manifest["captured"]["start"]
            end = manifest["captured"]["end"]
            wall = round((parse_time(end) - parse_time(start)).total_seconds() * 1000)
            return {"streamed": False, "device_start": start, "device_end": end,
                    "wall_ms": max(0, wall), "recorded_ms": media_ms, "chunks": 0,
                    "interval_ms": 0, "gaps": [], "paused_ms": 0, "clock_backwards": 0,
                    "ended": "stopped", "continues": None, "continued_by": [],
                    "continuous": None}
        with self.db.reading() as s:
            stream = s.get(Stream, capture.stream_id)
            assert stream is not None
            rows = s.execute(select(StreamChunk.header, StreamChunk.received_at)
                             .where(StreamChunk.stream_id == stream.id)
                             .order_by(StreamChunk.seq)).all()
            header = parse_json(stream.header.encode("utf-8"))
            continues = header.get("continues")
            prior = s.scalar(select(Stream.capture_id).where(Stream.id == continues)) \
                if continues else None
            # the streams that name this one in "continues" (the device's, after it)
            later = s.scalars(select(Stream.capture_id).where(
                Stream.device_id == stream.device_id, Stream.created_at >= stream.created_at,
                Stream.header.contains(f'"continues":"{stream.id}"'))).all()
            status = stream.status
        headers = [parse_json(h.encode("utf-8")) for h, _ in rows]
        end = manifest.get("captured", {}).get("end") if status == "complete" else None
        return {"streamed": True, **continuity(
            started_at=header["started_at"],
            chunks=chunk_times(headers, [r for _, r in rows]),
            ended="stopped" if status == "complete" else "interrupted", ended_at=end,
            continues=prior or (continues and f"stream:{continues}"),
            continued_by=[c for c in later if c], media_ms=media_ms)}

    def media_ms(self, capture: CaptureRecord) -> int | None:
        with self._lock:
            if capture.media_sha256 in self._durations:
                return self._durations[capture.media_sha256]
        # a locked temp file in the store's tmp dir: the sweeper leaves it alone while
        # it is in use and removes it if this process dies
        fd, path = locked_mkstemp(self.store.tmp_dir, "duration-")  # type: ignore[attr-defined]
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                for block in self.store.iter_range(capture.object_key):
                    f.write(block)
            ms = probe(path).duration_ms  # FFmpeg in its isolated child, never here
        finally:
            path.unlink(missing_ok=True)
            os.close(fd)
        with self._lock:
            self._durations[capture.media_sha256] = ms
            while len(self._durations) > CACHE:
                self._durations.popitem(last=False)
        return ms
