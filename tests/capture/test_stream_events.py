"""Live status events (web/streams_ns.py Broadcaster): in order, after the
acks, and a stream's progress events that pile up go out as the newest one."""

from __future__ import annotations

import threading
from typing import Any

from fieldproof.web.streams_ns import Broadcaster, newest_progress_only
from tests.support.waiting import wait_until


def progress(stream: str, chunks: int) -> tuple[str, dict[str, Any], str, str | None]:
    return ("progress", {"stream_id": stream, "chunks": chunks}, "user:1", "sender")


def test_newest_progress_only_keeps_order_and_everything_else() -> None:
    capture = ("capture", {"id": "c1", "stream_id": "a"}, "user:1", None)
    other_room = ("progress", {"stream_id": "a", "chunks": 2}, "user:2", None)
    events = [progress("a", 1), progress("b", 1), progress("a", 2), other_room,
              progress("a", 3), capture, progress("b", 2)]
    assert newest_progress_only(events) == [
        other_room, progress("a", 3), capture, progress("b", 2)]
    assert newest_progress_only([]) == []
    assert newest_progress_only([capture, capture]) == [capture, capture]


class HeldSocket:
    """Stands in for Flask-SocketIO's emit (the real one is exercised by the
    stream tests): holds the first event until released, to let others pile up."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, str, str | None]] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def emit(self, event: str, data: Any, *, to: str, namespace: str,
             skip_sid: str | None) -> None:
        if not self.sent:
            self.holding.set()
            assert self.release.wait(30)
        self.sent.append((event, data, to, skip_sid))


def test_progress_that_piles_up_behind_a_slow_send_goes_out_as_the_newest() -> None:
    sock = HeldSocket()
    b = Broadcaster(sock)  # type: ignore[arg-type]
    b.send(*progress("a", 1))
    assert sock.holding.wait(30)
    for n in range(2, 6):
        b.send(*progress("a", n))
    b.send(*progress("b", 1))
    b.send("capture", {"id": "c1", "stream_id": "a"}, "user:1")
    sock.release.set()
    wait_until("the events sent", lambda: len(sock.sent) >= 4, timeout=30)
    assert [(e, d.get("chunks", d.get("id")), skip) for e, d, _, skip in sock.sent] == [
        ("progress", 1, "sender"), ("progress", 5, "sender"), ("progress", 1, "sender"),
        ("capture", "c1", None)]
    assert b.coalesced == 3 and b.dropped == 0
