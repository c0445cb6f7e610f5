"""Reliability drills against a real `fieldproof serve` process (issue 9).

Slow clients, a crash that leaves upload spools behind, a full disk, an
oversized stream chunk and malformed HTTP: each with real sockets, a real
server process and, for the full disk, a real (tiny) tmpfs.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from fieldproof.core.canonical import canonicalize
from tests.conftest import DeviceKey
from tests.live import LiveServer, run_cli
from tests.photos import jpeg
from tests.streams import NS, HandStream

PROBLEM = "application/problem+json"


def wait_until(what: str, cond: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still not true after {timeout:.0f} s: {what}")
        time.sleep(0.05)


class SlowClients:
    """``n`` connections that each send a little every ``interval`` seconds.

    ``mode="headers"``: a request line, then one header line at a time, never
    ending the head. ``mode="body"``: a whole head for a small JSON body to
    the public POST /lookup, then one body byte at a time.
    """

    def __init__(self, port: int, n: int, *, mode: str, interval: float = 1.0) -> None:
        self.port, self.n, self.mode, self.interval = port, n, mode, interval
        self.socks: list[socket.socket] = []
        self.answers: dict[int, bytes] = {}
        self.closed: set[int] = set()
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            if self.mode == "headers":
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: drill\r\n")
            else:
                s.sendall(b"POST /api/v1/lookup HTTP/1.1\r\nHost: drill\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 80\r\n\r\n{")
            s.setblocking(False)
            self.socks.append(s)
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.interval):
            i += 1
            for k, s in enumerate(self.socks):
                if k in self.closed:
                    continue
                try:
                    data = s.recv(4096)
                    if data:
                        self.answers[k] = self.answers.get(k, b"") + data
                    else:
                        self.closed.add(k)
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    self.closed.add(k)
                    continue
                try:
                    s.send(f"X-Slow-{i}: {'y' * 10}\r\n".encode() if self.mode == "headers"
                           else b" ")
                except OSError:
                    self.closed.add(k)
            self.rounds = i

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)
        for s in self.socks:
            s.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"},
                     args=("--threads", "8"))
    srv.data_dir.mkdir(parents=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("mode", ["headers", "body"])
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
        wait_until("every slow client was answered or closed",
                   lambda: len(slow.closed | set(slow.answers)) == slow.n, timeout=90)
    answered = [a for a in slow.answers.values() if a]
    assert answered and all(a.startswith(b"HTTP/1.1 408") and PROBLEM.encode() in a
                            for a in answered)


def test_gunicorns_own_errors_are_problem_json(server: LiveServer) -> None:
    def raw(request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as s:
            s.sendall(request)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out

    for request, status in ((b"HELLO THERE\r\n\r\n", b"400"),
                            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 +
                             b"\r\n\r\n", b"431")):
        answer = raw(request)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == status, answer[:200]
        assert PROBLEM.encode() in head
        assert json.loads(body)["status"] == int(status)


def _start_slow_upload(srv: LiveServer, token: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    boundary = "drillboundary"
    s.sendall(
        f"POST /api/v1/captures HTTP/1.1\r\nHost: drill\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {40 << 20}\r\n\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="media"; filename="m.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode() + os.urandom(3 << 20))
    return s


def test_a_crash_leaves_no_upload_spools_for_good(tmp_path: Path) -> None:
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"})
    srv.data_dir.mkdir(parents=True)
    srv.start()
    token = srv.create_user("crash@example.org")
    tmp_dir = srv.data_dir / "store" / "tmp"

    def spools() -> list[Path]:
        return [p for p in tmp_dir.glob("upload-*") if p.stat().st_size > (1 << 20)]

    socks = [_start_slow_upload(srv, token) for _ in range(3)]
    try:
        wait_until("three uploads are being spooled", lambda: len(spools()) == 3)
        srv.stop(signal.SIGKILL)
        left = spools()
        assert len(left) == 3  # what a crash leaves behind
        srv.start()
        wait_until("the restarted server removed the leftovers",
                   lambda: not any(p.exists() for p in left))
        # and it serves: a new upload works
        files = {"manifest": "{}", "signature": "x", "media": ("m", b"1")}
        r = httpx.post(srv.url + "/api/v1/captures", files=files,
                       headers={"Authorization": f"Bearer {token}"}, timeout=15)
        assert r.status_code == 400  # a bad manifest: the server answered
    finally:
        for s in socks:
            s.close()
        srv.stop()


# --------------------------------------------------------------------------- a full disk
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 48 MiB tmpfs: the disk that fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs",
                          str(mount)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"this drill needs to mount a tmpfs (as root): {out.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_answers_507_and_loses_nothing(small_disk: Path) -> None:
    srv = LiveServer(small_disk / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"})
    srv.data_dir.mkdir()
    srv.start()
    try:
        token = srv.create_user("full@example.org")
        auth = {"Authorization": f"Bearer {token}"}
        device = DeviceKey()
        assert httpx.post(srv.url + "/api/v1/devices", json={"jwk": device.jwk},
                          headers=auth).status_code == 201
        stored: list[tuple[str, str]] = []
        statuses: list[int] = []
        for i in range(40):  # 40 x 3 MiB cannot fit in 48 MiB
            media = jpeg(make=f"fill{i}") + os.urandom(3 << 20)
            r = _upload(srv, auth, device, media)
            statuses.append(r.status_code)
            if r.status_code == 201:
                stored.append((r.json()["id"], hashlib.sha256(media).hexdigest()))
                continue
            assert r.status_code == 507, r.text
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.json()["code"] == "storage_full"
            break
        assert statuses[-1] == 507 and stored
        # a stream chunk on the full disk: the same code, over Socket.IO
        reply = _chunk_on_full_disk(srv, token, device, auth)
        assert reply["ok"] is False and reply["error"]["code"] in ("storage_full",), reply
        # reads: served, or refused with the reason; never a bare 500
        for cid, _ in stored:
            for path in ("", "/original"):
                r = httpx.get(f"{srv.url}/api/v1/captures/{cid}{path}", headers=auth)
                assert r.status_code in (200, 503), r.text
                if r.status_code == 503:
                    assert r.json()["code"] == "custody_unavailable"
        # room again: every acknowledged capture is there, byte-exact
        srv.stop()
        subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
        srv.start()
        for cid, sha in stored:
            r = httpx.get(f"{srv.url}/api/v1/captures/{cid}/original", headers=auth,
                          timeout=30)
            assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha
    finally:
        srv.stop()


def _upload(srv: LiveServer, auth: dict[str, str], device: DeviceKey,
            media: bytes) -> httpx.Response:
    from datetime import UTC, datetime

    from fieldproof.core.manifest import new_manifest
    from tests.streams import DEVICE

    nonce = httpx.post(srv.url + "/api/v1/nonces", headers=auth).json()["nonce"]
    now = datetime.now(UTC)
    m = new_manifest(kind="import", sha256=hashlib.sha256(media).hexdigest(), size=len(media),
                     mime="image/jpeg", start=now, end=now, nonce=nonce,
                     key_id=device.key_id, prev=None, device=DEVICE)
    raw = canonicalize(m)
    return httpx.post(srv.url + "/api/v1/captures", headers=auth, timeout=60,
                      data={"manifest": raw.decode(), "signature": device.sign(raw)},
                      files={"media": ("m.jpg", media)})


def _socket(srv: LiveServer, token: str) -> socketio.Client:
    sio = socketio.Client()
    sio.connect(srv.url, auth={"token": token}, namespaces=[NS], transports=["websocket"],
                wait_timeout=15)
    return sio


def _chunk_on_full_disk(srv: LiveServer, token: str, device: DeviceKey,
                        auth: dict[str, str]) -> dict[str, Any]:
    nonce = httpx.post(srv.url + "/api/v1/nonces", headers=auth).json()["nonce"]
    hs = HandStream(device, nonce)
    sio = _socket(srv, token)
    try:
        started = sio.call("start", hs.start_msg(), namespace=NS, timeout=15)
        if not started["ok"]:  # the nonce row itself may not fit any more
            return dict(started)
        return dict(sio.call("chunk", hs.chunk_msg(0, os.urandom(3 << 20)), namespace=NS,
                             timeout=30))
    finally:
        sio.disconnect()


# --------------------------------------------------------------------------- big chunks
def test_an_oversized_chunk_is_refused_not_dropped(server: LiveServer, tmp_path: Path) -> None:
    token = server.create_user("chunks@example.org")
    auth = {"Authorization": f"Bearer {token}"}
    device = DeviceKey()
    assert httpx.post(server.url + "/api/v1/devices", json={"jwk": device.jwk},
                      headers=auth).status_code == 201
    nonce = httpx.post(server.url + "/api/v1/nonces", headers=auth).json()["nonce"]
    hs = HandStream(device, nonce)
    sio = _socket(server, token)
    try:
        start = sio.call("start", hs.start_msg(), namespace=NS, timeout=15)
        assert start["max_chunk_bytes"] == 4 * 1024 * 1024
        reply = sio.call("chunk", hs.chunk_msg(0, os.urandom(5_000_000)), namespace=NS,
                         timeout=30)
        assert reply["ok"] is False and reply["error"]["code"] == "too_large"
        assert sio.connected
    finally:
        sio.disconnect()
    # the CLI learns the limit from the server and fails at once, with its message
    from fieldproof.client import Client, DeviceKeyFile

    key = DeviceKeyFile.load_or_create(tmp_path / "cli.pem", create=True)
    Client(server.url, token).enroll(key)
    f = tmp_path / "big.webm"
    f.write_bytes(os.urandom(6_000_000))
    out = run_cli("client", "stream", str(f), "--kind", "audio", "--mime", "audio/webm",
                  "--chunk-bytes", "5000000",
                  env={"FIELDPROOF_SERVER": server.url, "FIELDPROOF_TOKEN": token,
                       "FIELDPROOF_KEY": str(key.path)}, timeout=60)
    assert out.returncode != 0
    assert "at most 4194304 bytes" in out.stderr and "too_large" in out.stderr
