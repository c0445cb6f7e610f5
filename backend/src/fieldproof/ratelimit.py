"""Rate limits: the one home of every limit the server enforces.

- :class:`RateLimit`: at most N events per key in a moving window, on the
  maintained ``limits`` library (sign-in failures, sign-ups). Its storage is in
  memory by default; in a cluster it is the nodes' shared Redis
  (FIELDPROOF_MESSAGE_QUEUE), so a guesser gets no more tries by reaching
  another node. While that Redis is unreachable the limit is not enforced
  (logged): sign-in keeps working through a Redis restart.
  :func:`public_limit` makes the public endpoints' limits per address
  (verification, share links, trust) the same way, shared by the nodes.
- :class:`TokenBucket`: a burst, then a steady rate, in process memory (a
  stream connection's bytes and chunks per second: the connection lives on
  one node). Written here because it must answer in microseconds on every
  stream chunk and take an injected clock in tests; ``limits`` has no token
  bucket.

Both answer ``429 rate_limited`` with ``retry_after``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import RateLimitItem, parse, storage, strategies
from limits.errors import StorageError
from redis.exceptions import RedisError

from fieldproof.errors import RateLimited

log = logging.getLogger(__name__)
# What a shared storage raises while it is down or restarting.
_UNREACHABLE = (StorageError, RedisError, OSError)


def make_storage(uri: str | None = None) -> storage.Storage:
    """``memory://`` (one process) or the cluster's ``redis://`` URL (a Redis that
    hangs costs a sign-in 2 s, then the limit is not enforced)."""
    if not uri:
        made = storage.storage_from_string("memory://")
    else:
        made = storage.storage_from_string(uri, socket_timeout=2, socket_connect_timeout=2)
    assert isinstance(made, storage.Storage)  # a synchronous one (not limits.aio)
    return made


class RateLimit:
    """At most ``spec`` (e.g. ``"10/5 minutes"``) events per key.

    ``scope`` keeps limits with the same spec apart in a shared storage.
    """

    def __init__(self, spec: str, store: storage.Storage | None = None, *,
                 message: str = "too many requests; try again later", scope: str = "") -> None:
        self.item: RateLimitItem = parse(spec)
        self._limiter = strategies.MovingWindowRateLimiter(store or make_storage())
        self.message = message
        self.scope = scope

    def _ids(self, key: tuple[str, ...]) -> tuple[str, ...]:
        return (self.scope, *key) if self.scope else key

    def retry_after(self, *key: str) -> int:
        """Seconds until one more event is allowed (0: allowed now)."""
        try:
            if self._limiter.test(self.item, *self._ids(key)):
                return 0
            reset = self._limiter.get_window_stats(self.item, *self._ids(key)).reset_time
        except _UNREACHABLE as exc:
            log.warning("rate limit storage unreachable (%s): not enforced", type(exc).__name__)
            return 0
        return max(1, math.ceil(reset - time.time()))

    def check(self, *key: str) -> None:
        """Raise :class:`RateLimited` if ``key`` has used up its events."""
        wait = self.retry_after(*key)
        if wait:
            raise RateLimited(f"{self.message} (in {wait} s)", retry_after=wait)

    def hit(self, *key: str) -> bool:
        """Count one event; False if it was over the limit."""
        try:
            return bool(self._limiter.hit(self.item, *self._ids(key)))
        except _UNREACHABLE as exc:
            log.warning("rate limit storage unreachable (%s): not counted", type(exc).__name__)
            return True

    def take(self, *key: str) -> None:
        """Count one event, or raise :class:`RateLimited` if ``key`` has none left."""
        if not self.hit(*key):
            wait = max(1, self.retry_after(*key))
            raise RateLimited(f"{self.message}; try again in {wait} s", retry_after=wait)

    def clear(self, *key: str) -> None:
        """Forget ``key``'s events (tests; an operator lifting a block)."""
        self._limiter.clear(self.item, *self._ids(key))


def public_limit(burst: int, per_second: float, shared: str | None, *, scope: str,
                 message: str) -> RateLimit:
    """A public endpoint's limit per client address: ``burst`` requests in any
    window of ``burst / per_second`` seconds (30 a minute by default), so the
    long-run rate is ``per_second``. ``shared`` is the cluster's Redis URL
    (FIELDPROOF_MESSAGE_QUEUE): every node counts against the same window;
    without one, this process keeps it."""
    window = max(1, math.ceil(burst / per_second))
    return RateLimit(f"{burst}/{window} seconds", make_storage(shared), message=message,
                     scope=scope)


@dataclass
class TokenBucket:
    """Per-key token bucket: ``capacity`` requests at once, then ``per_second``.

    In memory, per process (each gunicorn worker keeps its own buckets). Full
    buckets are forgotten once more than ``max_keys`` are tracked, so memory
    stays bounded however many addresses call.
    """

    capacity: float = 30.0
    per_second: float = 0.5
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key: (tokens, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    message: str = "too many requests from this address"

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.per_second)

    def needed(self, key: str, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there (0.0: now); spends nothing."""
        with self._lock:
            return max(0.0, (cost - self._level(key, self.clock())) / self.per_second)

    def take(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost`` tokens of ``key``'s bucket or raise :class:`RateLimited`."""
        now = self.clock()
        with self._lock:
            tokens = self._level(key, now)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((cost - tokens) / self.per_second)
                raise RateLimited(f"{self.message}; try again in {wait} s", retry_after=wait)
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > self.max_keys:
                self._forget_full(now)

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def _forget_full(self, now: float) -> None:
        for k, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.per_second >= self.capacity:
                del self._buckets[k]
