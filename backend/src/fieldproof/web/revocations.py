"""Revocations across a cluster: a revoked token's open sockets end, and a
revoked device's chunks are refused, on every node.

A node knows only the sockets connected to it, and keeps open streams' state
between chunks. When a token or a device is revoked, the node that did it
publishes it on the cluster's Redis; every node, itself included, ends the
sockets that token opened and forgets what it kept of that device. While Redis
is down the message is lost and logged: a socket on another node then lives
until it reconnects, when its token is refused, and a device's chunks are
refused there within Streams.DEVICE_RECHECK_SECONDS.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import redis
from redis.exceptions import RedisError

from fieldproof.accounts.accounts import Revocation

log = logging.getLogger(__name__)
CHANNEL = "fieldproof:revoked"


class RevocationRelay:
    def __init__(self, url: str, deliver: Callable[[Revocation], None]) -> None:
        self._url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._deliver = deliver
        threading.Thread(target=self._listen, name="revocation-relay", daemon=True).start()

    def publish(self, what: Revocation) -> None:
        try:
            self._redis.publish(CHANNEL, json.dumps({"token_id": what.token_id,
                                                     "device_id": what.device_id}))
        except RedisError as exc:
            log.warning("could not tell the other nodes of a revocation (%s)",
                        type(exc).__name__)

    def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                listener = redis.Redis.from_url(self._url, socket_connect_timeout=5)
                pubsub = listener.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(CHANNEL)
                delay = 0.5
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        got = json.loads(message["data"])
                        self._deliver(Revocation(token_id=got.get("token_id"),
                                                 device_id=got.get("device_id")))
            except (RedisError, ValueError) as exc:
                log.warning("revocation relay: %s; reconnecting", type(exc).__name__)
            threading.Event().wait(delay)  # a reconnect backoff, not a wait for a condition
            delay = min(10.0, delay * 2)
