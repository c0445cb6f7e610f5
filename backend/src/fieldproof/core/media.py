"""What the bytes of a media file say about themselves: type and EXIF."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, Any, BinaryIO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import exifread
import filetype

from fieldproof.core.checks import Check, haversine_m
from fieldproof.core.manifest import utc_text

SNIFF_BYTES = 8192
log = logging.getLogger(__name__)


def sniff_mime(head: bytes) -> str | None:
    """MIME type from magic bytes (the `filetype` library), or None."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    return None if kind is None else str(kind.mime)


def _ratio(value: Any) -> float:
    return float(value.num) / float(value.den) if value.den else 0.0


def _dms(tag: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (_ratio(v) for v in tag.values)
    except (AttributeError, ValueError, TypeError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if str(ref).strip().upper().startswith(negative) else value


def read_exif(fh: IO[bytes]) -> dict[str, Any]:
    """A small EXIF summary: GPS, DateTimeOriginal (+offset), make, model.

    Returns {} when the file has no EXIF. Never raises on malformed EXIF: a
    broken tag is evidence to report, not a reason to refuse the capture.
    """
    try:
        tags = exifread.process_file(cast(BinaryIO, fh), details=False)
    except Exception as exc:  # exifread raises many types on corrupt input
        log.info("exif unreadable: %s", exc)
        return {"error": "unreadable EXIF"}
    out: dict[str, Any] = {}
    lat = tags.get("GPS GPSLatitude")
    lon = tags.get("GPS GPSLongitude")
    if lat is not None and lon is not None:
        la = _dms(lat, tags.get("GPS GPSLatitudeRef", "N"), "S")
        lo = _dms(lon, tags.get("GPS GPSLongitudeRef", "E"), "W")
        if la is not None and lo is not None:
            out["gps_lat"], out["gps_lon"] = round(la, 7), round(lo, 7)
    for name, tag in (("datetime_original", "EXIF DateTimeOriginal"),
                      ("offset_time_original", "EXIF OffsetTimeOriginal"),
                      ("make", "Image Make"), ("model", "Image Model")):
        if tag in tags:
            out[name] = str(tags[tag]).strip()[:128]
    return out


def exif_time(summary: dict[str, Any], tz_name: str) -> datetime | None:
    """DateTimeOriginal as UTC. Without OffsetTimeOriginal, the device's zone."""
    text = summary.get("datetime_original")
    if not text:
        return None
    try:
        naive = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = summary.get("offset_time_original")
    tz: Any
    if offset:
        try:
            sign = -1 if offset.startswith("-") else 1
            hh, mm = offset.lstrip("+-").split(":")
            tz = timezone(sign * timedelta(hours=int(hh), minutes=int(mm)))
        except ValueError:
            return None
    else:
        try:
            tz = ZoneInfo(tz_name) if tz_name else UTC
        except (ZoneInfoNotFoundError, ValueError):
            tz = UTC
    return naive.replace(tzinfo=tz).astimezone(UTC)


def exif_checks(summary: dict[str, Any], geo: dict[str, Any] | None, start: datetime,
                end: datetime, tz_name: str, *, time_tolerance: timedelta,
                min_distance_m: float) -> list[Check]:
    """Compare a photo's EXIF with what the device signed."""
    if not summary:
        return [Check.of("exif", False, "exif.absent")]
    if "error" in summary:
        return [Check.of("exif", False, "exif.unreadable", error=summary["error"])]
    checks = [Check.of("exif", True, "exif.present", fields=", ".join(sorted(summary)))]
    if "gps_lat" in summary:
        if geo is None:
            checks.append(Check.of("exif_gps", False, "exif_gps.no_fix"))
        else:
            dist = haversine_m(summary["gps_lat"], summary["gps_lon"], geo["lat"], geo["lon"])
            limit = max(min_distance_m, 3 * float(geo.get("accuracy") or 0))
            checks.append(Check.of("exif_gps", dist <= limit, "exif_gps.distance",
                                   distance_m=round(dist), limit_m=round(limit)))
    when = exif_time(summary, tz_name)
    if when is not None:
        lo, hi = start - time_tolerance, end + time_tolerance
        checks.append(Check.of("exif_time", lo <= when <= hi, "exif_time.window",
                               exif_at=utc_text(when), start_at=utc_text(start),
                               end_at=utc_text(end)))
    return checks
