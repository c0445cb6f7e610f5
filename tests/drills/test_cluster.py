"""Failover drills on the cluster of docker/compose.yml, run as processes: two app
nodes behind nginx (ip_hash), a Redis message queue, one PostgreSQL database,
one S3 store, and `fieldproof worker` as the elected sequencer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from fieldproof.client.api import Client
from tests.support.cluster import Cluster
from tests.support.live import run_cli
from tests.support.photos import jpeg
from tests.support.recordings import Recordings, enrolled
from tests.support.s3server import S3Server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path, pg_admin: str, s3_server: S3Server,
            request: pytest.FixtureRequest) -> Iterator[Cluster]:
    worker_env = getattr(request, "param", {})
    # public limits: compose's burst of 30, then one token per 100 s (not per 2 s), so
    # that no token comes back while a drill spends them, however slow the machine
    c = Cluster(tmp_path / "cluster", pg_admin, s3_server,
                extra_env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2",
                           "FIELDPROOF_PUBLIC_PER_SECOND": "0.01"}, worker_env=worker_env)
    try:
        yield c.start()
    finally:
        c.stop()


class Watcher:
    """A second device of the same account, connected straight to one node: it
    sees the progress of recordings that another node receives."""

    def __init__(self, url: str, token: str) -> None:
        self.progress: list[dict[str, Any]] = []
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2,
                                   reconnection_delay_max=1.0)
        self.sio.on("progress", self.progress.append, namespace="/streams")
        self.sio.connect(url, auth={"token": token}, namespaces=["/streams"],
                         transports=["websocket"], wait_timeout=20)

    def streams_seen(self) -> set[str]:
        return {p["stream_id"] for p in list(self.progress)}

    def close(self) -> None:
        self.sio.disconnect()


def _wait_anchored(api: Client, ids: list[str], timeout: float = 90) -> None:
    wait_until("every capture is anchored",
               lambda: all(api.capture(i)["status"] == "anchored" for i in ids), timeout)


def _audit(url: str) -> Any:
    return run_cli("log", "audit", "--server", url)


def test_kill_9_a_node_during_20_streams(cluster: Cluster, tmp_path: Path) -> None:
    """Every client resumes on the other node; no acknowledged chunk is lost; the
    user's other device, on the other node, sees the progress."""
    token = cluster.create_user("cluster@example.org")
    front = cluster.node_behind_front()  # every client of this address lands here
    other = next(n for n in cluster.nodes if n != front)
    watcher = Watcher(cluster.nodes[other].url, token)
    rec = Recordings(cluster.url, token, tmp_path, rate=48_000)
    files = {}
    for i in range(20):
        files[i] = tmp_path / f"rec{i}.webm"
        files[i].write_bytes(os.urandom(96_000 + i * 1000))
    try:
        threads = [rec.start(i, f) for i, f in files.items()]
        wait_until("several streams have acknowledged chunks on the first node",
                   lambda: rec.streams_acked() >= 3, timeout=120)
        # Progress crossed nodes through Redis: the streams are on `front`, the
        # watcher on `other`.
        wait_until("the other node's session sees the progress",
                   lambda: len(watcher.streams_seen()) >= 1, timeout=30)
        before_kill = rec.acks()
        unfinished = 20 - len(rec.results)
        cluster.nodes[front].kill()  # SIGKILL, mid-stream
        assert unfinished > 0, "every stream had finished before the kill"
        for t in threads:
            t.join(180)
        assert before_kill > 0
        rec.check(files)
        # Every stream finished on the surviving node (the other is dead), and the
        # original is the same byte for byte.
        assert cluster.node_behind_front() == other
        api = Client(cluster.url, token)
        ids = [rec.results[i]["id"] for i in range(20)]
        assert api.http.get(f"/captures/{ids[0]}/original").content == files[0].read_bytes()
        _wait_anchored(api, ids)
        audit = _audit(cluster.url)
        assert audit.returncode == 0, audit.stdout
    finally:
        watcher.close()


@pytest.mark.parametrize("cluster", [{"FIELDPROOF_TEST_SEQUENCER_PAUSE": "60"}],
                         indirect=True)
def test_kill_9_the_sequencer_leader_mid_batch(cluster: Cluster, tmp_path: Path) -> None:
    leader = cluster.workers[0]
    leader.wait_for_log("sequencer running")
    standby = cluster.start_worker("worker-2")
    standby.wait_for_log("waiting to lead the sequencer")
    token = cluster.create_user("leader@example.org")
    api, key = enrolled(cluster.url, token, tmp_path / "dev.pem")
    ids = []
    for i in range(4):
        f = tmp_path / f"p{i}.jpg"
        f.write_bytes(jpeg(make=f"cluster{i}"))
        ids.append(api.capture_file(key, f, kind="photo")["id"])
    leader.wait_for_log("test pause: batch of")  # the leader holds a batch open
    assert "sequencer running" not in standby.log()  # one leader at a time
    leader.kill()
    standby.wait_for_log("sequencer running")
    _wait_anchored(api, ids)
    audit = _audit(cluster.url)
    assert audit.returncode == 0, audit.stdout


def test_public_limits_are_one_bucket_for_all_nodes(cluster: Cluster) -> None:
    """An address that used up its public requests on one node (a burst of 30) is
    refused by the other too: the bucket is in the shared Redis."""
    one, other = (f"http://127.0.0.1:{n.port}" for n in cluster.nodes.values())
    # each node trusts one proxy in front: the address is X-Forwarded-For's
    who = {"X-Forwarded-For": "198.51.100.23"}
    codes = [httpx.get(f"{one}/api/v1/trust", headers=who, timeout=10).status_code
             for _ in range(30)]
    assert codes == [200] * 30
    r = httpx.get(f"{other}/api/v1/trust", headers=who, timeout=10)
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "rate_limited" and 90 <= int(r.headers["Retry-After"]) <= 100
    elsewhere = {"X-Forwarded-For": "198.51.100.24"}
    assert httpx.get(f"{other}/api/v1/trust", headers=elsewhere, timeout=10).status_code == 200


def test_redis_restart(cluster: Cluster, tmp_path: Path) -> None:
    """Streams go on while Redis is down and after it is back; sign-in works
    without it; progress crosses nodes again once it is back."""
    assert cluster.redis is not None
    token = cluster.create_user("redis@example.org", password="correct horse battery")
    front = cluster.node_behind_front()
    other = next(n for n in cluster.nodes if n != front)
    watcher = Watcher(cluster.nodes[other].url, token)
    rec = Recordings(cluster.url, token, tmp_path, rate=24_000)
    files = {}
    for i in range(3):
        files[i] = tmp_path / f"r{i}.webm"
        files[i].write_bytes(os.urandom(240_000))
    try:
        threads = [rec.start(i, f) for i, f in files.items()]
        wait_until("progress crosses nodes", lambda: len(watcher.progress) >= 1, timeout=60)
        cluster.redis.stop()
        before = watcher.streams_seen()  # nothing crosses nodes from now until the restart
        down_at = rec.acks()
        wait_until("chunks are acknowledged with Redis down",
                   lambda: rec.acks() >= down_at + 3, timeout=60)
        login = httpx.post(cluster.url + "/api/v1/auth/login", timeout=20,
                           json={"email": "redis@example.org",
                                 "password": "correct horse battery"})
        assert login.status_code == 201, login.text
        cluster.redis.start()  # the same port, empty
        # Each node's Socket.IO manager and revocation relay subscribe again, by
        # themselves, with their own backoff: wait for them, not for a time.
        wait_until("both nodes subscribed to the new Redis again",
                   lambda: min(cluster.redis.subscribers().values(), default=0) >= 2,
                   timeout=120)
        for t in threads:
            t.join(180)
        # A recording made now is seen from the other node again: the nodes
        # subscribed to the new Redis by themselves.
        files[3] = tmp_path / "after.webm"
        files[3].write_bytes(os.urandom(64_000))
        after = rec.start(3, files[3])
        wait_until("progress crosses nodes again",
                   lambda: bool(watcher.streams_seen() - before), timeout=90)
        after.join(120)
        rec.check(files)
        # Signing out through the front ends the token's socket on the other node
        # too (web/revocations.py): the watcher is disconnected, and stays out.
        assert watcher.sio.connected
        out = httpx.post(cluster.url + "/api/v1/auth/logout", timeout=20,
                         headers={"Authorization": f"Bearer {token}"})
        assert out.status_code in (200, 204), out.text
        wait_until("the other node ended the signed-out token's socket",
                   lambda: not watcher.sio.connected, timeout=30)
    finally:
        watcher.close()


def test_make_cluster_starts_the_topology_and_ctrl_c_takes_it_down(
        tmp_path: Path, pg_admin: str) -> None:
    """`make cluster` (python -m tests.support.cluster): up, answering through its
    front with a usable first user; Ctrl-C stops every process and drops its
    database."""
    import re
    import signal
    import subprocess
    import sys

    import psycopg

    from tests.support.paths import ROOT

    out = tmp_path / "cluster.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cluster", "--dir", str(tmp_path / "dev"),
             "--pg", pg_admin], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until("the cluster is up", lambda: b"Ctrl-C stops" in out.read_bytes()
                   or proc.poll() is not None, timeout=180)
        text = out.read_text()
        assert proc.poll() is None, text
        front = re.search(r"cluster up: (http://127\.0\.0\.1:\d+)", text)
        database = re.search(r"database (fieldproof_cluster_\w+)", text)
        token = text.strip().splitlines()[-2]
        assert front and database, text
        health = httpx.get(front.group(1) + "/api/v1/health", timeout=20).json()
        assert health["database"] == "postgresql" and health["store"] == "s3"
        me = httpx.get(front.group(1) + "/api/v1/me", timeout=20,
                       headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == "dev@example.org", me.text
        # A body larger than nginx keeps in memory is buffered to a file first:
        # it reaches the node (which refuses it for want of a token), no 500.
        big = httpx.post(front.group(1) + "/api/v1/captures", content=os.urandom(3 << 20),
                         timeout=60)
        assert big.status_code == 401, big.text
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == 0, out.read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(front.group(1) + "/api/v1/health", timeout=5)
    with psycopg.connect(pg_admin + " dbname=postgres") as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (database.group(1),)).fetchone()
    assert left is None
