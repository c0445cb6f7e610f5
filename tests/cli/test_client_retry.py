"""The client treats a proxy's 502/504 (a cluster node that just died) as an
unreachable server: it tries again, within its retry time, and then says so.
The proxy here is httpx's MockTransport: the real one (nginx in front of a
killed node) is in tests/drills/test_cluster.py, where the timing is not ours."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from fieldproof.client.api import MAX_MANIFEST_HEADER, Client, ClientError
from fieldproof.core.encoding import b64url_strict


def _client(answers: list[int], retry_for: float = 30.0) -> tuple[Client, list[int]]:
    seen: list[int] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        status = answers[min(len(seen), len(answers) - 1)]
        seen.append(status)
        if status == 201:
            return httpx.Response(201, json={"nonce": "n", "expires_at": "x"})
        if status == 409:
            return httpx.Response(409, json={"code": "nonce_reused", "detail": "used"})
        return httpx.Response(status, text="<html>Bad Gateway</html>")

    api = Client("http://front.invalid", "fp_token", retry_for=retry_for)
    api.http = httpx.Client(base_url="http://front.invalid/api/v1",
                            transport=httpx.MockTransport(gateway))
    return api, seen


def test_a_gateway_error_is_tried_again() -> None:
    api, seen = _client([502, 504, 201])
    assert api.nonce()["nonce"] == "n"
    assert seen == [502, 504, 201]


def test_the_servers_own_errors_are_not() -> None:
    api, seen = _client([409])
    with pytest.raises(ClientError) as err:
        api.nonce()
    assert err.value.code == "nonce_reused" and seen == [409]


def test_a_gateway_that_stays_down_is_reported() -> None:
    api, seen = _client([502], retry_for=0.5)
    with pytest.raises(ClientError) as err:
        api.nonce()
    assert err.value.http_status == 502 and len(seen) >= 2


def _recorder(answers: list[int]) -> tuple[Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        status = answers[min(len(seen) - 1, len(answers) - 1)]
        return httpx.Response(status, json={"id": "c1"} if status == 201 else None)

    api = Client("http://front.invalid", "fp_token", retry_for=30.0)
    api.http = httpx.Client(base_url="http://front.invalid/api/v1",
                            transport=httpx.MockTransport(server))
    return api, seen


def test_media_goes_as_the_body_and_again_whole_after_a_gateway_error(tmp_path: Path) -> None:
    media = tmp_path / "m.bin"
    media.write_bytes(os.urandom(200_000))
    api, seen = _recorder([502, 201])
    manifest = json.dumps({"note": "合同"}).encode()
    assert api.upload(manifest, b"\x01" * 64, media, "video/mp4") == {"id": "c1"}
    assert len(seen) == 2
    for request in seen:
        assert request.content == media.read_bytes()
        assert request.headers["content-length"] == "200000"
        assert request.headers["content-type"] == "video/mp4"
        assert b64url_strict(request.headers["fieldproof-manifest"]) == manifest
        assert b64url_strict(request.headers["fieldproof-signature"]) == b"\x01" * 64


def test_a_manifest_too_long_for_a_header_goes_as_a_form(tmp_path: Path) -> None:
    media = tmp_path / "m.bin"
    media.write_bytes(b"abc")
    api, seen = _recorder([201])
    manifest = json.dumps({"pad": "x" * MAX_MANIFEST_HEADER}).encode()
    api.upload(manifest, b"\x01" * 64, media, "video/mp4")
    (request,) = seen
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert "fieldproof-manifest" not in request.headers
    assert manifest in request.content and b"abc" in request.content
