"""Checks recorded on every capture.

A rejected claim raises an error (the capture is not stored). Everything else
becomes a :class:`Check`: a discrepancy is flagged with ``ok=False`` and kept,
because an imported file or a phone with a wrong clock can legitimately differ
and a court should see both the evidence and the doubt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fieldproof.core.manifest import utc_text
from fieldproof.core.texts import say


@dataclass(frozen=True)
class Check:
    """One check: what it is (``name``), whether it passed, and why, as a stable
    ``code`` with ``params`` (shared/i18n/server.json) and in English (``detail``)."""

    name: str
    ok: bool
    detail: str
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, ok: bool, code: str, **params: Any) -> Check:
        """A check whose English detail is rendered from the shared catalogue."""
        return cls(name, ok, say("code", code, params), code, params)

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its recursive deep copy was half the cost of
        # listing 200 captures (nine checks each). params hold JSON scalars.
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "code": self.code,
                "params": dict(self.params)}


@dataclass(frozen=True)
class CheckList:
    """A capture's checks in their documented order (shared/PROTOCOL.md).

    Everything is known before the capture is stored except ``device_chain``,
    which is decided inside the transaction that commits it (the device's
    latest manifest may move meanwhile); it goes right after ``nonce``.
    """

    before_chain: tuple[Check, ...]  # schema, signature, nonce
    after_chain: tuple[Check, ...]

    def with_chain(self, chain: Check) -> list[Check]:
        return [*self.before_chain, chain, *self.after_chain]


# Container families: the sniffer sees the container, a recorder names the
# codec. "audio/webm;codecs=opus" and "video/webm" are the same container.
_FAMILIES = {
    "webm": {"video/webm", "audio/webm", "video/x-matroska", "audio/x-matroska"},
    "mp4": {"video/mp4", "audio/mp4", "audio/x-m4a", "audio/m4a", "video/quicktime",
            "audio/aac", "video/x-m4v"},
    "ogg": {"audio/ogg", "video/ogg", "application/ogg", "audio/opus"},
    "wav": {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"},
    "mpeg": {"audio/mpeg", "audio/mp3"},
    "jpeg": {"image/jpeg", "image/jpg", "image/pjpeg"},
}


def base_mime(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower()


def same_container(claimed: str, sniffed: str) -> bool:
    a, b = base_mime(claimed), base_mime(sniffed)
    if a == b:
        return True
    return any(a in fam and b in fam for fam in _FAMILIES.values())


def mime_check(claimed: str, sniffed: str | None) -> Check:
    if sniffed is None:
        return Check.of("mime_sniff", False, "mime_sniff.unknown", claimed=claimed)
    if same_container(claimed, sniffed):
        return Check.of("mime_sniff", True, "mime_sniff.match", claimed=claimed,
                        sniffed=sniffed)
    return Check.of("mime_sniff", False, "mime_sniff.mismatch", claimed=claimed,
                    sniffed=sniffed)


_KIND_PREFIX = {"photo": ("image/",), "audio": ("audio/", "video/webm", "video/mp4",
                                                "application/ogg"),
                "video": ("video/",), "screen": ("video/",), "web": ("video/",)}


def kind_check(kind: str, mime: str) -> Check:
    prefixes = _KIND_PREFIX.get(kind)
    if prefixes is None:  # imports may be any file
        return Check.of("kind_mime", True, "kind_mime.import", mime=mime)
    ok = base_mime(mime).startswith(prefixes)
    return Check.of("kind_mime", ok, "kind_mime.declared", kind=kind, mime=mime)


def capture_time_check(start: datetime, end: datetime, nonce_issued: datetime,
                       received: datetime, *, skew: timedelta) -> Check:
    """The device clock against what the server knows for sure.

    The nonce proves the capture began after ``nonce_issued``; the upload
    proves it ended before ``received``. Clocks drift, hence ``skew``.
    """
    t = {"start_at": utc_text(start), "end_at": utc_text(end),
         "issued_at": utc_text(nonce_issued), "received_at": utc_text(received)}
    problems = []
    if end < start:
        problems.append("capture_time.end_before_start")
    if start < nonce_issued - skew:
        problems.append("capture_time.before_nonce")
    if end > received + skew:
        problems.append("capture_time.after_receipt")
    if problems:
        # The first problem names the check; the English detail lists them all.
        detail = "; ".join(say("code", p, t) for p in problems)
        return Check("capture_time", False, detail, problems[0],
                     {**t, "problems": problems})
    return Check.of("capture_time", True, "capture_time.ok", **t,
                    tolerance_s=int(skew.total_seconds()))


CALL_TIME_TOLERANCE = timedelta(minutes=15)


def call_time_check(claimed: datetime, file_time: datetime | None, *,
                    tolerance: timedelta = CALL_TIME_TOLERANCE) -> Check:
    """An imported call recording: the time the file's container says it was made
    against the call time the person claimed. Flagged, never refused: a phone's
    clock, or an app that re-saves the file, can move it; a court weighs it."""
    t = {"claimed_at": utc_text(claimed)}
    if file_time is None:
        return Check.of("call_time", True, "call_time.none", **t)
    diff = round((file_time - claimed).total_seconds())
    params = {**t, "file_at": utc_text(file_time), "diff_s": diff,
              "tolerance_s": int(tolerance.total_seconds())}
    if abs(diff) <= tolerance.total_seconds():
        return Check.of("call_time", True, "call_time.match", **params)
    return Check.of("call_time", False, "call_time.mismatch", **params)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))
