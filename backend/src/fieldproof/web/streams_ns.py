"""Socket.IO namespace /streams: protocol v2 live recording (see shared/PROTOCOL.md).

Every event is answered through its ack: ``{"ok": true, ...}`` or
``{"ok": false, "error": <problem details with a stable code>}``. Progress is
pushed to every open session of the recording user (room ``user:<id>``), so a
second device can watch a recording while it is being made; it is sent after
the ack, from a thread of its own (Broadcaster).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import Namespace, SocketIO, join_room

from fieldproof.accounts.accounts import Principal, Revocation
from fieldproof.errors import (
    BadRequest,
    FieldProofError,
    RateLimited,
    TokenExpired,
    TokenInvalid,
    TokenMissing,
    Unauthorized,
    UnknownEvent,
    map_storage_error,
)
from fieldproof.ratelimit import TokenBucket
from fieldproof.services import Services
from fieldproof.web.revocations import RevocationRelay
from fieldproof.web.serialize import capture_json

log = logging.getLogger(__name__)
NAMESPACE = "/streams"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


class StreamNamespace(Namespace):  # type: ignore[misc]
    def __init__(self, services: Services, socketio: SocketIO, events: Broadcaster) -> None:
        super().__init__(NAMESPACE)
        self.services = services
        self.socketio = socketio
        self.events = events
        self._principals: dict[str, Principal] = {}
        # Per connection: bytes/s and chunks/s, each a burst of one second's worth.
        self._limits: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self._ended: dict[str, str] = {}  # sid -> why its token stopped being valid
        self._lock = threading.Lock()
        if services.settings.message_queue:
            # every node, this one too, hears it from Redis
            relay = RevocationRelay(services.settings.message_queue, self._on_revoked)
            services.accounts.on_revoked.append(relay.publish)
        services.accounts.on_revoked.append(self._on_revoked)

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Route to ``on_<event>``; an event this namespace does not know is acked
        with the stable error ``unknown_event`` instead of silence."""
        if not hasattr(self, "on_" + (event or "")):
            return {"ok": False, "error": UnknownEvent(
                f"{NAMESPACE} has no event {event!r}: start, chunk, resume, stop").problem()}
        return super().trigger_event(event, *args)

    # -- connection -------------------------------------------------------------
    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            token = value if scheme.lower() == "bearer" else None
        try:
            principal = self.services.accounts.principal(str(token or ""))
        except Unauthorized as exc:
            # The connect error's "message" is the stable code; "data" the problem.
            raise SocketRefused(exc.code, exc.problem()) from exc
        settings = self.services.settings
        limits = (TokenBucket(capacity=settings.stream_max_bytes_per_second,
                              per_second=settings.stream_max_bytes_per_second),
                  TokenBucket(capacity=settings.stream_max_chunks_per_second,
                              per_second=settings.stream_max_chunks_per_second))
        with self._lock:
            self._principals[request.sid] = principal  # type: ignore[attr-defined]
            self._limits[request.sid] = limits  # type: ignore[attr-defined]
        join_room(user_room(principal.user_id))

    def on_disconnect(self, reason: Any = None) -> None:
        with self._lock:
            self._principals.pop(request.sid, None)  # type: ignore[attr-defined]
            self._limits.pop(request.sid, None)  # type: ignore[attr-defined]
            self._ended.pop(request.sid, None)  # type: ignore[attr-defined]

    def _on_revoked(self, what: Revocation) -> None:
        """A token was revoked (signed out): end every socket it opened, now."""
        if what.device_id is not None:
            self.services.streams.forget_device(what.device_id)  # refused from its next chunk
        if what.token_id is not None:
            self._end_token(what.token_id)

    def _end_token(self, token_id: int) -> None:
        """End this node's sockets of a revoked token (told here or by another node)."""
        with self._lock:
            sids = [sid for sid, p in self._principals.items() if p.token_id == token_id]
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
                raise TokenInvalid("the token was revoked")
            raise TokenMissing("connect with a token first")
        if principal.expired():
            with self._lock:
                self._principals.pop(sid, None)
            raise TokenExpired("the token has expired; renew it and reconnect")
        return principal

    def _call(self, data: Any, fn: Callable[[Principal, dict[str, Any]], dict[str, Any]]
              ) -> dict[str, Any]:
        try:
            principal = self._principal()
            if not isinstance(data, dict):
                raise BadRequest("send an object")
            return {"ok": True, **fn(principal, data)}
        except FieldProofError as exc:
            return {"ok": False, "error": exc.problem()}
        except (KeyError, TypeError, ValueError) as exc:
            return {"ok": False, "error": BadRequest(f"malformed message: {exc}").problem()}
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
                raise BadRequest("'data' must be binary")
            sid = request.sid  # type: ignore[attr-defined]
            per_bytes, per_chunk = self._limits[sid]
            wait = max(per_bytes.needed(sid, len(payload)), per_chunk.needed(sid))
            if wait:
                raise RateLimited("slow down", retry_after=round(wait, 3))
            per_bytes.take(sid, len(payload))
            per_chunk.take(sid)
            return self.services.streams.chunk(p, str(d["header"]), str(d["signature"]),
                                               bytes(payload))
        return self._call(data, chunk)

    def on_stop(self, data: Any) -> dict[str, Any]:
        def stop(p: Principal, d: dict[str, Any]) -> dict[str, Any]:
            capture = self.services.streams.stop(p, str(d["stream_id"]), str(d["manifest"]),
                                                 str(d["signature"]))
            self.events.send("capture", {"id": capture.id, "status": capture.status,
                                         "stream_id": d["stream_id"]}, user_room(p.user_id))
            return {"capture": capture_json(capture)}
        return self._call(data, stop)


class Broadcaster:
    """Sends events to users' rooms from a thread of its own, in order.

    An ack never waits for them: with a message queue, an emit is a Redis
    publish, and a Redis that accepts connections but does not answer would
    otherwise hold every chunk's ack. Events are advisory (the acks and
    ``resume`` carry the truth), so when MAX_PENDING wait, newer ones are
    dropped and counted, never the chunk path blocked. A queue and a thread,
    hand-written: Flask-SocketIO's own background tasks would need one thread
    per event."""

    MAX_PENDING = 10_000

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self._pending: queue.Queue[tuple[str, dict[str, Any], str]] = queue.Queue(
            self.MAX_PENDING)
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="stream-events", daemon=True)
        self._thread.start()

    def send(self, event: str, data: dict[str, Any], room: str) -> None:
        try:
            self._pending.put_nowait((event, data, room))
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 10_000 == 0:
                log.warning("stream events are not getting out (message queue slow or down?): "
                            "%d dropped", self.dropped)

    def _run(self) -> None:
        while True:
            event, data, room = self._pending.get()
            try:
                self.socketio.emit(event, data, to=room, namespace=NAMESPACE)
            except Exception:
                log.exception("could not send a %s event", event)


class HandshakeGuard:
    """An Engine.IO connection must join /streams (which checks its token) soon.

    The token is only seen when a client connects to the namespace, after the
    WebSocket is open; a client that opens sockets and never gets that far
    would hold a server thread each for as long as it likes. It gets GRACE
    seconds, then it is closed. One thread watches, only while someone waits.
    """

    GRACE = 10.0

    def __init__(self, server: Any) -> None:  # a python-socketio Server
        self.server = server
        self._waiting: dict[str, float] = {}  # Engine.IO sid -> deadline
        self._lock = threading.Lock()
        self._watching = False
        joined = server._handle_eio_connect  # python-socketio's own handler, kept

        def on_connect(eio_sid: str, environ: dict[str, Any]) -> Any:
            result = joined(eio_sid, environ)
            with self._lock:
                self._waiting[eio_sid] = time.monotonic() + self.GRACE
                if not self._watching:
                    self._watching = True
                    threading.Thread(target=self._watch, name="eio-handshake-guard",
                                     daemon=True).start()
            return result

        server.eio.on("connect", on_connect)

    def _close(self, eio_sid: str) -> None:
        # Engine.IO's own disconnect() waits for the socket's send queue to drain,
        # which an idle client's thread may never do: close without waiting.
        eio = self.server.eio
        try:
            eio._get_socket(eio_sid).close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
        except KeyError:
            return  # gone already
        log.info("closed a socket that did not sign in within %.0f s", self.GRACE)

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            with self._lock:
                late = [sid for sid, deadline in self._waiting.items()
                        if self.server.manager.sid_from_eio_sid(sid, NAMESPACE) is not None
                        or deadline <= now]
                for sid in late:
                    del self._waiting[sid]
                if not self._waiting:
                    self._watching = False
            for sid in late:
                if self.server.manager.sid_from_eio_sid(sid, NAMESPACE) is None:
                    self._close(sid)
            if not self._watching:
                return


def install(socketio: SocketIO, services: Services) -> None:
    events = Broadcaster(socketio)
    socketio.on_namespace(StreamNamespace(services, socketio, events))
    HandshakeGuard(socketio.server)

    def progress(user_id: int, event: dict[str, Any]) -> None:
        events.send("progress", event, user_room(user_id))

    services.streams.on_progress = progress
