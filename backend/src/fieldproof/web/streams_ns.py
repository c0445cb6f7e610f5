"""Socket.IO namespace /streams: protocol v2 live recording (see shared/PROTOCOL.md).

Every event is answered through its ack: ``{"ok": true, ...}`` or
``{"ok": false, "error": <problem details with a stable code>}``. Progress is
pushed to every open session of the recording user (room ``user:<id>``), so a
second device can watch a recording while it is being made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_socketio import Namespace, SocketIO, join_room

from ..core.stream import StreamError
from ..errors import BadRequest, FieldProofError, Unauthorized, map_storage_error
from ..services.accounts import Principal, Revocation
from ..services.container import Services

log = logging.getLogger(__name__)
NAMESPACE = "/streams"


@dataclass
class _Bucket:
    """Token buckets for one connection: bytes/s and chunks/s."""

    rate_bytes: float
    rate_chunks: float
    bytes: float = 0.0
    chunks: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, size: int) -> float:
        """0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        dt, self.stamp = now - self.stamp, now
        self.bytes = min(self.rate_bytes, self.bytes + dt * self.rate_bytes)
        self.chunks = min(self.rate_chunks, self.chunks + dt * self.rate_chunks)
        if self.bytes < size or self.chunks < 1:
            return max((size - self.bytes) / self.rate_bytes, (1 - self.chunks) / self.rate_chunks)
        self.bytes -= size
        self.chunks -= 1
        return 0.0


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


class StreamNamespace(Namespace):  # type: ignore[misc]
    def __init__(self, services: Services, socketio: SocketIO) -> None:
        super().__init__(NAMESPACE)
        self.services = services
        self.socketio = socketio
        self._principals: dict[str, Principal] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._ended: dict[str, str] = {}  # sid -> why its token stopped being valid
        self._lock = threading.Lock()
        services.accounts.on_revoked.append(self._on_revoked)

    # -- connection -------------------------------------------------------------
    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            token = value if scheme.lower() == "bearer" else None
        try:
            principal = self.services.accounts.principal(str(token or ""))
        except Unauthorized as exc:
            raise ConnectionRefusedError(exc.problem()) from exc
        settings = self.services.settings
        with self._lock:
            self._principals[request.sid] = principal  # type: ignore[attr-defined]
            self._buckets[request.sid] = _Bucket(  # type: ignore[attr-defined]
                settings.stream_max_bytes_per_second, settings.stream_max_chunks_per_second,
                settings.stream_max_bytes_per_second, settings.stream_max_chunks_per_second)
        join_room(user_room(principal.user_id))

    def on_disconnect(self, reason: Any = None) -> None:
        with self._lock:
            self._principals.pop(request.sid, None)  # type: ignore[attr-defined]
            self._buckets.pop(request.sid, None)  # type: ignore[attr-defined]
            self._ended.pop(request.sid, None)  # type: ignore[attr-defined]

    def _on_revoked(self, what: Revocation) -> None:
        """A token was revoked (signed out): end every socket it opened, now."""
        if what.token_id is None:
            return  # a revoked device's streams are refused chunk by chunk
        with self._lock:
            sids = [sid for sid, p in self._principals.items() if p.token_id == what.token_id]
            for sid in sids:
                del self._principals[sid]
                self._ended[sid] = "token_invalid"
        for sid in sids:
            self.socketio.server.disconnect(sid, namespace=NAMESPACE)

    def _principal(self) -> Principal:
        sid = request.sid  # type: ignore[attr-defined]
        principal = self._principals.get(sid)
        if principal is None:
            if self._ended.get(sid) == "token_invalid":
                raise Unauthorized("the token was revoked", code="token_invalid")
            raise Unauthorized("connect with a token first", code="token_missing")
        if principal.expired():
            with self._lock:
                self._principals.pop(sid, None)
            raise Unauthorized("the token has expired; renew it and reconnect",
                               code="token_expired")
        return principal

    def _call(self, data: Any, fn: Callable[[Principal, dict[str, Any]], dict[str, Any]]
              ) -> dict[str, Any]:
        try:
            principal = self._principal()
            if not isinstance(data, dict):
                raise BadRequest("send an object", code="bad_request")
            return {"ok": True, **fn(principal, data)}
        except FieldProofError as exc:
            return {"ok": False, "error": exc.problem()}
        except (KeyError, TypeError, ValueError) as exc:
            return {"ok": False, "error": BadRequest(f"malformed message: {exc}",
                                                    code="bad_request").problem()}
        except Exception as exc:
            mapped = map_storage_error(exc)
            if mapped is not None:
                log.error("stream handler: %s", mapped.detail)
                return {"ok": False, "error": mapped.problem()}
            log.exception("stream handler failed")
            return {"ok": False, "error": FieldProofError("internal error").problem()}

    # -- events -----------------------------------------------------------------
    def on_start(self, data: Any) -> dict[str, Any]:
        return self._call(data, lambda p, d: self.services.streams.start(
            p, str(d["header"]), str(d["signature"])))

    def on_resume(self, data: Any) -> dict[str, Any]:
        return self._call(data, lambda p, d: self.services.streams.resume(
            p, str(d["stream_id"])))

    def on_chunk(self, data: Any) -> dict[str, Any]:
        def chunk(p: Principal, d: dict[str, Any]) -> dict[str, Any]:
            payload = d["data"]
            if not isinstance(payload, bytes | bytearray):
                raise BadRequest("'data' must be binary", code="bad_request")
            bucket = self._buckets.get(request.sid)  # type: ignore[attr-defined]
            wait = bucket.take(len(payload)) if bucket else 0.0
            if wait:
                raise StreamError("slow down", code="rate_limited", status=429,
                                  retry_after=round(wait, 3))
            return self.services.streams.chunk(p, str(d["header"]), str(d["signature"]),
                                               bytes(payload))
        return self._call(data, chunk)

    def on_stop(self, data: Any) -> dict[str, Any]:
        def stop(p: Principal, d: dict[str, Any]) -> dict[str, Any]:
            capture = self.services.streams.stop(p, str(d["stream_id"]), str(d["manifest"]),
                                                 str(d["signature"]))
            self.socketio.emit("capture", {"id": capture["id"], "status": capture["status"],
                                           "stream_id": d["stream_id"]},
                               to=user_room(p.user_id), namespace=NAMESPACE)
            return {"capture": capture}
        return self._call(data, stop)


def install(socketio: SocketIO, services: Services) -> None:
    socketio.on_namespace(StreamNamespace(services, socketio))

    def progress(user_id: int, event: dict[str, Any]) -> None:
        socketio.emit("progress", event, to=user_room(user_id), namespace=NAMESPACE)

    services.streams.on_progress = progress
