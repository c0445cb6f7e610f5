"""The gunicorn worker `fieldproof serve` runs: gthread, guarded against slow clients.

gunicorn's gthread worker hands every new connection to a thread, which then
blocks reading the request. A client that sends its headers one line every few
seconds, or trickles a small body, holds that thread; a few hundred of them
hold them all, and nothing else (not even /health) is answered.

This worker reads each request's head, and a small body with it (by
Content-Length, or chunked up to its last chunk, answering ``Expect:
100-continue`` itself), in the event loop, where a waiting socket costs no
thread. A request reaches a thread only once it is complete, or when its body
is large: uploads, which need a signed-in client (checked before the body is
read; an unauthenticated one is refused and drained for at most 5 s) and have
an idle timeout. Too slow a client
is answered ``408`` and closed. Errors gunicorn itself answers (400, 414, 431)
are problem+json like every other error.

In production, put a buffering reverse proxy in front as well (nginx buffers
whole requests by default; docker/ and the README show it). This guard is what
keeps the built-in server safe on its own, e.g. on a LAN.

Why a subclass instead of a library: gunicorn has no option for a header or
body read deadline, and the Flask-SocketIO stack needs a WSGI server that
hands WebSockets their socket (gunicorn gthread), which rules out servers that
buffer requests themselves (waitress has no WebSocket upgrade).
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_TIMEOUT = 10.0  # seconds for the request line and headers to arrive
BODY_TIMEOUT = 30.0  # seconds (from the first byte) for a small body to arrive
BODY_PREFETCH = 72 * 1024  # bodies up to this size are read before a thread is used
MAX_HEAD = 64 * 1024  # past this without an end of headers, gunicorn answers 431
IDLE_TIMEOUT = 60.0  # a thread reading a large body gives up after this much silence

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,19})[ \t]*(?=\r\n|$)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.I)
_EXPECT = re.compile(rb"\r\nexpect:[ \t]*100-continue", re.I)
_EXPECT_LINE = re.compile(rb"(?<=\r\n)expect:[ \t]*100-continue[ \t]*\r\n", re.I)
_UPGRADE = "websocket"

_CODES = {400: "bad_request", 403: "forbidden", 408: "request_timeout", 414: "uri_too_long",
          417: "expectation_failed", 431: "headers_too_large", 500: "internal_error",
          501: "not_implemented"}


def problem_bytes(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json answer that closes the connection."""
    code = _CODES.get(status, "http_error")
    body = json.dumps({"type": f"https://fieldproof.org/problems/{code}", "title": reason,
                       "status": status, "code": code, "detail": detail or reason}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Stands in for gunicorn.util.write_error, which writes HTML."""
    util.write_nonblock(sock, problem_bytes(status_int, reason, mesg))


@dataclass
class _Prefetch:
    """One connection whose request is being read in the event loop."""

    conn: TConn
    started: float
    buf: bytearray = field(default_factory=bytearray)
    head_end: int | None = None  # index just past the blank line, once the head is in
    need: int | None = None  # total bytes wanted (Content-Length bodies)
    chunked: bool = False  # Transfer-Encoding: chunked, read until its last chunk
    expect: bool = False  # the client waits for "100 Continue" (sent by us)

    def complete(self) -> bool:
        if self.head_end is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return len(self.buf) > MAX_HEAD  # gunicorn's parser refuses it (431)
            self.head_end = end + 4
            head = bytes(self.buf[: end + 2])
            self.need = self.head_end
            m = _CONTENT_LENGTH.search(head)
            self.chunked = bool(_CHUNKED.search(head))
            if self.chunked:
                self.need = None
            elif m and int(m.group(1)) <= BODY_PREFETCH:
                self.need += int(m.group(1))
            elif m:  # a large body: read in a thread, after the head (see the docstring)
                return True
            self.expect = bool(_EXPECT.search(head)) and self.need != self.head_end
        if self.chunked:
            body = self.buf[self.head_end:]
            # The last chunk: "0" (and extensions), CRLF, no trailers, CRLF.
            return body.startswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in body or \
                len(body) > BODY_PREFETCH
        assert self.need is not None
        return len(self.buf) >= self.need

    def request_bytes(self) -> bytes:
        """What gunicorn's parser gets: without the Expect header we answered already."""
        if not self.expect or self.head_end is None:
            return bytes(self.buf)
        head = _EXPECT_LINE.sub(b"", bytes(self.buf[: self.head_end]))
        return head + bytes(self.buf[self.head_end:])

    def deadline(self) -> float:
        return self.started + (HEADER_TIMEOUT if self.head_end is None else BODY_TIMEOUT)


class GuardedThreadWorker(ThreadWorker):  # type: ignore[misc]
    def init_process(self) -> None:
        self._prefetching: deque[_Prefetch] = deque()
        util.write_error = _write_problem  # gunicorn's own error pages, as problem+json
        super().init_process()

    # -- new and kept-alive connections go through the prefetch -----------------
    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self.cfg.is_ssl:  # the TLS handshake happens in the thread (serve --https)
            self.enqueue_req(conn)
            return
        self._prefetch(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if self.cfg.is_ssl:
            self.enqueue_req(conn)
            return
        self._prefetch(conn)

    def _prefetch(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        p = _Prefetch(conn, time.monotonic())
        self._prefetching.append(p)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, p))

    def _readable(self, p: _Prefetch, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(p)
            return
        p.buf += data
        had_head = p.head_end is not None
        if p.complete():
            self.poller.unregister(sock)
            self._prefetching.remove(p)
            p.conn.prefetched = p.request_bytes()
            p.conn.data_ready = True
            self.enqueue_req(p.conn)
        elif p.expect and not had_head:
            # Answer "100 Continue" here, so that the body comes to the event loop
            # too (a thread would wait for it otherwise); gunicorn never sees the
            # Expect header (request_bytes drops it).
            try:
                sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                self._drop(p)

    def _drop(self, p: _Prefetch, answer: bytes | None = None) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(p.conn.sock)
        self._prefetching.remove(p)
        self.nr_conns -= 1
        if answer:
            with contextlib.suppress(OSError):
                p.conn.sock.send(answer)
        p.conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for p in [p for p in self._prefetching if p.deadline() <= now]:
            self.log.info("closing a slow client %s after %.0f s", p.conn.client[0],
                          now - p.started)
            self._drop(p, problem_bytes(408, "Request Timeout",
                                        "the request did not arrive in time"))

    # -- in the thread ------------------------------------------------------------
    def handle(self, conn: TConn) -> Any:
        buf = getattr(conn, "prefetched", None)
        if buf is not None:
            conn.prefetched = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(buf)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: TConn) -> Any:
        upgrade = any(name == "UPGRADE" and _UPGRADE in value.lower()
                      for name, value in req.headers)
        if not upgrade:
            # A large body arrives in this thread: a client that stops sending
            # frees it after IDLE_TIMEOUT instead of holding it forever.
            conn.sock.settimeout(IDLE_TIMEOUT)
        return super().handle_request(req, conn)
