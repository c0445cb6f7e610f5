"""Reliability drills against a real `fieldproof serve` process (issue 9).

Slow clients, a crash that leaves upload spools behind, a full disk, an
oversized stream chunk and malformed HTTP: each with real sockets, a real
server process and, for the full disk, a real (tiny) tmpfs.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.problems import PROBLEM
from tests.support.slow_clients import SlowClients
from tests.support.waiting import wait_until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"},
                     args=("--threads", "8"))
    srv.data_dir.mkdir(parents=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("mode", ["headers", "body", "chunked", "expect"])
def test_slow_clients_do_not_starve_the_server(server: LiveServer, mode: str) -> None:
    """Five times more slow connections than threads: /health still answers, and
    each slow client is closed with a 408 once its time is up."""
    with SlowClients(server.port, 40, mode=mode) as slow:
        wait_until("the slow clients sent two more lines", lambda: slow.rounds >= 2)
        for _ in range(3):
            r = httpx.get(server.url + "/api/v1/health", timeout=15)
            assert r.status_code == 200
        # the public endpoint itself keeps answering
        r = httpx.post(server.url + "/api/v1/lookup", json={"sha256": "0" * 64}, timeout=15)
        assert r.status_code == 200 and r.json()["found"] is False
        wait_until("every slow client was answered 408 or closed",
                   lambda: all(k in slow.closed or b"HTTP/1.1 408" in slow.answers.get(k, b"")
                               for k in range(slow.n)), timeout=90)
    answered = [a.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
                for a in slow.answers.values() if b" 408 " in a]
    assert answered and all(a.startswith(b"HTTP/1.1 408") and PROBLEM.encode() in a
                            for a in answered)
    if mode == "expect":  # the server said continue, so the body came to the event loop
        assert all(a.startswith(b"HTTP/1.1 100 Continue") for a in slow.answers.values() if a)


def test_sockets_that_never_sign_in_are_closed(server: LiveServer) -> None:
    """Engine.IO connections that never join /streams (where the token is checked)
    each hold a thread: twice as many of them as threads. The server closes each
    after HandshakeGuard.GRACE (10 s), so /health waits at most that long."""
    import engineio

    clients = [engineio.Client() for _ in range(16)]

    def connect(c: engineio.Client) -> None:
        with contextlib.suppress(Exception):  # queued behind the others: may give up
            c.connect(server.url, transports=["websocket"], engineio_path="socket.io")

    openers = [threading.Thread(target=connect, args=(c,)) for c in clients]
    for t in openers:
        t.start()
    try:
        wait_until("the threads are taken by idle sockets",
                   lambda: sum(c.state == "connected" for c in clients) >= 8)
        r = httpx.get(server.url + "/api/v1/health", timeout=15)  # within the guard's bound
        assert r.status_code == 200
        for t in openers:
            t.join(120)
        wait_until("the server closed every socket that did not sign in",
                   lambda: all(c.state != "connected" for c in clients), timeout=120)
        assert httpx.get(server.url + "/api/v1/health", timeout=15).status_code == 200
    finally:
        for c in clients:
            if c.state == "connected":
                c.disconnect()


def test_300_open_streams_leave_the_api_answering(tmp_path: Path) -> None:
    """300 signed-in stream connections, each holding a thread of a server with its
    default thread count: /health and the public lookup still answer."""
    import websocket  # websocket-client, python-socketio's own transport

    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"})
    srv.data_dir.mkdir(parents=True)
    srv.start()
    token = srv.create_user("many@example.org")
    sockets = []
    try:
        for _ in range(300):
            ws = websocket.create_connection(
                f"ws://127.0.0.1:{srv.port}/socket.io/?EIO=4&transport=websocket", timeout=30)
            sockets.append(ws)
            assert ws.recv().startswith("0{")  # Engine.IO open
            ws.send("40/streams," + json.dumps({"token": token}))
            joined = ws.recv()
            assert joined.startswith("40/streams,{"), joined  # signed in: a stream could start
        r = httpx.get(srv.url + "/api/v1/health", timeout=15)
        assert r.status_code == 200
        r = httpx.post(srv.url + "/api/v1/lookup", json={"sha256": "0" * 64}, timeout=15)
        assert r.status_code == 200
    finally:
        for ws in sockets:
            with contextlib.suppress(Exception):
                ws.close()
        srv.stop()
