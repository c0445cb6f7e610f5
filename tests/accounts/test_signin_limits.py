"""Failed sign-ins are limited across the nodes of a cluster (their shared
Redis), and still limited on each node while that Redis is down or hangs."""

from __future__ import annotations

import pytest

from fieldproof.accounts.accounts import Accounts
from fieldproof.errors import LoginFailed, RateLimited
from fieldproof.ratelimit import RateLimit, make_storage
from fieldproof.services import Services
from tests.support.blackhole import black_hole
from tests.support.cluster import RedisServer
from tests.support.waiting import wait_until

SOURCE = "198.51.100.7"
EMAIL = "guessed@example.org"
TRIES = 10  # Accounts.FAILURES_PER_ACCOUNT_AND_SOURCE


def _guess(node: Accounts) -> type[Exception]:
    """One wrong password: what it was refused with."""
    with pytest.raises((LoginFailed, RateLimited)) as refused:
        node.check_password(EMAIL, "not the password", source=SOURCE)
    return refused.type


def test_the_nodes_count_failed_sign_ins_together(
        services: Services, redis_server: RedisServer) -> None:
    services.accounts.create_user(EMAIL, "correct horse battery")
    node_a = Accounts(services.db, limits_storage=make_storage(redis_server.url))
    node_b = Accounts(services.db, limits_storage=make_storage(redis_server.url))
    for i in range(TRIES):
        assert _guess(node_a if i % 2 else node_b) is LoginFailed
    assert _guess(node_a) is RateLimited
    assert _guess(node_b) is RateLimited  # no more tries by reaching another node


def test_while_redis_is_down_each_node_still_limits(
        services: Services, redis_server: RedisServer,
        caplog: pytest.LogCaptureFixture) -> None:
    services.accounts.create_user(EMAIL, "correct horse battery")
    node = Accounts(services.db, limits_storage=make_storage(redis_server.url))
    assert _guess(node) is LoginFailed  # counted in Redis
    redis_server.stop()
    for _ in range(TRIES):
        assert _guess(node) is LoginFailed  # counted in this node's memory
    assert _guess(node) is RateLimited  # a limit still, not none
    assert "this node counts alone" in caplog.text
    # The right password still signs in while Redis is down.
    other = Accounts(services.db, limits_storage=make_storage(redis_server.url))
    assert other.check_password(EMAIL, "correct horse battery", source="203.0.113.9") > 0


def test_redis_is_asked_again_once_it_is_back(redis_server: RedisServer) -> None:
    shared = make_storage(redis_server.url)
    node = RateLimit("2/minute", shared)
    node.RETRY_SECONDS = 0.0  # ask Redis again at once
    redis_server.stop()
    assert node.hit("k") and node.hit("k")
    assert not node.hit("k")  # this node's own count
    redis_server.start()  # same port, empty
    wait_until("Redis counts again", lambda: node.hit("k"), timeout=10)
    # ... and it is Redis that counts: another node sees the same window.
    assert RateLimit("2/minute", make_storage(redis_server.url)).retry_after("k") == 0
    node.hit("k")
    assert RateLimit("2/minute", make_storage(redis_server.url)).retry_after("k") >= 1


def test_a_redis_that_never_answers_costs_one_short_wait(
        caplog: pytest.LogCaptureFixture) -> None:
    with black_hole() as hole:
        node = RateLimit("2/minute", make_storage(hole.redis_url))
        node.RETRY_SECONDS = 3600.0
        assert node.hit("k")  # times out, then counts alone
        assert "this node counts alone" in caplog.text
        connections = len(hole.accepted)
        assert node.hit("k")
        assert not node.hit("k")
        assert node.retry_after("k") >= 1
        assert len(hole.accepted) == connections  # not asked again meanwhile
