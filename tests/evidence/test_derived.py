"""Derived copies of photos (display, privacy), on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import piexif
import pytest
from PIL import Image

from fieldproof.core.media import read_exif
from fieldproof.evidence.derived import derive_bytes
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem
from tests.support.uploads import upload_capture as _upload

GEO = {"lat": 31.2304567, "lon": -121.4737891, "accuracy": 7.5, "altitude": -12.34,
       "fixed_at": "2025-03-04T01:02:01.250Z"}


def _object_path(services: Services, sha: str) -> Path:
    return (services.settings.data_dir / "store" / "objects" / "media" / "sha256" /
            sha[:2] / sha[2:4] / sha)


def _get(client: Any, user: User, cid: str, variant: str) -> Any:
    return client.get(f"/api/v1/captures/{cid}/derived/{variant}", headers=user.auth)


def _check_headers(r: Any, original_sha: str, variant: str) -> None:
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "image/jpeg"
    assert r.headers["X-FieldProof-Original-SHA256"] == original_sha
    assert r.headers["X-FieldProof-Derived-SHA256"] == hashlib.sha256(r.data).hexdigest()
    assert r.headers["X-FieldProof-Derivation"] == variant
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment;") and f"-{variant}.jpg" in cd
    assert r.headers["X-FieldProof-Derived-SHA256"] != original_sha


def test_display_copy(user: User, client: Any, services: Services) -> None:
    photo = jpeg(lat=39.9, lon=116.4, taken=datetime(2020, 1, 1, 12, 0, 0), offset="+01:00",
                 make="DerivCam")
    body = _upload(user, photo, geo=GEO)
    sha = body["media"]["sha256"]
    r = _get(client, user, body["id"], "display")
    _check_headers(r, sha, "display")
    Image.open(io.BytesIO(r.data)).load()  # still a valid image

    summary = read_exif(io.BytesIO(r.data))
    assert summary["gps_lat"] == pytest.approx(GEO["lat"], abs=1e-6)
    assert summary["gps_lon"] == pytest.approx(GEO["lon"], abs=1e-6)
    assert summary["datetime_original"] == "2025:03:04 09:02:03"
    assert summary["offset_time_original"] == "+08:00"
    assert summary["make"] == "DerivCam"  # other tags kept
    gps = piexif.load(r.data)["GPS"]
    assert gps[piexif.GPSIFD.GPSAltitudeRef] == 1
    assert gps[piexif.GPSIFD.GPSAltitude] == (1234, 100)

    # deterministic, and the original is untouched
    again = _get(client, user, body["id"], "display")
    assert again.data == r.data
    assert hashlib.sha256(_object_path(services, sha).read_bytes()).hexdigest() == sha
    orig = client.get(f"/api/v1/captures/{body['id']}/original", headers=user.auth)
    assert orig.data == photo


def test_display_copy_without_fix_has_only_the_time(user: User, client: Any) -> None:
    body = _upload(user, jpeg(make="NoGps"))
    r = _get(client, user, body["id"], "display")
    _check_headers(r, body["media"]["sha256"], "display")
    summary = read_exif(io.BytesIO(r.data))
    assert "gps_lat" not in summary and "gps_lon" not in summary
    assert summary["datetime_original"] == "2025:03:04 09:02:03"
    assert summary["offset_time_original"] == "+08:00"
    assert piexif.load(r.data)["GPS"] == {}


def test_privacy_copy(user: User, client: Any, services: Services) -> None:
    photo = jpeg(lat=31.23, lon=121.47, taken=datetime(2025, 3, 4, 9, 2, 3), offset="+08:00")
    # an XMP packet and a comment carry location too; the privacy copy drops them
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPSLatitude 31.23</x:xmpmeta>"
    com = b"taken at home"
    seg = (b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp +
           b"\xff\xfe" + (len(com) + 2).to_bytes(2, "big") + com)
    photo = photo[:2] + seg + photo[2:] + b"TRAILER-after-EOI"
    assert read_exif(io.BytesIO(photo))["gps_lat"] == pytest.approx(31.23, abs=1e-4)
    body = _upload(user, photo, geo=GEO)
    sha = body["media"]["sha256"]
    r = _get(client, user, body["id"], "privacy")
    _check_headers(r, sha, "privacy")
    assert read_exif(io.BytesIO(r.data)) == {}
    loaded = piexif.load(r.data)
    assert loaded["0th"] == {} and loaded["Exif"] == {} and loaded["GPS"] == {}
    assert b"xmpmeta" not in r.data and b"taken at home" not in r.data
    assert r.data.endswith(b"\xff\xd9")
    img = Image.open(io.BytesIO(r.data))
    img.load()
    assert img.size == (64, 48)
    assert _get(client, user, body["id"], "privacy").data == r.data
    assert hashlib.sha256(_object_path(services, sha).read_bytes()).hexdigest() == sha


def test_errors(user: User, make_user: Any, client: Any) -> None:
    body = _upload(user, jpeg())
    cid = body["id"]
    other = make_user()
    assert_problem(_get(client, other, cid, "display"), 404, "capture_not_found")
    assert_problem(_get(client, other, cid, "nope"), 404, "capture_not_found")
    assert_problem(_get(client, user, "does-not-exist", "privacy"), 404, "capture_not_found")
    assert_problem(_get(client, user, cid, "poster"), 404, "not_found")
    assert_problem(client.get(f"/api/v1/captures/{cid}/derived/display"), 401,
                   "token_missing")

    pdf = _upload(user, b"%PDF-1.4\n% test\n", kind="import", mime="application/pdf")
    assert_problem(_get(client, user, pdf["id"], "display"), 409, "not_a_photo")

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "PNG")
    png = _upload(user, buf.getvalue(), mime="image/png")
    assert_problem(_get(client, user, png["id"], "privacy"), 409, "unsupported_format")


def test_derivation_is_a_pure_function() -> None:
    photo = jpeg(lat=1.0, lon=2.0)
    manifest = {"captured": {"start": "2025-01-01T00:00:00.000Z"},
                "device": {"timezone": "Not/AZone"}, "geo": {"absent": "denied"}}
    a = derive_bytes(photo, manifest, "display")
    assert a == derive_bytes(photo, manifest, "display")
    summary = read_exif(io.BytesIO(a))
    assert summary["datetime_original"] == "2025:01:01 00:00:00"
    assert summary["offset_time_original"] == "+00:00"  # unknown zone: UTC, said so
    assert summary["gps_lat"] == pytest.approx(1.0)  # no signed fix: the file's GPS stays


def test_photo_bundle_holds_the_derived_copies(user: User, client: Any,
                                               services: Services) -> None:
    import zipfile

    from fieldproof.bundle.layout import SUMS
    from fieldproof.bundle.read import ZipBundle
    from fieldproof.bundle.verify import verify_bundle
    body = _upload(user, jpeg(lat=10.0, lon=20.0), geo=GEO)
    services.sequencer.integrate()
    r = client.get(f"/api/v1/captures/{body['id']}/bundle", headers=user.auth)
    assert r.status_code == 200, r.get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        names = zf.namelist()
        assert {"derived/display.jpg", "derived/privacy.jpg"} <= set(names)
        for variant in ("display", "privacy"):
            got = _get(client, user, body["id"], variant)
            assert zf.read(f"derived/{variant}.jpg") == got.data
            assert f"{got.headers['X-FieldProof-Derived-SHA256']}  derived/{variant}.jpg" in \
                zf.read(SUMS).decode()
        report = verify_bundle(ZipBundle(zf))
    assert report.ok, report.lines()
