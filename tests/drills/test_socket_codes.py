"""Stable codes on the /streams socket, with the real python-socketio client:
a refused connection names its code, and an unknown event is acked with one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.support.live import LiveServer

NS = "/streams"


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "var")
    server.data_dir.mkdir(parents=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_bad_token_is_refused_with_a_code(srv: LiveServer) -> None:
    errors: list[Any] = []
    sio = socketio.Client(reconnection=False)
    sio.on("connect_error", lambda data: errors.append(data), namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(srv.url, namespaces=[NS], transports=["websocket"],
                    auth={"token": "fp_not_a_token"}, wait_timeout=10)
    sio.disconnect()
    [err] = errors
    assert err["message"] == "token_invalid", err
    assert err["data"]["code"] == "token_invalid" and err["data"]["status"] == 401


def test_unknown_event_is_acked_with_a_code(srv: LiveServer) -> None:
    token = srv.create_user("sock@example.org")
    sio = socketio.Client(reconnection=False)
    sio.connect(srv.url, namespaces=[NS], transports=["websocket"], auth={"token": token},
                wait_timeout=10)
    try:
        reply = sio.call("strat", {"header": "{}"}, namespace=NS, timeout=10)
        assert reply["ok"] is False and reply["error"]["code"] == "unknown_event", reply
        # the known events still work as before
        known = sio.call("resume", {"stream_id": "0" * 64}, namespace=NS, timeout=10)
        assert known["error"]["code"] == "unknown_stream", known
    finally:
        sio.disconnect()
