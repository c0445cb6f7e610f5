from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from fieldproof.core import checks as ck
from fieldproof.core.media import exif_checks, exif_time, read_exif, sniff_mime
from tests.support.photos import jpeg, plain_jpeg

T0 = datetime(2026, 11, 25, 5, 0, 0, tzinfo=UTC)
TOL = timedelta(seconds=120)


def test_sniff() -> None:
    assert sniff_mime(plain_jpeg()) == "image/jpeg"
    webm = (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08"
            b"B\x82\x84webmB\x87\x81\x04B\x85\x81\x02")
    assert sniff_mime(webm) == "video/webm"
    assert sniff_mime(b"just some text") is None


@pytest.mark.parametrize(("claimed", "sniffed", "ok"), [
    ("image/jpeg", "image/jpeg", True),
    ("audio/webm;codecs=opus", "video/webm", True),
    ("audio/mp4", "video/mp4", True),
    ("image/png", "image/jpeg", False),
    ("video/webm", None, False),
])
def test_mime_check(claimed: str, sniffed: str | None, ok: bool) -> None:
    assert ck.mime_check(claimed, sniffed).ok is ok


def test_exif_roundtrip_and_local_time() -> None:
    # 13:00 in Shanghai is 05:00 UTC
    data = jpeg(lat=31.2304, lon=121.4737, taken=datetime(2026, 11, 25, 13, 0, 0))
    summary = read_exif(io.BytesIO(data))
    assert summary["gps_lat"] == pytest.approx(31.2304, abs=1e-4)
    assert summary["gps_lon"] == pytest.approx(121.4737, abs=1e-4)
    assert summary["make"] == "FieldProofCam"
    assert exif_time(summary, "Asia/Shanghai") == T0


def test_exif_offset_wins_over_zone() -> None:
    data = jpeg(taken=datetime(2026, 11, 25, 6, 0, 0), offset="+01:00")
    assert exif_time(read_exif(io.BytesIO(data)), "Asia/Shanghai") == T0


def test_exif_agreeing_photo_passes() -> None:
    data = jpeg(lat=31.2304, lon=-121.4737, taken=datetime(2026, 11, 25, 5, 0, 30), offset="+00:00")
    geo = {"lat": 31.2305, "lon": -121.4736, "accuracy": 10}
    results = {c.name: c.ok for c in exif_checks(read_exif(io.BytesIO(data)), geo, T0,
                                                 T0 + timedelta(seconds=1), "UTC",
                                                 time_tolerance=TOL, min_distance_m=200)}
    assert results == {"exif": True, "exif_gps": True, "exif_time": True}


def test_exif_discrepancies_are_flagged() -> None:
    data = jpeg(lat=39.9, lon=116.4, taken=datetime(2026, 11, 24, 5, 0, 0), offset="+00:00")
    geo = {"lat": 31.2304, "lon": 121.4737, "accuracy": 10}
    out = {c.name: c for c in exif_checks(read_exif(io.BytesIO(data)), geo, T0, T0, "UTC",
                                          time_tolerance=TOL, min_distance_m=200)}
    assert not out["exif_gps"].ok and "m from the signed fix" in out["exif_gps"].detail
    assert not out["exif_time"].ok


def test_no_exif_is_flagged_not_fatal() -> None:
    out = exif_checks(read_exif(io.BytesIO(plain_jpeg())), None, T0, T0, "UTC",
                      time_tolerance=TOL, min_distance_m=200)
    assert [(c.name, c.ok) for c in out] == [("exif", False)]


def test_corrupt_exif_does_not_raise() -> None:
    broken = b"\xff\xd8\xff\xe1\x00\x20Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x00" * 40
    summary = read_exif(io.BytesIO(broken))
    assert isinstance(summary, dict)


def test_capture_time_check() -> None:
    issued = T0 - timedelta(seconds=10)
    skew = timedelta(seconds=60)
    assert ck.capture_time_check(T0, T0, issued, T0 + timedelta(1), skew=skew).ok
    early = ck.capture_time_check(T0 - timedelta(hours=1), T0, issued, T0, skew=skew)
    assert not early.ok and "precedes the nonce" in early.detail
    assert not ck.capture_time_check(T0, T0 - timedelta(seconds=1), issued, T0, skew=skew).ok
