"""The recording browser's only route out: a forward proxy that refuses private addresses.

Chromium is started with ``--proxy-server`` pointing here, so every connection,
including those after redirects, from subresources and from workers, comes
through this proxy. The proxy resolves each host itself, connects to the very
address it checked (so a second, rebinding DNS answer cannot slip in), and
notes every answer for environment.json. HTTPS goes through ``CONNECT`` as an
opaque tunnel: the browser's TLS session is with the site itself, so the
certificates it reports are the site's.

Written here because the job is small and specific (check, then connect to
the checked address); mitmproxy or proxy.py would terminate or re-route TLS
and bring far more than this needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldproof.core.netguard import is_public

log = logging.getLogger(__name__)
MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 15.0
# on the proxy's own answers: the page did not come from the site
GUARD_HEADER = "X-FieldProof-Guard"
GUARD_REASONS = {400: "bad_request", 403: "address_refused", 502: "unreachable",
                 507: "size_limit"}


@dataclass
class ProxyRecord:
    """What the proxy saw, for environment.json."""

    dns: dict[str, list[str]] = field(default_factory=dict)  # host -> addresses, as answered
    connected: dict[str, str] = field(default_factory=dict)  # "host:port" -> address used
    refused: list[dict[str, Any]] = field(default_factory=list)
    bytes_in: int = 0
    bytes_out: int = 0
    over_limit: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"dns": dict(sorted(self.dns.items())),
                "connected": dict(sorted(self.connected.items())),
                "refused": list(self.refused), "bytes_received": self.bytes_in,
                "bytes_sent": self.bytes_out, "over_size_limit": self.over_limit}


class GuardProxy:
    """Run with ``with GuardProxy(...) as proxy:``; ``proxy.port`` is where it listens."""

    def __init__(self, *, allow_private: bool = False, max_bytes: int = 2 * 1024**3,
                 allowed: Callable[[str, int], bool] | None = None) -> None:
        # the policy, per address and port: public addresses only, unless
        # FIELDPROOF_WEB_ALLOW_PRIVATE (tests pass their own to allow one site)
        self.allowed = allowed or (lambda address, port: allow_private or is_public(
            ipaddress.ip_address(address.split("%")[0])))
        self.max_bytes = max_bytes
        self.record = ProxyRecord()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="guard-proxy",
                                        daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> GuardProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0,
                                                  limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    # ------------------------------------------------------------------ one connection
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await self._answer(writer, 400, "bad request line")
            return
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port = int(port_text) if port_text.isdigit() else 443
            upstream = await self._connect(host.strip("[]"), port, writer)
            if upstream is None:
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._pipe(reader, writer, *upstream)
            return
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            await self._answer(writer, 400, "only absolute http:// requests and CONNECT")
            return
        upstream = await self._connect(parts.hostname, parts.port or 80, writer)
        if upstream is None:
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        # one request per upstream connection: it closes after the answer, and so do we
        kept = [ln for ln in lines[1:] if ln and not ln.lower().startswith(
            ("proxy-connection:", "connection:", "keep-alive:"))]
        out = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
        up_reader, up_writer = upstream
        up_writer.write(out.encode("latin-1"))
        with self._lock:
            self.record.bytes_out += len(out)
        await self._pipe(reader, writer, up_reader, up_writer)

    async def _connect(self, host: str, port: int, writer: asyncio.StreamWriter
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            self._note_refused(host, [], f"dns: {exc}")
            await self._answer(writer, 502, "cannot resolve")
            return None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        with self._lock:
            known = self.record.dns.setdefault(host, [])
            known.extend(a for a in addresses if a not in known)
        allowed = [a for a in addresses if self.allowed(a, port)]
        if not allowed:
            self._note_refused(host, addresses, "not a public address")
            await self._answer(writer, 403, "address refused")
            return None
        if self.record.over_limit:
            await self._answer(writer, 507, "size limit reached")
            return None
        last: Exception | None = None
        for address in allowed:  # connect to the checked address, never re-resolve
            try:
                conn = await asyncio.wait_for(asyncio.open_connection(address, port),
                                              CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                last = exc
                continue
            with self._lock:
                self.record.connected[f"{host}:{port}"] = address
            return conn
        self._note_refused(host, addresses, f"connect: {last}")
        await self._answer(writer, 502, "cannot connect")
        return None

    def _note_refused(self, host: str, addresses: list[str], reason: str) -> None:
        with self._lock:
            if len(self.record.refused) < 1000:
                self.record.refused.append({"host": host, "addresses": addresses,
                                            "reason": reason, "at": time.time()})

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                       inbound: bool) -> None:
            try:
                while data := await src.read(65536):
                    with self._lock:
                        if inbound:
                            self.record.bytes_in += len(data)
                        else:
                            self.record.bytes_out += len(data)
                        if self.record.bytes_in > self.max_bytes:
                            self.record.over_limit = True
                    if self.record.over_limit:
                        break
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(copy(reader, up_writer, False), copy(up_reader, writer, True))

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        body = f"FieldProof recorder: {reason}\n".encode()
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
                     f"{GUARD_HEADER}: {GUARD_REASONS[status]}\r\n"
                     "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode() + body)
        with contextlib.suppress(Exception):
            await writer.drain()
            writer.close()
