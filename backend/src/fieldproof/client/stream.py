"""Stream a file as if it were being recorded live (protocol v2, Socket.IO).

Used by `fieldproof client stream`, the tests and the benchmarks. Chunks are
read from the file as they are sent (paced at ``rate`` bytes/s), so memory
stays flat. After a disconnect or a server restart the client reconnects,
asks where the durable copy ends (``resume``) and carries on from there; it
returns only after the server's final ack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import socketio

from fieldproof.client.api import Client, ClientError, DeviceKeyFile, device_metadata
from fieldproof.core.canonical import canonicalize
from fieldproof.core.encoding import b64url_encode
from fieldproof.core.files import file_sha256
from fieldproof.core.manifest import new_manifest, utc_text
from fieldproof.core.stream import chunk_header

log = logging.getLogger(__name__)
NAMESPACE = "/streams"
RETRYABLE = {"rate_limited"}
MAX_DROPS_PER_CHUNK = 8


class StreamClient:
    def __init__(self, api: Client, key: DeviceKeyFile, *, timeout: float = 30.0,
                 give_up_after: float = 300.0,
                 on_ack: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.api = api
        self.key = key
        self.timeout = timeout
        self.give_up_after = give_up_after
        self.on_ack = on_ack or (lambda _ack: None)
        self.progress: list[dict[str, Any]] = []
        self._connected = threading.Event()
        self.sio = socketio.Client(reconnection=True, reconnection_attempts=0,
                                   reconnection_delay=0.2, reconnection_delay_max=2.0)
        self.sio.on("connect", self._connected.set, namespace=NAMESPACE)
        self.sio.on("disconnect", lambda *a: self._connected.clear(), namespace=NAMESPACE)
        self.sio.on("progress", self.progress.append, namespace=NAMESPACE)

    def connect(self) -> None:
        """Open the connection, retrying with backoff for up to ``give_up_after`` seconds.

        The HTTP nonce request has already reached the server, so a failure here is a
        transient one (a server restarting, a phone between networks): keep trying, as
        the reconnect logic does once the stream is open.
        """
        token = self.api.http.headers["Authorization"].split(" ", 1)[1]
        deadline = time.monotonic() + self.give_up_after
        delay = 0.2
        while True:
            try:
                self.sio.connect(self.api.server, auth={"token": token},
                                 namespaces=[NAMESPACE], transports=["websocket"],
                                 wait_timeout=self.timeout)
                break
            except socketio.exceptions.ConnectionError as exc:
                if time.monotonic() + delay > deadline:
                    raise ClientError(f"cannot open the stream connection: {exc}",
                                      code="unreachable", exit_status=2) from exc
                log.info("stream connection failed (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._connected.wait(self.timeout)

    def close(self) -> None:
        self.sio.disconnect()

    def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send one event and wait for its ack, riding out disconnects."""
        deadline = time.monotonic() + self.give_up_after
        while True:
            if not self._connected.wait(max(0.0, deadline - time.monotonic())):
                raise ClientError(f"no connection to the server for {self.give_up_after:.0f} s",
                                  code="unreachable", exit_status=2)
            try:
                reply = self.sio.call(event, data, namespace=NAMESPACE, timeout=self.timeout)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.DisconnectedError):
                if time.monotonic() > deadline:
                    raise ClientError("the server stopped answering", code="unreachable",
                                      exit_status=2) from None
                time.sleep(0.1)
                raise _Reconnected() from None
            if not isinstance(reply, dict):
                raise ClientError(f"unexpected reply {reply!r}", code="protocol_error")
            if reply.get("ok"):
                return reply
            err = reply.get("error") or {}
            if err.get("code") in RETRYABLE:
                time.sleep(float(err.get("retry_after", 0.1)))
                continue
            raise ClientError(err.get("detail", "refused"), code=err.get("code", "error"),
                              http_status=err.get("status", 1))

    def stream_file(self, path: Path, *, kind: str, mime: str, chunk_bytes: int = 64 * 1024,
                    rate: float | None = None, geo: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
        """Stream ``path`` and finish it; returns the capture JSON."""
        size = path.stat().st_size
        if size == 0:
            raise ClientError("nothing to stream: the file is empty", code="bad_request",
                              exit_status=2)
        started = datetime.now(UTC)
        nonce = self.api.nonce()["nonce"]
        prev = self.key.chain_head() if self.key.has_state() else (
            (self.api.device(self.key.key_id) or {}).get("head_manifest"))
        device = {"key_id": self.key.key_id, **device_metadata()}
        header = {"v": 2, "type": "fieldproof.stream", "kind": kind, "mime": mime,
                  "nonce": nonce, "started_at": utc_text(started),
                  "geo": geo if geo is not None else {"absent": "not_provided"},
                  "device": device, "prev": prev}
        header_bytes = canonicalize(header)
        self.connect()
        try:
            state = self._retrying(lambda: self.call("start", {
                "header": header_bytes.decode(), "signature": b64url_encode(
                    self.key.sign(header_bytes))}))
            stream_id = state["stream_id"]
            limit = state.get("max_chunk_bytes")
            if limit is not None and chunk_bytes > int(limit):
                # Fail fast: a larger message would only be dropped on the way.
                raise ClientError(f"the server accepts chunks of at most {limit} bytes; "
                                  f"use --chunk-bytes {limit} or less", code="too_large",
                                  exit_status=2)
            chains = [bytes.fromhex(stream_id)]  # chains[n] = chain before chunk n
            t0 = time.monotonic()
            seq = 0
            drops: dict[int, int] = {}  # a server that keeps dropping one chunk: stop
            with path.open("rb") as fh:
                while seq * chunk_bytes < size:
                    offset = seq * chunk_bytes
                    if rate:
                        delay = t0 + offset / rate - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    fh.seek(offset)
                    data = fh.read(chunk_bytes)
                    head, chain = chunk_header(stream_id=stream_id, seq=seq, data=data,
                                               prev_chain=chains[seq], at=datetime.now(UTC))
                    if len(chains) == seq + 1:
                        chains.append(chain)
                    head_bytes = canonicalize(head)
                    msg = {"header": head_bytes.decode(), "data": data,
                           "signature": b64url_encode(self.key.sign(head_bytes))}
                    try:
                        ack = self.call("chunk", msg)
                    except _Reconnected:
                        drops[seq] = drops.get(seq, 0) + 1
                        if drops[seq] >= MAX_DROPS_PER_CHUNK:
                            raise ClientError(
                                f"the connection dropped {drops[seq]} times while sending "
                                f"chunk {seq}; giving up", code="unreachable",
                                exit_status=2) from None
                        seq = self._resume(stream_id)
                        continue
                    except ClientError as exc:
                        if exc.code != "gap":
                            raise
                        seq = self._resume(stream_id)
                        continue
                    self.on_ack(ack)
                    seq += 1
            count = seq
            sha, total = file_sha256(path)
            # Everything the header bound, restated exactly (the server checks).
            manifest = new_manifest(kind=kind, sha256=sha, size=total, mime=mime,
                                    start=started, end=datetime.now(UTC), nonce=nonce,
                                    key_id=self.key.key_id, prev=prev,
                                    device={k: v for k, v in device.items() if k != "key_id"},
                                    geo=geo)
            manifest["stream"] = {"id": stream_id, "chunks": count,
                                  "chain_head": chains[count].hex()}
            canonical = canonicalize(manifest)
            sig = b64url_encode(self.key.sign(canonical))
            result = self._retrying(lambda: self.call("stop", {
                "stream_id": stream_id, "manifest": canonical.decode(), "signature": sig}))
            capture: dict[str, Any] = result["capture"]
            self.key.set_chain_head(capture["manifest_hash"])
            return capture
        finally:
            self.close()

    def _resume(self, stream_id: str) -> int:
        state = self._retrying(lambda: self.call("resume", {"stream_id": stream_id}))
        log.info("resumed stream %s at chunk %d", stream_id[:12], state["next_seq"])
        return int(state["next_seq"])

    @staticmethod
    def _retrying(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        while True:
            try:
                return fn()
            except _Reconnected:
                continue


class _Reconnected(Exception):
    """The connection dropped mid-call; the caller re-synchronises."""
