"""The public endpoints' limits per address, spent together by the nodes in the
cluster's Redis (a redis-server of the test's own), and kept per node while it
is down."""

from __future__ import annotations

import pytest

from fieldproof.config import Settings
from fieldproof.errors import RateLimited
from fieldproof.ratelimit import SharedTokenBucket, TokenBucket, public_limit
from tests.support.blackhole import black_hole
from tests.support.cluster import RedisServer
from tests.support.waiting import wait_until

ADDR = "198.51.100.1"


def _refused(bucket: SharedTokenBucket | TokenBucket, key: str = ADDR) -> int:
    with pytest.raises(RateLimited) as refused:
        bucket.take(key)
    retry = refused.value.extra["retry_after"]
    assert isinstance(retry, int)
    return retry


def test_two_nodes_spend_one_bucket(redis_server: RedisServer) -> None:
    node_a = public_limit(3, 0.01, redis_server.url, scope="verify", message="slow down")
    node_b = public_limit(3, 0.01, redis_server.url, scope="verify", message="slow down")
    assert isinstance(node_a, SharedTokenBucket)
    node_a.take(ADDR)
    node_b.take(ADDR)
    node_a.take(ADDR)
    assert 90 <= _refused(node_b) <= 100  # the fourth, on the other node: a token per 100 s
    node_b.take("198.51.100.2")  # another address has its own bucket
    public_limit(3, 0.01, redis_server.url, scope="trust", message="x").take(ADDR)  # another scope
    node_a.forget(ADDR)
    for _ in range(3):
        node_b.take(ADDR)
    _refused(node_a)


def test_the_shared_bucket_refills_at_its_rate(redis_server: RedisServer) -> None:
    node = public_limit(1, 2.0, redis_server.url, scope="verify", message="x")
    assert isinstance(node, SharedTokenBucket)
    node.take(ADDR)
    wait_until("a token is back (one per 0.5 s)", lambda: _took(node), timeout=10)


def _took(bucket: SharedTokenBucket) -> bool:
    try:
        bucket.take(ADDR)
    except RateLimited:
        return False
    return True


def test_without_a_queue_each_process_keeps_its_own() -> None:
    a = public_limit(1, 0.001, None, scope="verify", message="x")
    b = public_limit(1, 0.001, None, scope="verify", message="x")
    assert isinstance(a, TokenBucket)
    a.take(ADDR)
    b.take(ADDR)
    _refused(a)


def test_while_redis_is_down_each_node_counts_alone(
        redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    node = public_limit(2, 0.001, redis_server.url, scope="verify", message="x")
    assert isinstance(node, SharedTokenBucket)
    node.RETRY_SECONDS = 0.0  # ask Redis again at once: it is back below
    node.take(ADDR)
    redis_server.stop()
    node.take(ADDR)  # its own bucket now: still a limit, not none
    node.take(ADDR)
    _refused(node)
    assert "this node counts alone" in caplog.text
    redis_server.start()  # same port, empty
    wait_until("Redis is used again", lambda: _took(node), timeout=10)


def test_a_redis_that_never_answers_costs_one_short_wait(
        caplog: pytest.LogCaptureFixture) -> None:
    with black_hole() as hole:
        node = public_limit(2, 0.001, hole.redis_url, scope="verify", message="x")
        assert isinstance(node, SharedTokenBucket)
        node.RETRY_SECONDS = 3600.0
        node.take(ADDR)  # times out (TIMEOUT_SECONDS), then counts alone
        assert "this node counts alone" in caplog.text
        connections = len(hole.accepted)
        node.take(ADDR)  # within RETRY_SECONDS: Redis is not asked again
        _refused(node)
        assert len(hole.accepted) == connections


def test_settings_refuse_a_limit_that_is_none() -> None:
    with pytest.raises(ValueError, match="FIELDPROOF_PUBLIC_PER_SECOND"):
        Settings.from_env({"FIELDPROOF_PUBLIC_PER_SECOND": "0"})
    with pytest.raises(ValueError, match="FIELDPROOF_PUBLIC_BURST"):
        Settings.from_env({"FIELDPROOF_PUBLIC_BURST": "0"})
