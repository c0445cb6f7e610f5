"""Clients that send their request a little at a time (slow-client drills)."""

from __future__ import annotations

import socket
import threading
from typing import Any


class SlowClients:
    """``n`` connections that each send a little every ``interval`` seconds.

    ``mode="headers"``: a request line, then one header line at a time, never
    ending the head. ``mode="body"``: a whole head for a small JSON body to
    the public POST /lookup, then one body byte at a time. ``mode="chunked"``:
    the same with ``Transfer-Encoding: chunked``, one one-byte chunk at a time.
    ``mode="expect"``: with ``Expect: 100-continue``, then one byte at a time.
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
            post = (b"POST /api/v1/lookup HTTP/1.1\r\nHost: drill\r\n"
                    b"Content-Type: application/json\r\n")
            s.sendall({"headers": b"GET /api/v1/health HTTP/1.1\r\nHost: drill\r\n",
                       "body": post + b"Content-Length: 80\r\n\r\n{",
                       "chunked": post + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n",
                       "expect": post + b"Content-Length: 80\r\n"
                                        b"Expect: 100-continue\r\n\r\n"}[self.mode])
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
                    s.send({"headers": f"X-Slow-{i}: {'y' * 10}\r\n".encode(),
                            "chunked": b"1\r\n \r\n"}.get(self.mode, b" "))
                except OSError:
                    self.closed.add(k)
            self.rounds = i

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)
        for s in self.socks:
            s.close()
