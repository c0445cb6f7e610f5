"""Captures that are anchored (in a time-stamped checkpoint), ready to go into cases."""

from __future__ import annotations

from typing import Any

import pytest

from fieldproof.services import Services
from fieldproof.web.serialize import capture_json
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.uploads import upload_capture


def text_file(n: int) -> bytes:
    return f"a note kept as evidence, number {n}\n".encode() * 3


@pytest.fixture
def capture_of(services: Services) -> Any:
    """``capture_of(user, kind="import"|"photo", anchored=True)``: a new capture's JSON.

    Imports of small text files by default (no derived copies: fast exports);
    ``kind="photo"`` makes a real JPEG. Anchoring runs the sequencer once, which
    integrates the queue and time-stamps the checkpoint before it returns.
    """
    counter = iter(range(1, 10_000))

    def make(user: User, kind: str = "import", *, anchored: bool = True,
             **kw: Any) -> dict[str, Any]:
        n = next(counter)
        if kind == "photo":
            body = upload_capture(user, jpeg(make=f"case-{n}"), **kw)
        else:
            body = upload_capture(user, text_file(n), kind="import", mime="text/plain", **kw)
        if anchored:
            services.sequencer.integrate()
            record = services.captures.by_manifest(body["manifest_hash"])
            assert record is not None and record.status == "anchored", record
            return capture_json(record)  # no GET: that would be a custody event
        return body
    return make


def new_case(user: User, title: str = "张三诉李四 wage dispute", **kw: Any) -> dict[str, Any]:
    r = user.client.post("/api/v1/cases", json={"title": title, **kw}, headers=user.auth)
    assert r.status_code == 201, r.json
    return dict(r.json)


def add_item(user: User, case_id: str, capture_id: str, **kw: Any) -> dict[str, Any]:
    r = user.client.post(f"/api/v1/cases/{case_id}/items",
                         json={"capture_id": capture_id, **kw}, headers=user.auth)
    assert r.status_code == 201, r.json
    return dict(r.json)
