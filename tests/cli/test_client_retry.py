"""The client treats a proxy's 502/504 (a cluster node that just died) as an
unreachable server: it tries again, within its retry time, and then says so.
The proxy here is httpx's MockTransport: the real one (nginx in front of a
killed node) is in tests/drills/test_cluster.py, where the timing is not ours."""

from __future__ import annotations

import httpx
import pytest

from fieldproof.client.api import Client, ClientError


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
