"""Rate limits, on the maintained ``limits`` library (moving windows).

One small wrapper so that every limit in the server reads the same way and
answers the same ``429 rate_limited`` with a ``retry_after``. The storage is
in memory (per process) by default; a Redis URI shares it across processes.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse, storage, strategies

from ..errors import RateLimited


def make_storage(uri: str | None = None) -> storage.Storage:
    made = storage.storage_from_string(uri or "memory://")
    assert isinstance(made, storage.Storage)  # a synchronous one (not limits.aio)
    return made


class RateLimit:
    """At most ``spec`` (e.g. ``"10/5 minutes"``) events per key."""

    def __init__(self, spec: str, store: storage.Storage | None = None, *,
                 message: str = "too many requests; try again later") -> None:
        self.item: RateLimitItem = parse(spec)
        self._limiter = strategies.MovingWindowRateLimiter(store or make_storage())
        self.message = message

    def retry_after(self, *key: str) -> int:
        """Seconds until one more event is allowed (0: allowed now)."""
        if self._limiter.test(self.item, *key):
            return 0
        reset = self._limiter.get_window_stats(self.item, *key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def check(self, *key: str) -> None:
        """Raise :class:`RateLimited` if ``key`` has used up its events."""
        wait = self.retry_after(*key)
        if wait:
            raise RateLimited(f"{self.message} (in {wait} s)", retry_after=wait)

    def hit(self, *key: str) -> bool:
        """Count one event; False if it was over the limit."""
        return bool(self._limiter.hit(self.item, *key))
