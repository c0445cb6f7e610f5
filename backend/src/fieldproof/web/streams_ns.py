"""Socket.IO namespace /streams: protocol v2 live recording (see shared/PROTOCOL.md).

Every event is answered through its ack: ``{"ok": true, ...}`` or
``{"ok": false, "error": <problem details with a stable code>}``. Progress is
pushed to the recording user's other open sessions (room ``user:<id>``), so a
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

from flask import has_request_context, request
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


# name, data, room, and the session left out (the one that sent the chunk)
Outgoing = tuple[str, dict[str, Any], str, str | None]


def newest_progress_only(events: list[Outgoing]) -> list[Outgoing]:
    """Of several ``progress`` events of one stream to one room, the newest.

    It carries the totals (chunks, bytes, seconds) the others only led up to,
    and it stays where it was: after its stream's earlier events, before the
    ``capture`` that ends the stream. Everything else is kept, in order."""
    newest: dict[tuple[str, str], int] = {}
    for i, (name, data, room, _skip) in enumerate(events):
        if name == "progress":
            newest[(room, data["stream_id"])] = i
    return [ev for i, ev in enumerate(events)
            if ev[0] != "progress" or newest[(ev[2], ev[1]["stream_id"])] == i]


class Broadcaster:
    """Sends events to users' rooms from a thread of its own, in order.

    An ack never waits for them: with a message queue, an emit is a Redis
    publish, and a Redis that accepts connections but does not answer would
    otherwise hold every chunk's ack. Events are advisory (the acks and
    ``resume`` carry the truth), so when MAX_PENDING wait, newer ones are
    dropped and counted, never the chunk path blocked. A queue and a thread,
    hand-written: Flask-SocketIO's own background tasks would need one thread
    per event.

    When events pile up while one is sent (chunks arriving faster than they
    can be told, say a backlog sent after a reconnect), a stream's waiting
    ``progress`` events go out as one, the newest (``newest_progress_only``):
    a watcher shows only the latest, and every emit is work for this node, the
    message queue and every session in the room. ``coalesced`` counts those
    not sent."""

    MAX_PENDING = 10_000

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self._pending: queue.Queue[Outgoing] = queue.Queue(self.MAX_PENDING)
        self.dropped = 0
        self.coalesced = 0
        self._thread = threading.Thread(target=self._run, name="stream-events", daemon=True)
        self._thread.start()

    def send(self, event: str, data: dict[str, Any], room: str,
             skip_sid: str | None = None) -> None:
        try:
            self._pending.put_nowait((event, data, room, skip_sid))
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 10_000 == 0:
                log.warning("stream events are not getting out (message queue slow or down?): "
                            "%d dropped", self.dropped)

    def _run(self) -> None:
        while True:
            waiting = [self._pending.get()]
            while True:
                try:
                    waiting.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            sending = newest_progress_only(waiting)
            self.coalesced += len(waiting) - len(sending)
            for event, data, room, skip_sid in sending:
                try:
                    self.socketio.emit(event, data, to=room, namespace=NAMESPACE,
                                       skip_sid=skip_sid)
                except Exception:
                    log.exception("could not send a %s event", event)


def run_chunks_inline(server: Any) -> None:
    """Handle ``chunk`` events on their connection's own reader thread.

    python-socketio starts a new thread for every event (``async_handlers``). At
    hundreds of chunks a second that start cost 8% of the server's GIL time, and
    a connection's chunks gain nothing from it: a client sends the next chunk
    after the ack, and if it sends ahead they must be taken in order anyway.
    ``start``, ``resume`` and ``stop`` keep a thread each: a ``stop`` may take
    seconds (assembling a long recording), and on the reader thread it would
    hold back the client's Engine.IO pongs until the server, after
    ``ping_timeout``, gave the connection up.

    python-socketio has this switch only for all events at once, so its
    per-event dispatch is hooked here: it starts ``_handle_event_internal`` as a
    background task; for a chunk, that call is made at once instead. When the
    server runs every handler inline already (Flask-SocketIO's test client turns
    ``async_handlers`` off), nothing changes."""
    internal = server._handle_event_internal  # a bound method: compared, not called blind
    spawn = server.start_background_task

    def start_background_task(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # _handle_event's call: (server, sid, eio_sid, data, namespace, id)
        if (target == internal and len(args) == 6 and args[4] == NAMESPACE
                and isinstance(args[3], list) and args[3][:1] == ["chunk"]):
            target(*args, **kwargs)
            return None
        return spawn(target, *args, **kwargs)

    server.start_background_task = start_background_task


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
    run_chunks_inline(socketio.server)

    # Without a message queue this node knows every session there is (with one,
    # the user's other sessions may be on other nodes).
    single_node = not services.settings.message_queue

    def progress(user_id: int, event: dict[str, Any]) -> None:
        # Not to the session that sent the chunk: its ack says the same, and at
        # hundreds of chunks a second a second message per chunk to it would
        # double what the server writes (and the phone reads).
        sender = getattr(request, "sid", None) if has_request_context() else None
        room = user_room(user_id)
        if single_node and all(sid == sender for sid, _ in
                               socketio.server.manager.get_participants(NAMESPACE, room)):
            return  # nobody else to tell
        events.send("progress", event, room, sender)

    services.streams.on_progress = progress
