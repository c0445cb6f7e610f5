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
            listener = redis.Redis.from_url(self._url, socket_connect_timeout=5,
                                            health_check_interval=30)
            pubsub = listener.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(CHANNEL)
                delay = 0.5
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._receive(message["data"])
            except (RedisError, OSError) as exc:
                log.warning("revocation relay: %s; reconnecting", type(exc).__name__)
            finally:
                pubsub.close()
                listener.close()
            threading.Event().wait(delay)  # a reconnect backoff, not a wait for a condition
            delay = min(10.0, delay * 2)

    def _receive(self, data: bytes) -> None:
        """One message; whatever it holds, the relay goes on listening."""
        try:
            got = json.loads(data)
            ids = {k: got.get(k) for k in ("token_id", "device_id")} \
                if isinstance(got, dict) else {}
            if not ids or not all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                                  for v in ids.values()):
                log.warning("revocation relay: ignored a malformed message")
                return
            self._deliver(Revocation(**ids))
        except Exception:
            log.exception("revocation relay: a message could not be handled")
