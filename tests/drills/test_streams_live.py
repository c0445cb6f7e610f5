"""Fault drills for live streaming against real server processes and a real
Socket.IO client: kill -9 mid-stream, a dropped network, an abandoned stream."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from fieldproof.client.api import Client, DeviceKeyFile
from fieldproof.client.stream import StreamClient
from tests.support.live import LiveServer, free_port, run_cli
from tests.support.netproxy import CuttableProxy
from tests.support.recordings import Recordings
from tests.support.waiting import wait_until


def _server(tmp_path: Path, **env: str) -> LiveServer:
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2", **env})
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    return srv.start()


def _device(srv: LiveServer, tmp_path: Path, name: str, token: str | None = None,
            url: str | None = None) -> tuple[Client, DeviceKeyFile, str]:
    token = token or srv.create_user(f"{name}@example.org")
    api = Client(url or srv.url, token)
    key = DeviceKeyFile.load_or_create(tmp_path / f"{name}.pem", create=True)
    api.enroll(key)
    return api, key, token


def test_cli_stream_json(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    try:
        api, key, token = _device(srv, tmp_path, "cli")
        f = tmp_path / "talk.webm"
        f.write_bytes(os.urandom(150_000))
        out = run_cli("client", "stream", str(f), "--kind", "audio", "--mime", "audio/webm",
                      "--chunk-bytes", "16384", "--rate", "400000", "--json",
                      env={"FIELDPROOF_SERVER": srv.url, "FIELDPROOF_TOKEN": token,
                           "FIELDPROOF_KEY": str(key.path)})
        assert out.returncode == 0, out.stderr
        capture = json.loads(out.stdout)
        assert capture["media"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
        assert capture["manifest"]["stream"]["chunks"] == 10
        got = api.http.get(f"/captures/{capture['id']}/original").content
        assert got == f.read_bytes()
    finally:
        srv.stop()


class BlackHole:
    """A TCP server that accepts connections and never answers: a hung Redis."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_message_queue_that_never_answers_does_not_hold_the_acks(tmp_path: Path) -> None:
    """Progress goes out through the message queue after the ack, from a thread
    of its own: a Redis that takes connections and then says nothing loses the
    events, not the recording."""
    hole = BlackHole()
    srv = _server(tmp_path, FIELDPROOF_MESSAGE_QUEUE=f"redis://127.0.0.1:{hole.port}/0")
    try:
        api, key, _ = _device(srv, tmp_path, "hung")
        f = tmp_path / "talk.webm"
        f.write_bytes(os.urandom(40_000))
        acks: list[int] = []
        done: list[dict[str, Any]] = []
        sc = StreamClient(api, key, timeout=10, on_ack=lambda a: acks.append(a["seq"]))
        # In a thread: held acks would make the client retry for ever, not fail.
        threading.Thread(target=lambda: done.append(sc.stream_file(
            f, kind="audio", mime="audio/webm", chunk_bytes=8192, rate=400_000)),
            daemon=True).start()
        wait_until("the recording is stored", lambda: bool(done), timeout=60)
        capture = done[0]
        assert acks == [0, 1, 2, 3, 4]
        assert capture["media"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
        assert hole.held, "the server never tried the message queue"
    finally:
        srv.stop()
        hole.close()


def test_kill_9_server_during_20_streams(tmp_path: Path) -> None:
    port = free_port()
    srv = LiveServer(tmp_path / "var", port=port,
                     env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"})
    srv.data_dir.mkdir(parents=True)
    srv.start()
    token = srv.create_user("drill@example.org")
    rec = Recordings(srv.url, token, tmp_path, rate=48_000)
    files = {}
    for i in range(20):
        files[i] = tmp_path / f"rec{i}.webm"
        files[i].write_bytes(os.urandom(96_000 + i * 1000))
    threads = [rec.start(i, f) for i, f in files.items()]
    # Kill once chunks are being acknowledged, however slow the machine is: the
    # first acknowledgement of a few streams, not a fixed time.
    wait_until("several streams have acknowledged chunks",
               lambda: rec.streams_acked() >= 3, timeout=120)
    before_kill = rec.acks()
    srv.stop(sig=9)  # SIGKILL the whole server process group
    srv.start()  # same port, same data dir (start() waits until it answers)
    for t in threads:
        t.join(120)
    srv.stop()
    assert before_kill > 0, "the kill came before any chunk was acknowledged"
    rec.check(files)


def test_network_drop_mid_stream(tmp_path: Path) -> None:
    srv = _server(tmp_path)
    proxy = CuttableProxy(srv.port)
    try:
        api, key, _ = _device(srv, tmp_path, "net", url=f"http://127.0.0.1:{proxy.port}")
        f = tmp_path / "walk.webm"
        f.write_bytes(os.urandom(200_000))
        acks: list[int] = []
        sc = StreamClient(api, key, timeout=5, on_ack=lambda a: acks.append(a["seq"]))

        def saboteur() -> None:
            wait_until("five chunks acknowledged", lambda: len(acks) >= 5)
            proxy.cut()
            # Restore once the client has noticed (its next chunk is not answered),
            # not after a fixed time.
            wait_until("the client lost the connection", lambda: not sc.sio.connected)
            proxy.restore()

        t = threading.Thread(target=saboteur)
        t.start()
        capture = sc.stream_file(f, kind="audio", mime="audio/webm", chunk_bytes=8192,
                                 rate=100_000)
        t.join()
        assert proxy.cuts == 1
        assert capture["media"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    finally:
        proxy.close()
        srv.stop()


def test_stream_connection_retried_until_the_network_returns(tmp_path: Path) -> None:
    """The network drops between the HTTP nonce and the Socket.IO connect: the
    client keeps trying (as a phone walking between networks would) instead of
    failing the recording."""
    srv = _server(tmp_path)
    proxy = CuttableProxy(srv.port)
    try:
        api, key, _ = _device(srv, tmp_path, "late", url=f"http://127.0.0.1:{proxy.port}")
        f = tmp_path / "late.webm"
        f.write_bytes(os.urandom(40_000))

        class CutBeforeConnect(StreamClient):
            def connect(self) -> None:
                proxy.cut()
                threading.Timer(1.5, proxy.restore).start()
                super().connect()

        sc = CutBeforeConnect(api, key, timeout=5, give_up_after=30)
        t0 = time.monotonic()
        capture = sc.stream_file(f, kind="audio", mime="audio/webm", chunk_bytes=8192)
        assert time.monotonic() - t0 >= 1.4, "the connect cannot have succeeded while cut"
        assert capture["media"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    finally:
        proxy.close()
        srv.stop()


def test_abandoned_stream_becomes_verifiable_partial(tmp_path: Path) -> None:
    srv = _server(tmp_path, FIELDPROOF_STREAM_TIMEOUT="1")
    try:
        api, key, token = _device(srv, tmp_path, "gone")
        f = tmp_path / "cut-short.webm"
        f.write_bytes(os.urandom(64_000))
        sent: list[bytes] = []

        class Vanish(Exception):
            pass

        def on_ack(ack: dict[str, Any]) -> None:
            sent.append(ack["chain"])
            if len(sent) == 3:
                raise Vanish  # the phone is gone: no more chunks, no stop

        sc = StreamClient(api, key, on_ack=on_ack)
        with pytest.raises(Vanish):
            sc.stream_file(f, kind="audio", mime="audio/webm", chunk_bytes=4096)
        deadline = time.monotonic() + 30
        partial = None
        while time.monotonic() < deadline and partial is None:
            for c in api.get_json("/captures")["items"]:
                if c["stream"] and c["stream"]["partial"] and c["status"] == "anchored":
                    partial = c
            time.sleep(0.2)
        assert partial is not None, "no anchored partial capture appeared"
        assert partial["media"]["sha256"] == hashlib.sha256(f.read_bytes()[:3 * 4096]
                                                            ).hexdigest()
        out = run_cli("client", "receipt", partial["id"],
                      env={"FIELDPROOF_SERVER": srv.url, "FIELDPROOF_TOKEN": token})
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        srv.stop()
