"""A TCP server that accepts connections and never answers: a Redis that hangs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class BlackHole:
    port: int
    accepted: list[socket.socket] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def black_hole() -> Iterator[BlackHole]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    hole = BlackHole(listener.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                hole.accepted.append(listener.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield hole
    finally:
        stop.set()
        t.join()
        listener.close()
        for c in hole.accepted:
            c.close()
