"""Thumbnails a person recognises: a photo, a video's first frame, a recording's waveform."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from fieldproof.db import CustodyEvent
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.media import audio_webm, video_mp4
from tests.support.photos import jpeg
from tests.support.problems import assert_problem


def _thumb(client: Any, user: User, cid: str) -> Any:
    return client.get(f"/api/v1/captures/{cid}/derived/thumbnail", headers=user.auth)


def _capture(user: User, data: bytes, **kw: Any) -> str:
    device = user.enroll()
    r = user.upload(device, data, **kw)
    assert r.status_code == 201, r.json
    return str(r.json["id"])


def test_a_photo_becomes_a_small_picture_without_metadata(user: User, client: Any) -> None:
    photo = jpeg(lat=31.2304, lon=121.4737, size=(2000, 1500))
    cid = _capture(user, photo)
    r = _thumb(client, user, cid)
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    img = Image.open(io.BytesIO(r.data))
    assert max(img.size) == 480 and img.size == (480, 360)
    assert not img.getexif()  # nothing of the original's EXIF (GPS) rides along
    assert r.headers["Cache-Control"] == "private, max-age=3600"


def test_a_video_shows_its_first_frame(user: User, client: Any, tmp_path: Path) -> None:
    cid = _capture(user, video_mp4(tmp_path), kind="video", mime="video/mp4")
    r = _thumb(client, user, cid)
    assert r.status_code == 200, r.get_data(as_text=True)
    img = Image.open(io.BytesIO(r.data)).convert("RGB")
    red, green, blue = img.getpixel((img.width // 2, img.height // 2))
    assert red > 200 and green < 60 and blue < 60  # the clip's first frame is red


def test_a_recording_shows_its_waveform(user: User, client: Any, tmp_path: Path) -> None:
    cid = _capture(user, audio_webm(tmp_path), kind="audio", mime="audio/webm")
    r = _thumb(client, user, cid)
    assert r.status_code == 200, r.get_data(as_text=True)
    img = Image.open(io.BytesIO(r.data)).convert("L")
    assert img.size == (480, 160)
    # the tone swells: the wave is taller at the end than at the start
    def height(x: int) -> int:
        return sum(1 for y in range(img.height) if img.getpixel((x, y)) < 160)
    assert height(470) > height(10) + 20


def test_files_without_a_picture_say_so(user: User, client: Any) -> None:
    cid = _capture(user, b"%PDF-1.4 a lease", kind="import", mime="application/pdf")
    assert_problem(_thumb(client, user, cid), 409, "no_thumbnail")


def test_made_once_and_a_preview_is_one_custody_event_a_day(user: User, client: Any,
                                                           services: Services) -> None:
    cid = _capture(user, jpeg())
    first, again = _thumb(client, user, cid), _thumb(client, user, cid)
    assert first.data == again.data
    assert len([k for k in (services.settings.data_dir / "store" / "objects" / "thumbs")
                .rglob("*.jpg")]) == 1
    with services.db.reading() as s:
        events = [e.event for e in s.query(CustodyEvent).filter_by(capture_id=cid)]
    assert events.count("preview") == 1
