"""Rate limits: the one home of every limit the server enforces.

- :class:`RateLimit`: at most N events per key in a moving window, on the
  maintained ``limits`` library (sign-in failures, sign-ups). Its storage is in
  memory by default; in a cluster it is the nodes' shared Redis
  (FIELDPROOF_MESSAGE_QUEUE), so a guesser gets no more tries by reaching
  another node. While that Redis is unreachable each node counts in its own
  memory (logged): sign-in keeps working through a Redis restart, and a
  guesser still meets a limit on every node.
- :class:`TokenBucket`: a burst, then a steady rate, in process memory (a
  stream connection's bytes and chunks per second; the public endpoints per
  address on a single node). Written here because it must answer in
  microseconds on every stream chunk and take an injected clock in tests;
  ``limits`` has no token bucket.
- :class:`SharedTokenBucket`: the same rule on the cluster's Redis, so every
  node spends the same bucket (the public endpoints per address);
  :func:`public_limit` picks one of the two.

All answer ``429 rate_limited`` with ``retry_after``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from limits import RateLimitItem, parse, storage, strategies
from limits.errors import StorageError
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from fieldproof.errors import RateLimited

log = logging.getLogger(__name__)
# What a shared storage raises while it is down or restarting.
_UNREACHABLE = (StorageError, RedisError, OSError)
_T = TypeVar("_T")


# A shared limit's storage: how long one call may wait for it, and how long this
# process counts alone after a call failed before it asks the storage again.
SHARED_TIMEOUT_SECONDS = 0.5
SHARED_RETRY_SECONDS = 5.0


def make_storage(uri: str | None = None) -> storage.Storage:
    """``memory://`` (one process) or the cluster's ``redis://`` URL. A Redis
    that hangs costs one request a short timeout, with no retries (redis-py's
    default backs off for seconds): :class:`RateLimit` then counts in memory."""
    if not uri:
        made = storage.storage_from_string("memory://")
    else:
        made = storage.storage_from_string(
            uri, socket_timeout=SHARED_TIMEOUT_SECONDS,
            socket_connect_timeout=SHARED_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0))  # type: ignore[arg-type]  # handed on to redis.Redis
    assert isinstance(made, storage.Storage)  # a synchronous one (not limits.aio)
    return made


class RateLimit:
    """At most ``spec`` (e.g. ``"10/5 minutes"``) events per key.

    With a shared ``store`` that cannot be reached, this process keeps the
    count in its own memory (logged) and asks the store again after
    ``RETRY_SECONDS``: the limit holds per node meanwhile, and a store
    that hangs costs one request a short timeout, not every request."""

    RETRY_SECONDS = SHARED_RETRY_SECONDS

    def __init__(self, spec: str, store: storage.Storage | None = None, *,
                 message: str = "too many requests; try again later") -> None:
        self.item: RateLimitItem = parse(spec)
        counts = store or make_storage()
        self._limiter = strategies.MovingWindowRateLimiter(counts)
        # The stand-in while a shared store is down; a memory store needs none
        # (each MemoryStorage runs a timer thread of its own).
        self._local = (self._limiter if isinstance(counts, storage.MemoryStorage)
                       else strategies.MovingWindowRateLimiter(storage.MemoryStorage()))
        self._down_until = 0.0
        self.message = message

    def _counted(self, use: Callable[[strategies.MovingWindowRateLimiter], _T]) -> _T:
        """``use`` the shared limiter, or this process's own while it is down."""
        if time.monotonic() >= self._down_until:
            try:
                return use(self._limiter)
            except _UNREACHABLE as exc:
                log.warning("rate limit storage unreachable (%s): this node counts alone "
                            "for %g s", type(exc).__name__, self.RETRY_SECONDS)
                self._down_until = time.monotonic() + self.RETRY_SECONDS
        return use(self._local)

    def retry_after(self, *key: str) -> int:
        """Seconds until one more event is allowed (0: allowed now)."""
        def ask(limiter: strategies.MovingWindowRateLimiter) -> float | None:
            if limiter.test(self.item, *key):
                return None
            return float(limiter.get_window_stats(self.item, *key).reset_time)

        reset = self._counted(ask)
        return 0 if reset is None else max(1, math.ceil(reset - time.time()))

    def check(self, *key: str) -> None:
        """Raise :class:`RateLimited` if ``key`` has used up its events."""
        wait = self.retry_after(*key)
        if wait:
            raise RateLimited(f"{self.message} (in {wait} s)", retry_after=wait)

    def hit(self, *key: str) -> bool:
        """Count one event; False if it was over the limit."""
        return self._counted(lambda limiter: bool(limiter.hit(self.item, *key)))


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


# GCRA, the token bucket kept as one number per key: the time at which the
# bucket is full again ("theoretical arrival time"). One script, so a take is
# atomic across nodes, on Redis's own clock, so the nodes' clocks do not matter.
# Written here: `limits` has no token bucket (see TokenBucket).
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - capacity * interval - now
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
"""


class SharedTokenBucket:
    """A :class:`TokenBucket` (``capacity`` at once, then ``per_second``) that
    every node spends together, in the cluster's Redis.

    While that Redis cannot be reached, this process keeps a bucket of its own
    (logged) and asks Redis again after ``RETRY_SECONDS``: the limit holds per
    node meanwhile, and a Redis that hangs costs one request a short timeout,
    not every request.
    """

    RETRY_SECONDS = SHARED_RETRY_SECONDS
    TIMEOUT_SECONDS = SHARED_TIMEOUT_SECONDS

    def __init__(self, capacity: float, per_second: float, url: str, *, scope: str,
                 message: str = "too many requests from this address") -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.message = message
        self.prefix = f"fieldproof:limit:{scope}:"
        # no retries (redis-py's default backs off for seconds): this process's
        # own bucket is the fallback
        self._redis = Redis.from_url(url, socket_timeout=self.TIMEOUT_SECONDS,
                                     socket_connect_timeout=self.TIMEOUT_SECONDS,
                                     retry=Retry(NoBackoff(), 0))
        self._script = self._redis.register_script(_GCRA)
        self.local = TokenBucket(capacity=capacity, per_second=per_second, message=message)
        self._down_until = 0.0

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket or raise :class:`RateLimited`."""
        if time.monotonic() < self._down_until:
            return self.local.take(key)
        try:
            wait = float(self._script(keys=[self.prefix + key],
                                      args=[1 / self.per_second, self.capacity]))
        except _UNREACHABLE as exc:
            log.warning("rate limit storage unreachable (%s): this node counts alone for "
                        "%g s", type(exc).__name__, self.RETRY_SECONDS)
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            return self.local.take(key)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(f"{self.message}; try again in {seconds} s", retry_after=seconds)
        return None

    def forget(self, key: str) -> None:
        """Give ``key`` a full bucket again (tests; an operator lifting a block)."""
        self._redis.delete(self.prefix + key)
        self.local.forget(key)


def public_limit(burst: int, per_second: float, shared: str | None, *, scope: str,
                 message: str) -> TokenBucket | SharedTokenBucket:
    """A public endpoint's limit per client address: ``burst`` requests at once,
    then ``per_second``. ``shared`` is the cluster's Redis URL
    (FIELDPROOF_MESSAGE_QUEUE): every node spends the same bucket. Without one,
    this process keeps it."""
    if shared:
        return SharedTokenBucket(float(burst), per_second, shared, scope=scope, message=message)
    return TokenBucket(capacity=float(burst), per_second=per_second, message=message)
