"""Uploading a capture in one step, for tests about what comes after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.accounts import User

START = datetime(2025, 3, 4, 1, 2, 3, 456000, tzinfo=UTC)  # 09:02:03.456 in Shanghai


def upload_capture(user: User, media: bytes, **kw: Any) -> dict[str, Any]:
    device = user.enroll()
    kw.setdefault("start", START)
    kw.setdefault("end", START)
    r = user.upload(device, media, **kw)
    assert r.status_code == 201, r.json
    return dict(r.json)
