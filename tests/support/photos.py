"""Test photos made on the fly: real JPEGs (Pillow) with EXIF written by piexif."""

from __future__ import annotations

import io
from datetime import datetime
from fractions import Fraction

import piexif
from PIL import Image


def _dms(value: float) -> tuple[tuple[int, int], ...]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = Fraction((value - d - m / 60) * 3600).limit_denominator(10000)
    return ((d, 1), (m, 1), (s.numerator, s.denominator))


def jpeg(*, lat: float | None = None, lon: float | None = None,
         taken: datetime | None = None, offset: str | None = None,
         make: str = "FieldProofCam", size: tuple[int, int] = (64, 48)) -> bytes:
    exif: dict[str, dict[int, object]] = {"0th": {piexif.ImageIFD.Make: make.encode(),
                                                  piexif.ImageIFD.Model: b"Test 1"},
                                          "Exif": {}, "GPS": {}}
    if taken is not None:
        exif["Exif"][piexif.ExifIFD.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S").encode()
        if offset:
            exif["Exif"][piexif.ExifIFD.OffsetTimeOriginal] = offset.encode()
    if lat is not None and lon is not None:
        exif["GPS"] = {piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
                       piexif.GPSIFD.GPSLatitude: _dms(lat),
                       piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
                       piexif.GPSIFD.GPSLongitude: _dms(lon)}
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 30, 200)).save(buf, "JPEG", exif=piexif.dump(exif))
    return buf.getvalue()


def plain_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 0)).save(buf, "JPEG")
    return buf.getvalue()
