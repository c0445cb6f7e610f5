"""Derived copies of a photo: new files, each hashed and linked to the original.

The original object is only ever read. Two variants exist:

- ``display``: the original JPEG with the *signed* facts written into EXIF
  (the manifest's GPS fix, and the capture time in the device's time zone).
  Every other EXIF tag of the original is kept.
- ``privacy``: the original JPEG with EXIF, XMP, IPTC, comments and anything
  after the end-of-image marker removed, for sharing.

Both are pure functions of the original bytes and the manifest, so the same
capture always derives to the same bytes (and the same SHA-256).

A third variant, ``c2pa``, is the original with C2PA Content Credentials
embedded (services/credentials.py), for any capture whose container c2pa
supports (JPEG, PNG, WebP, MP4/M4A/MOV, WAV, MP3, ...); WebM, Matroska and
Ogg recordings become an MP4 first (stream copy where MP4 takes the codec,
else a transcode; services/remux.py), the derivation recorded in the
manifest. It is signed and timestamped anew on each request, so it is not
deterministic.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import piexif

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.config import Settings
from fieldproof.core.manifest import parse_time
from fieldproof.errors import (
    C2paUnavailable,
    FieldProofError,
    IntegrityFailure,
    NotAPhoto,
    NotFound,
    NoThumbnail,
    RateLimited,
    TooLarge,
    UnsupportedFormat,
)
from fieldproof.evidence import thumbnails
from fieldproof.evidence.credentials import (
    CaptureFacts,
    c2pa_format,
    credential_filename,
    supported,
    write_credential_copy,
)
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.log.log import TransparencyLog
from fieldproof.storage import ObjectStore
from fieldproof.storage.tmpfiles import locked_mkstemp
from fieldproof.tsa import EmbeddedTSA, HttpTSA, in_signing_order

log = logging.getLogger(__name__)

VARIANTS = ("display", "privacy")  # pure JPEG derivations (derive_bytes)
THUMBNAIL_VARIANT = "thumbnail"  # any photo, video or recording: what a list shows
CREDENTIAL_VARIANT = "c2pa"  # content credentials: Deriver.credential
ALL_VARIANTS = (*VARIANTS, CREDENTIAL_VARIANT, THUMBNAIL_VARIANT)
MAX_DERIVE_BYTES = 64 << 20  # derived copies are built in memory
MAX_CREDENTIAL_BYTES = 4 * MAX_DERIVE_BYTES  # a transcode may grow; beyond this, refuse
CREDENTIAL_SLOTS = 2
CREDENTIAL_WAIT_SECONDS = 120.0
_CREDENTIAL_SLOTS = threading.BoundedSemaphore(CREDENTIAL_SLOTS)
_SECONDS_DENOM = 10000  # GPS seconds to 1/10000 s (about 3 mm)


@dataclass(frozen=True)
class Derived:
    variant: str
    data: bytes
    sha256: str
    original_sha256: str
    filename: str
    mime: str = "image/jpeg"  # the body's media type (c2pa: the original's, or MP4)


__all__ = ["ALL_VARIANTS", "CREDENTIAL_VARIANT", "VARIANTS", "Derived", "Deriver",
           "UnsupportedFormat", "check_derivable", "derive_bytes", "derive_capture",
           "read_original"]


# ----------------------------------------------------------------- pure part
def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    units = round(abs(value) * 3600 * _SECONDS_DENOM)  # integer math: deterministic
    deg, rest = divmod(units, 3600 * _SECONDS_DENOM)
    minutes, sec = divmod(rest, 60 * _SECONDS_DENOM)
    return ((deg, 1), (minutes, 1), (sec, _SECONDS_DENOM))


def _offset_text(dt: datetime) -> str:
    off = dt.utcoffset()
    total = int(off.total_seconds()) if off is not None else 0
    sign = "-" if total < 0 else "+"
    hh, mm = divmod(abs(total) // 60, 60)
    return f"{sign}{hh:02d}:{mm:02d}"


def _local_start(manifest: dict[str, Any]) -> datetime:
    start = parse_time(manifest["captured"]["start"])
    tz_name = str((manifest.get("device") or {}).get("timezone") or "")
    try:
        tz: Any = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return start.astimezone(tz)


def _gps_ifd(geo: dict[str, Any]) -> dict[int, Any]:
    lat, lon = float(geo["lat"]), float(geo["lon"])
    gps: dict[int, Any] = {
        piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
        piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
        piexif.GPSIFD.GPSLatitude: _dms(lat),
        piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
        piexif.GPSIFD.GPSLongitude: _dms(lon),
        piexif.GPSIFD.GPSMapDatum: b"WGS-84",
    }
    alt = geo.get("altitude")
    if isinstance(alt, int | float):
        gps[piexif.GPSIFD.GPSAltitudeRef] = 0 if alt >= 0 else 1
        gps[piexif.GPSIFD.GPSAltitude] = (round(abs(alt) * 100), 100)
    acc = geo.get("accuracy")
    if isinstance(acc, int | float):
        gps[piexif.GPSIFD.GPSHPositioningError] = (round(acc * 100), 100)
    fixed = geo.get("fixed_at")
    if isinstance(fixed, str):
        try:
            t = parse_time(fixed)
        except ValueError:
            t = None
        if t is not None:
            gps[piexif.GPSIFD.GPSDateStamp] = t.strftime("%Y:%m:%d").encode()
            gps[piexif.GPSIFD.GPSTimeStamp] = ((t.hour, 1), (t.minute, 1),
                                               (t.second * 1000 + t.microsecond // 1000, 1000))
    return gps


def _dump(exif: dict[str, Any]) -> bytes:
    """piexif.dump, dropping tags it cannot re-encode (and an oversized thumbnail)."""
    try:
        return bytes(piexif.dump(exif))
    except Exception as exc:  # piexif raises ValueError/TypeError/struct.error on odd tags
        log.info("derived copy: EXIF does not re-encode as a whole (%s), filtering tags", exc)
    clean: dict[str, Any] = {}
    for ifd in ("0th", "Exif", "GPS", "Interop", "1st"):
        kept: dict[int, Any] = {}
        for tag, value in (exif.get(ifd) or {}).items():
            try:
                piexif.dump({ifd: {tag: value}})
            except Exception:
                log.info("derived copy: dropping EXIF %s tag %s that cannot be re-encoded",
                         ifd, tag)
                continue
            kept[tag] = value
        clean[ifd] = kept
    try:
        return bytes(piexif.dump(clean))
    except Exception:
        clean.pop("1st", None)
        return bytes(piexif.dump(clean))


def derive_display(original: bytes, manifest: dict[str, Any]) -> bytes:
    try:
        exif: dict[str, Any] = piexif.load(original)
    except Exception:  # unreadable EXIF: start from none rather than refuse
        log.info("derived copy: original EXIF unreadable, writing a fresh EXIF block")
        exif = {"0th": {}, "Exif": {}, "GPS": {}, "Interop": {}, "1st": {}, "thumbnail": None}
    for ifd in ("0th", "Exif", "GPS", "Interop", "1st"):
        exif.setdefault(ifd, {})
    local = _local_start(manifest)
    exif["Exif"][piexif.ExifIFD.DateTimeOriginal] = local.strftime("%Y:%m:%d %H:%M:%S").encode()
    exif["Exif"][piexif.ExifIFD.OffsetTimeOriginal] = _offset_text(local).encode()
    exif["Exif"][piexif.ExifIFD.SubSecTimeOriginal] = f"{local.microsecond // 1000:03d}".encode()
    geo = manifest.get("geo") or {}
    if "lat" in geo and "lon" in geo:
        exif["GPS"] = _gps_ifd(geo)  # the signed fix replaces any GPS the file had
    data = _dump(exif)
    if len(data) > 65533 and exif.get("thumbnail"):
        exif["thumbnail"] = None
        exif["1st"] = {}
        data = _dump(exif)
    out = io.BytesIO()
    piexif.insert(data, original, out)
    return out.getvalue()


# APP0 (JFIF), APP2 ICC_PROFILE (colour) and APP14 (Adobe colour transform) are
# needed to show the picture right; every other APPn and COM segment is metadata.
_KEEP_APP = {0xE0, 0xEE}


def _strip_metadata(data: bytes) -> bytes:
    """Drop metadata segments and any bytes after EOI from a JPEG."""
    if data[:2] != b"\xff\xd8":
        raise UnsupportedFormat("the original is not a JPEG")
    out = bytearray(b"\xff\xd8")
    i, n = 2, len(data)
    while i < n:
        if data[i] != 0xFF:
            raise UnsupportedFormat("the JPEG structure cannot be parsed")
        marker = data[i + 1] if i + 1 < n else None
        if marker is None:
            raise UnsupportedFormat("the JPEG ends inside a marker")
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # EOI: anything after it (trailers, extra images) is dropped
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[i:i + 2]
            i += 2
            continue
        if i + 4 > n:
            raise UnsupportedFormat("the JPEG ends inside a segment header")
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        end = i + 2 + length
        if length < 2 or end > n:
            raise UnsupportedFormat("a JPEG segment runs past the end of the file")
        segment = data[i:end]
        is_meta = (marker == 0xFE or (0xE1 <= marker <= 0xEF and marker not in _KEEP_APP))
        if marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00":
            is_meta = False
        if not is_meta:
            out += segment
        i = end
        if marker == 0xDA:  # SOS: copy the entropy-coded data up to the next marker
            j = i
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    raise UnsupportedFormat("the JPEG has no end-of-image marker")
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    j += 2
                    continue
                if nxt == 0xFF:
                    j += 1
                    continue
                break
            out += data[i:j]
            i = j
    raise UnsupportedFormat("the JPEG has no end-of-image marker")


def derive_privacy(original: bytes) -> bytes:
    out = io.BytesIO()
    piexif.remove(original, out)
    return _strip_metadata(out.getvalue())


def derive_bytes(original: bytes, manifest: dict[str, Any], variant: str) -> bytes:
    if original[:2] != b"\xff\xd8":
        raise UnsupportedFormat("the original is not a JPEG")
    if variant == "display":
        try:
            return derive_display(original, manifest)
        except FieldProofError:
            raise
        except Exception as exc:  # piexif on a damaged JPEG
            raise UnsupportedFormat(f"cannot write EXIF into this JPEG ({exc})") from exc
    if variant == "privacy":
        return derive_privacy(original)
    raise NotFound(f"unknown derivation {variant!r}; one of {', '.join(VARIANTS)}")


def check_derivable(capture: CaptureRecord) -> None:
    if capture.kind != "photo":
        raise NotAPhoto(f"capture is a {capture.kind}, derived copies exist for photos only")
    mime = capture.media_mime.split(";")[0].strip().lower()
    if mime != "image/jpeg":
        raise UnsupportedFormat(f"derived copies are made from JPEG originals only, "
                                f"this one is {mime}")
    if capture.media_size > MAX_DERIVE_BYTES:
        raise TooLarge(f"the original is larger than {MAX_DERIVE_BYTES} bytes")


def read_original(store: ObjectStore, capture: CaptureRecord) -> bytes:
    data = b"".join(store.iter_range(capture.object_key))
    if hashlib.sha256(data).hexdigest() != capture.media_sha256:
        raise IntegrityFailure("the stored original does not hash to its recorded SHA-256")
    return data


def derive_capture(store: ObjectStore, capture: CaptureRecord, variant: str) -> Derived:
    check_derivable(capture)
    if variant not in VARIANTS:
        raise _unknown(variant)
    original = read_original(store, capture)
    data = derive_bytes(original, json.loads(capture.manifest), variant)
    return Derived(variant=variant, data=data, sha256=hashlib.sha256(data).hexdigest(),
                   original_sha256=capture.media_sha256,
                   filename=f"{capture.id}-{variant}.jpg")


# ----------------------------------------------------------------- service
def _unknown(variant: str) -> NotFound:
    return NotFound(f"unknown derivation {variant!r}; one of {', '.join(ALL_VARIANTS)}")


class Deriver:
    def __init__(self, captures: Captures, store: ObjectStore,
                 identity: ServerIdentity | None = None,
                 log: TransparencyLog | None = None, settings: Settings | None = None) -> None:
        self.captures = captures
        self.settings = settings or Settings()
        self.store = store
        self.identity = identity  # signs c2pa copies; None: no c2pa variant
        self.log = log  # leaf index for c2pa copies, and the embedded TSA

    def derive(self, principal: Principal, capture_id: str, variant: str) -> Derived:
        capture = self.captures.get(principal, capture_id)  # 404 unless the caller's
        return self.derive_for(capture, variant)

    def derive_for(self, capture: CaptureRecord, variant: str) -> Derived:
        """``variant`` of a capture the caller has already been authorized for."""
        if variant == CREDENTIAL_VARIANT:
            return self.credential(capture)
        if variant == THUMBNAIL_VARIANT:
            return self.thumbnail(capture)
        if variant not in VARIANTS:
            raise _unknown(variant)
        return derive_capture(self.store, capture, variant)

    def thumbnail(self, capture: CaptureRecord) -> Derived:
        """A small JPEG a person recognises (evidence/thumbnails.py), made once."""
        key = thumbnails.cache_key(capture.media_sha256)
        if self.store.stat(key) is not None:
            data = b"".join(self.store.iter_range(key))
        else:
            data = self._make_thumbnail(capture)
            fd, path = locked_mkstemp(self.store.tmp_dir, "thumb-")  # type: ignore[attr-defined]
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                self.store.put_file(key, path, consume=True)
            path.unlink(missing_ok=True)
        return Derived(variant=THUMBNAIL_VARIANT, data=data, mime="image/jpeg",
                       sha256=hashlib.sha256(data).hexdigest(),
                       original_sha256=capture.media_sha256,
                       filename=f"{capture.id}-thumbnail.jpg")

    def _make_thumbnail(self, capture: CaptureRecord) -> bytes:
        mime = (capture.sniffed_mime or capture.media_mime).split(";")[0].strip().lower()
        # The kind the device declared decides first: an audio recording in a
        # WebM container sniffs as video/webm. The child still draws a
        # waveform when a "video" has no picture stream.
        if capture.kind in ("video", "screen"):
            picture, sound = True, False
        elif capture.kind == "audio":
            picture, sound = False, True
        else:
            picture = mime.startswith("video/")
            sound = not picture and mime.startswith("audio/")
        if not (mime.startswith("image/") or picture or sound):
            raise NoThumbnail(f"a {mime} file has no picture to show")
        if capture.media_size > thumbnails.MAX_INPUT:
            raise TooLarge("the original is too large for a thumbnail")
        blocks = self.store.iter_range(capture.object_key)
        with tempfile.SpooledTemporaryFile(max_size=16 << 20) as original:
            for block in blocks:
                original.write(block)
            original.seek(0)
            try:
                if not (picture or sound):
                    return thumbnails.image_thumbnail(original)  # type: ignore[arg-type]
                return thumbnails.media_thumbnail(  # type: ignore[arg-type]
                    original, "web" if capture.kind == "web" else
                    "video" if picture else "audio")
            except thumbnails.NoThumbnail as exc:
                raise NoThumbnail(str(exc)) from exc

    def bundle_copies(self, capture: CaptureRecord) -> dict[str, bytes]:
        """File name -> bytes of the copies an evidence bundle carries under
        derived/: display and privacy for a JPEG photo, and the credentialed
        copy for anything C2PA can carry (or PyAV can repackage for it)."""
        out: dict[str, bytes] = {}
        try:
            check_derivable(capture)
            original = read_original(self.store, capture)
            manifest = json.loads(capture.manifest)
            out = {f"{v}.jpg": derive_bytes(original, manifest, v) for v in VARIANTS}
        except FieldProofError:
            pass  # not a JPEG photo
        if supported(capture.media_mime) and capture.media_size <= MAX_DERIVE_BYTES:
            try:
                d = self.credential(capture)
            except FieldProofError as exc:  # no TSA answered, or the self-check failed
                log.warning("no content credentials for capture %s: %s", capture.id,
                            exc.code)
            else:
                out[credential_filename(d.mime)] = d.data
        return out

    # ------------------------------------------------------------- c2pa
    def tsas(self) -> list[EmbeddedTSA | str]:
        """Who timestamps c2pa signatures, external TSAs first (tsa.in_signing_order).

        c2pa asks an external TSA by URL itself; the embedded one is reached
        through a loopback endpoint (c2pa waits up to 30 s for a TSA that
        accepts and never replies, so it comes last).
        """
        if self.log is None:
            return [t.url for t in self.settings.external_tsas]
        return [t.url if isinstance(t, HttpTSA) else t for t in in_signing_order(self.log.tsas)
                if isinstance(t, HttpTSA | EmbeddedTSA)]

    def leaf_index(self, capture_id: str) -> int | None:
        if self.log is None:
            return None
        return self.log.leaf_index_of(capture_id)

    def credential(self, capture: CaptureRecord) -> Derived:
        """The capture's original with C2PA Content Credentials (variant ``c2pa``).

        A WebM/Matroska/Ogg original gives an MP4 copy (``audio/mp4`` or
        ``video/mp4``, see services/remux.py): ``mime`` and ``filename`` say so.
        """
        fmt = c2pa_format(capture.media_mime, capture.sniffed_mime)  # 409 unsupported_format
        if self.identity is None:
            raise C2paUnavailable("this server has no C2PA signing identity")
        if capture.media_size > MAX_DERIVE_BYTES:
            raise TooLarge(f"content credentials are made in memory, for originals up to "
                           f"{MAX_DERIVE_BYTES} bytes")
        # At most CREDENTIAL_SLOTS at a time per process: each holds up to 64 MiB
        # twice and may run an FFmpeg child for minutes; the rest wait their turn
        # (a 256-thread server would otherwise start 256 of them).
        if not _CREDENTIAL_SLOTS.acquire(timeout=CREDENTIAL_WAIT_SECONDS):
            raise RateLimited("content credentials are busy; try again shortly")
        try:
            original = read_original(self.store, capture)
            index = self.leaf_index(capture.id)
            facts = CaptureFacts.from_capture(
                capture, leaf_index=index,
                log_origin=self.log.origin if self.log is not None and index is not None
                else None)
            out = io.BytesIO()
            signed = write_credential_copy(io.BytesIO(original), out, fmt, facts,
                                           self.identity.get("c2pa"), self.tsas())
            data = out.getvalue()
        finally:
            _CREDENTIAL_SLOTS.release()
        if len(data) > MAX_CREDENTIAL_BYTES:
            raise TooLarge(f"the credentialed copy came out larger than "
                           f"{MAX_CREDENTIAL_BYTES} bytes")
        return Derived(variant=CREDENTIAL_VARIANT, data=data,
                       sha256=hashlib.sha256(data).hexdigest(),
                       original_sha256=capture.media_sha256,
                       filename=f"{capture.id}-{credential_filename(signed.format)}",
                       mime=signed.format)
