"""Which thread runs which /streams event, on a real server and a real client.

A connection's chunks run on its own reader thread, in the order they arrive
(no thread started per chunk); ``start``, ``resume`` and ``stop`` keep a thread
each, so a long ``stop`` holds up neither that connection's other events nor
its Engine.IO pongs. The app runs in werkzeug's threaded server here, in this
process, so that the handlers can be watched and held."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from flask import Flask
from werkzeug.serving import make_server

from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.streams import NS, HandStream

TIMEOUT = 30.0


@pytest.fixture
def url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)


@pytest.fixture
def client(url: str, user: User) -> Iterator[socketio.Client]:
    sio = socketio.Client(reconnection=False)
    sio.connect(url, namespaces=[NS], transports=["websocket"], auth={"token": user.token},
                wait_timeout=TIMEOUT)
    try:
        yield sio
    finally:
        sio.disconnect()


def watch(services: Services, monkeypatch: pytest.MonkeyPatch, name: str,
          threads: list[threading.Thread]) -> None:
    """Note the thread of every call of ``services.streams.<name>``."""
    original = getattr(services.streams, name)

    def watched(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(services.streams, name, watched)


def test_a_connections_chunks_share_its_reader_thread_in_order(
        client: socketio.Client, user: User, services: Services,
        monkeypatch: pytest.MonkeyPatch) -> None:
    chunk_threads: list[threading.Thread] = []
    start_threads: list[threading.Thread] = []
    watch(services, monkeypatch, "chunk", chunk_threads)
    watch(services, monkeypatch, "start", start_threads)
    hs = HandStream(user.enroll(), user.nonce())
    assert client.call("start", hs.start_msg(), namespace=NS, timeout=TIMEOUT)["ok"]

    # Sent ahead, without waiting for acks: taken in order all the same.
    msgs = [hs.chunk_msg(seq, os.urandom(500 + seq)) for seq in range(20)]
    acks: list[dict[str, Any]] = []
    all_in = threading.Event()

    def acked(reply: dict[str, Any]) -> None:
        acks.append(reply)
        if len(acks) == len(msgs):
            all_in.set()

    for msg in msgs:
        client.emit("chunk", msg, namespace=NS, callback=acked)
    assert all_in.wait(TIMEOUT), acks
    assert [a.get("seq") for a in acks] == list(range(20)), acks
    assert all(a["ok"] for a in acks)

    # one thread for all twenty: the connection's own, not one started per chunk
    assert len(chunk_threads) == 20 and len(set(chunk_threads)) == 1, set(chunk_threads)
    assert start_threads[0] is not chunk_threads[0]


def test_a_long_stop_holds_up_nothing_else_on_its_connection(
        client: socketio.Client, user: User, services: Services,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hs = HandStream(user.enroll(), user.nonce())
    assert client.call("start", hs.start_msg(), namespace=NS, timeout=TIMEOUT)["ok"]
    assert client.call("chunk", hs.chunk_msg(0, os.urandom(800)), namespace=NS,
                       timeout=TIMEOUT)["ok"]

    entered, release = threading.Event(), threading.Event()
    original = services.streams.stop

    def slow_stop(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(TIMEOUT)
        return original(*args, **kwargs)

    monkeypatch.setattr(services.streams, "stop", slow_stop)
    stopped: list[dict[str, Any]] = []
    done = threading.Event()
    client.emit("stop", hs.stop_msg(), namespace=NS,
                callback=lambda reply: (stopped.append(reply), done.set()))
    try:
        assert entered.wait(TIMEOUT)
        # the same connection is answered while its stop is held
        other = HandStream(user.enroll(), user.nonce())
        assert client.call("start", other.start_msg(), namespace=NS, timeout=TIMEOUT)["ok"]
        ack = client.call("chunk", other.chunk_msg(0, b"meanwhile"), namespace=NS,
                          timeout=TIMEOUT)
        assert ack["ok"] and ack["seq"] == 0, ack
        resume = client.call("resume", {"stream_id": hs.id}, namespace=NS, timeout=TIMEOUT)
        assert resume["ok"] and resume["next_seq"] == 1, resume
        assert not done.is_set()
    finally:
        release.set()
    assert done.wait(TIMEOUT)
    assert stopped[0]["ok"], stopped
    assert stopped[0]["capture"]["stream"] == {"id": hs.id, "partial": False}
