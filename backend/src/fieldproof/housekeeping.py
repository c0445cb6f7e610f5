"""One background thread for the chores that keep a server tidy over time.

- close streams silent for longer than the timeout (they become partial captures);
- remove temporary files nobody holds (left by a killed process);
- delete media objects no capture refers to (after their grace period).

Runs in the server (and in ``fieldproof worker``); every chore is safe to run in
several processes at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fieldproof.capture.objects import ObjectRefs
from fieldproof.capture.streams import Streams
from fieldproof.storage import tmpfiles

log = logging.getLogger(__name__)


class Housekeeping:
    SWEEP_EVERY = 600.0  # seconds between temp-file sweeps and object collections

    def __init__(self, streams: Streams, objects: ObjectRefs, tmp_dir: Path, *,
                 stream_timeout: float) -> None:
        self.streams = streams
        self.objects = objects
        self.tmp_dir = tmp_dir
        self.period = max(0.2, min(10.0, stream_timeout / 4))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> None:
        tmpfiles.sweep(self.tmp_dir)
        self.objects.collect()

    def run(self) -> None:
        next_sweep = 0.0  # at once: a crash's leftovers go when the server starts
        while True:
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + self.SWEEP_EVERY
                self._safely(self.sweep)
            self._safely(self.streams.reap)
            if self._stop.wait(self.period):
                return

    @staticmethod
    def _safely(chore: Callable[[], object]) -> None:
        try:
            chore()
        except Exception:
            log.exception("housekeeping: %s failed", getattr(chore, "__name__", chore))

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="housekeeping", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
