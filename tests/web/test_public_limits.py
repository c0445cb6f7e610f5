"""The public endpoints' limits per address, shared by the nodes through Redis
(the machine's, at 127.0.0.1:6379, as CI has it)."""

from __future__ import annotations

import secrets

import pytest

from fieldproof.errors import RateLimited
from fieldproof.ratelimit import public_limit
from tests.support.live import free_port

REDIS = "redis://127.0.0.1:6379/0"


def test_two_nodes_count_against_one_window() -> None:
    scope = f"test-{secrets.token_hex(4)}"  # nothing else counts here
    node_a = public_limit(3, 0.003, REDIS, scope=scope, message="slow down")
    node_b = public_limit(3, 0.003, REDIS, scope=scope, message="slow down")
    assert (node_a.item.amount, node_a.item.get_expiry()) == (3, 1000)
    node_a.take("198.51.100.1")
    node_b.take("198.51.100.1")
    node_a.take("198.51.100.1")
    with pytest.raises(RateLimited) as refused:
        node_b.take("198.51.100.1")  # the fourth, on the other node
    assert 990 <= refused.value.extra["retry_after"] <= 1000
    node_b.take("198.51.100.2")  # another address has its own
    # another endpoint's limit is its own
    public_limit(3, 0.003, REDIS, scope=f"{scope}-other", message="x").take("198.51.100.1")
    node_a.clear("198.51.100.1")
    node_b.take("198.51.100.1")
    node_a.clear("198.51.100.1")
    node_a.clear("198.51.100.2")


def test_without_a_queue_each_process_counts_alone() -> None:
    a = public_limit(1, 0.001, None, scope="p", message="x")
    b = public_limit(1, 0.001, None, scope="p", message="x")
    a.take("198.51.100.1")
    b.take("198.51.100.1")
    with pytest.raises(RateLimited):
        a.take("198.51.100.1")


def test_a_redis_that_is_down_does_not_lock_the_public_out(
        caplog: pytest.LogCaptureFixture) -> None:
    down = public_limit(1, 0.001, f"redis://127.0.0.1:{free_port()}/0", scope="p", message="x")
    for _ in range(3):
        down.take("198.51.100.1")  # fails open, and says so
    assert "rate limit storage unreachable" in caplog.text
