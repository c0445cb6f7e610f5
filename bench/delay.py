"""Integration delay: how long after its 201 a capture shows as "anchored".

Two targets. By default a real `fieldproof serve` on 127.0.0.1 (SQLite,
filesystem store, the sequencer in-process with a 1 s interval and the
embedded TSA). With ``--delay-on cluster``, compose.yml's cluster as processes
(`make cluster`: two nodes, nginx, the worker leading the sequencer, Redis,
PostgreSQL, an rclone S3 server). One user made with the admin CLI, one
enrolled device per sending thread. The
senders upload small random "import" captures at a steady total rate (50/s by
default, for 20 s), open loop: capture k is due at t0 + k / rate, whatever
happened to the ones before it. By default every nonce is fetched and every
manifest signed beforehand (untimed), so the paced phase is one POST per
capture and the 2-core box spends its CPU on the server; `--live-sign` fetches
the nonce and signs during the run instead.

A poller GETs /api/v1/captures every 100 ms, asking for as many as are
pending plus 20 (at most 200 a page, paging further back only while some
accepted capture has not been seen yet) and notes when each id first
shows status "anchored". Delay = that poll's response time - the 201's arrival
time, both on this process's clock; the 100 ms polling adds up to 100 ms plus
one GET. After the run the server's database gives a second figure without
polling: each capture's received_at to the created_at of the first checkpoint
that includes it (stamped in the same sequencer transaction).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fieldproof.client.api import Client, ClientError, DeviceKeyFile, device_metadata
from fieldproof.core.canonical import canonicalize
from fieldproof.core.manifest import new_manifest
from fieldproof.db import Capture, Database, LogCheckpoint, LogEntry

from ._proc import Server
from ._util import OUT_DIR, header, log, met, ms_stats, shown, stats, table, write_json

GOAL_P99_S = 2.0
POLL_INTERVAL_S = 0.1
POLL_LIMIT = 200
POLL_MIN = 20
MAX_PAGES = 20
PAYLOAD_BYTES = 2048
KIND, MIME = "import", "application/octet-stream"
SEQUENCER_INTERVAL_S = 1.0


@dataclass
class Job:
    k: int  # global index: due at t0 + k / rate
    path: Path
    manifest: bytes | None = None
    signature: bytes | None = None
    sent_at: float = 0.0
    done_at: float = 0.0
    capture_id: str | None = None
    error: str | None = None


@dataclass
class Sender:
    client: Client
    key: DeviceKeyFile
    jobs: list[Job] = field(default_factory=list)
    prev: str | None = None  # the device's chain head

    def sign(self, job: Job) -> None:
        """What Client.capture_file does before uploading (no second hash of the file)."""
        nonce = self.client.nonce()["nonce"]
        data = job.path.read_bytes()
        now = datetime.now(UTC)
        manifest = new_manifest(kind=KIND, sha256=hashlib.sha256(data).hexdigest(),
                                size=len(data), mime=MIME, start=now, end=now, nonce=nonce,
                                key_id=self.key.key_id, prev=self.prev, device=device_metadata(),
                                name=job.path.name)
        job.manifest = canonicalize(manifest)
        job.signature = self.key.sign(job.manifest)
        self.prev = hashlib.sha256(job.manifest).hexdigest()  # the manifest's hash


@dataclass
class Poller:
    client: Client
    accepted: dict[str, float]  # capture id -> 201 arrival (perf_counter)
    lock: threading.Lock
    anchored: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    pages: int = 0
    errors: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def poll_once(self) -> None:
        with self.lock:
            pending = set(self.accepted) - set(self.anchored)
        before: str | None = None
        # As many as are pending (newest first), not a fixed 200: listing is
        # real work for the server, and a poller that takes a core would
        # throttle what it measures.
        limit = max(POLL_MIN, min(POLL_LIMIT, len(pending) + POLL_MIN))
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": limit}
            if before is not None:
                params["before"] = before
            t0 = time.perf_counter()
            body = self.client.get_json("/captures", **params)
            t = time.perf_counter()
            self.latencies.append(t - t0)
            self.pages += 1
            with self.lock:
                for item in body["items"]:
                    if item["status"] == "anchored" and item["id"] not in self.anchored:
                        self.anchored[item["id"]] = t
                    pending.discard(item["id"])
            before = body.get("next")
            if not pending or before is None:
                break

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                self.poll_once()
            except ClientError:
                self.errors += 1
            self.stop.wait(max(0.0, POLL_INTERVAL_S - (time.perf_counter() - t0)))


def send_all(sender: Sender, t0: float, rate: float, presigned: bool,
             accepted: dict[str, float], lock: threading.Lock) -> None:
    for job in sender.jobs:
        due = t0 + job.k / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        job.sent_at = time.perf_counter()
        try:
            if not presigned:
                sender.sign(job)
            assert job.manifest is not None and job.signature is not None
            result = sender.client.upload(job.manifest, job.signature, job.path, MIME)
            job.done_at = time.perf_counter()
            job.capture_id = result["id"]
            with lock:  # the poller looks for it from now on
                accepted[job.capture_id] = job.done_at
        except ClientError as exc:
            job.done_at = time.perf_counter()
            job.error = f"{exc.code}: {exc.detail}"


def server_side(database_url: str) -> dict[str, Any]:
    """received_at -> first checkpoint including the capture, from the server's DB."""
    db = Database(database_url)
    try:
        with db.session() as s:
            rows = s.execute(select(Capture.received_at, LogEntry.leaf_index)
                             .join(LogEntry, LogEntry.capture_id == Capture.id)).all()
            cps = s.execute(select(LogCheckpoint.size, LogCheckpoint.created_at)
                            .order_by(LogCheckpoint.size)).all()
    finally:
        db.dispose()
    sizes = [size for size, _ in cps]
    delays: list[float] = []
    for received_at, leaf_index in rows:
        if leaf_index is None:
            continue
        i = bisect_right(sizes, leaf_index)  # first checkpoint with size > leaf_index
        if i < len(cps):
            delays.append((cps[i][1] - received_at).total_seconds())
    batch_sizes = [b - a for a, b in pairwise([0, *sizes])]
    gaps = [(b[1] - a[1]).total_seconds() for a, b in pairwise(cps)]
    return {"delay": ms_stats(delays), "checkpoints": len(cps),
            "entries_per_checkpoint": stats(batch_sizes),
            "checkpoint_gap": ms_stats(gaps)}


@dataclass
class Target:
    """Where the captures go: one server, or the cluster's nodes."""

    senders_urls: list[str]  # the senders use these in turn
    url: str                 # the poller's
    create_user: Callable[[str, str], str]
    database_url: str        # read after the run for the server-side figures
    description: str


@contextmanager
def single_server(tmp: Path) -> Iterator[Target]:
    env = {"FIELDPROOF_SEQUENCER_INTERVAL": str(SEQUENCER_INTERVAL_S)}
    data_dir = tmp / "server"
    with Server(data_dir, extra_env=env) as server:
        yield Target([server.url], server.url, server.create_user,
                     f"sqlite:///{(data_dir / 'fieldproof.sqlite3').resolve()}",
                     "one `fieldproof serve`, SQLite, the filesystem store, the sequencer "
                     "in-process")


@contextmanager
def cluster(tmp: Path) -> Iterator[Target]:
    """compose.yml's cluster as processes (`make cluster`, tests/support/cluster.py).

    nginx balances by client address (ip_hash), and every sender here has the
    same one, so through the front all of them would land on one node: the
    senders go to the two nodes straight, half each; the poller goes through
    nginx."""
    from tests.support.cluster import Cluster
    from tests.support.postgres import admin_dsn
    from tests.support.s3server import rclone_s3

    with rclone_s3(tmp / "s3") as s3:
        c = Cluster(tmp / "cluster", admin_dsn(), s3,
                    extra_env={"FIELDPROOF_SEQUENCER_INTERVAL": str(SEQUENCER_INTERVAL_S)})
        try:
            c.start()
            yield Target([n.url for n in c.nodes.values()], c.url, c.create_user,
                         c.nodes["app1"].env["DATABASE_URL"],
                         f"the cluster: {len(c.nodes)} nodes, nginx, the worker (sequencer), "
                         f"Redis, PostgreSQL, an S3 server (rclone)")
        finally:
            c.stop()


def bench_delay(tmp: Path, rate: float, duration: float, senders: int, deadline: float,
                presign: bool, on_cluster: bool = False) -> dict[str, Any]:
    total = max(1, round(rate * duration))
    out: dict[str, Any] = {"target_rate": rate, "duration_s": duration, "captures": total,
                           "senders": senders, "payload_bytes": PAYLOAD_BYTES,
                           "presigned": presign, "poll_interval_s": POLL_INTERVAL_S,
                           "sequencer_interval_s": SEQUENCER_INTERVAL_S,
                           "goal": f"p99 201 -> anchored <= {GOAL_P99_S:g} s"}
    payloads = tmp / "payloads"
    payloads.mkdir()
    clients: list[Client] = []
    with (cluster if on_cluster else single_server)(tmp) as target:
        out["target"] = target.description
        try:
            token = target.create_user("delay@example.org", "bench password, long enough")
            group: list[Sender] = []
            for j in range(senders):
                client = Client(target.senders_urls[j % len(target.senders_urls)], token,
                                timeout=60)
                clients.append(client)
                key = DeviceKeyFile.load_or_create(tmp / f"device-{j}.pem", create=True)
                client.enroll(key, label=f"delay-{j}")
                group.append(Sender(client, key))
            for k in range(total):
                path = payloads / f"capture-{k:05d}.bin"
                path.write_bytes(os.urandom(PAYLOAD_BYTES))
                group[k % senders].jobs.append(Job(k, path))
            if presign:
                log(f"delay: fetching {total} nonces and signing {total} manifests (untimed)")
                t = time.perf_counter()
                threads = [threading.Thread(target=lambda sd=sd: [sd.sign(j) for j in sd.jobs])
                           for sd in group]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                out["presign_s"] = round(time.perf_counter() - t, 1)
            lock = threading.Lock()
            accepted: dict[str, float] = {}
            poll_client = Client(target.url, token, timeout=60)
            clients.append(poll_client)
            poller = Poller(poll_client, accepted, lock)
            poll_thread = threading.Thread(target=poller.run, name="poller", daemon=True)
            poll_thread.start()
            log(f"delay: sending {total} captures at {rate:g}/s from {senders} threads")
            t0 = time.perf_counter() + 0.2
            send_threads = [threading.Thread(target=send_all,
                                             args=(sd, t0, rate, presign, accepted, lock),
                                             name=f"sender-{i}", daemon=True)
                            for i, sd in enumerate(group)]
            for th in send_threads:
                th.start()
            for th in send_threads:
                th.join()
            jobs = sorted((j for sd in group for j in sd.jobs), key=lambda j: j.k)
            last_done = max(j.done_at for j in jobs)
            log(f"delay: sent; waiting up to {deadline:g} s for the rest to be anchored")
            while time.perf_counter() < last_done + deadline:
                with lock:
                    if set(accepted) <= set(poller.anchored):
                        break
                time.sleep(0.05)
            poller.stop.set()
            poll_thread.join(timeout=30)
        finally:
            for c in clients:
                c.close()
        out["server_side"] = server_side(target.database_url)
    ok = [j for j in jobs if j.capture_id]
    failed = [j for j in jobs if not j.capture_id]
    delays = [poller.anchored[j.capture_id] - j.done_at for j in ok
              if j.capture_id in poller.anchored]
    first_sent = min(j.sent_at for j in jobs)
    out.update({
        "accepted": len(ok), "failed": len(failed),
        "failed_examples": sorted({j.error or "" for j in failed})[:3],
        "achieved_rate": round(len(ok) / (last_done - first_sent), 1),
        "send_lag": ms_stats([j.sent_at - (t0 + j.k / rate) for j in jobs]),
        "upload": ms_stats([j.done_at - j.sent_at for j in jobs]),
        "delay": ms_stats(delays),
        "never_anchored": len(ok) - len(delays),
        "deadline_s": deadline,
        "poll": ms_stats(poller.latencies) | {"pages": poller.pages, "errors": poller.errors},
    })
    if delays:
        out["goal_met"] = (out["delay"]["p99_ms"] / 1000 <= GOAL_P99_S
                           and out["never_anchored"] == 0)
    return out


def report(results: dict[str, Any]) -> str:
    d = results.get("delay")
    if not d:
        return ""
    if "error" in d:
        return f"delay error: {d['error']}"
    rows = [("integration delay", "p50", "p99", "max", "goal")]
    st = d["delay"]
    if st["n"]:
        label = f"201 -> seen anchored (client, {d['poll_interval_s'] * 1e3:g} ms polls)"
        rows.append((label, f"{st['p50_ms'] / 1e3:.2f} s",
                     f"{st['p99_ms'] / 1e3:.2f} s", f"{st['max_ms'] / 1e3:.2f} s",
                     f"p99 <= {GOAL_P99_S:g} s {met(bool(d.get('goal_met')))}"))
    ss = d["server_side"]
    if ss["delay"]["n"]:
        rows.append(("received -> its checkpoint (server DB)",
                     f"{ss['delay']['p50_ms'] / 1e3:.2f} s", f"{ss['delay']['p99_ms'] / 1e3:.2f} s",
                     f"{ss['delay']['max_ms'] / 1e3:.2f} s", ""))
    if ss["checkpoint_gap"]["n"]:
        rows.append(("  time between checkpoints",
                     f"{ss['checkpoint_gap']['p50_ms'] / 1e3:.2f} s",
                     f"{ss['checkpoint_gap']['p99_ms'] / 1e3:.2f} s",
                     f"{ss['checkpoint_gap']['max_ms'] / 1e3:.2f} s",
                     f"{ss['checkpoints']} checkpoints"))
    epc = ss["entries_per_checkpoint"]
    if epc["n"]:
        rows.append(("  entries per checkpoint", f"{epc['p50']}", f"{epc['p99']}",
                     f"{epc['max']}", f"mean {epc['mean']}"))
    rows.append(("upload (POST /captures)", f"{d['upload']['p50_ms']:.0f} ms",
                 f"{d['upload']['p99_ms']:.0f} ms", f"{d['upload']['max_ms']:.0f} ms", ""))
    rows.append(("sender lag behind schedule", f"{d['send_lag']['p50_ms']:.0f} ms",
                 f"{d['send_lag']['p99_ms']:.0f} ms", f"{d['send_lag']['max_ms']:.0f} ms", ""))
    rows.append(("poll GET /captures (pending + 20)", f"{d['poll']['p50_ms']:.0f} ms",
                 f"{d['poll']['p99_ms']:.0f} ms", f"{d['poll']['max_ms']:.0f} ms",
                 f"{d['poll']['pages']} pages"))
    lines = [table(rows),
             f"sent {d['captures']} captures ({d['payload_bytes']} B, kind {KIND}) at "
             f"{d['target_rate']:g}/s target from {d['senders']} threads"
             f"{', pre-signed' if d['presigned'] else ', signed live'}: achieved "
             f"{d['achieved_rate']:g}/s, {d['accepted']} accepted, {d['failed']} failed, "
             f"{d['never_anchored']} not anchored within {d['deadline_s']:g} s of the last 201."]
    if d["failed_examples"]:
        lines.append(f"failures: {'; '.join(d['failed_examples'])}")
    if d["poll"]["n"]:
        busy = d["poll"]["mean_ms"] / (d["poll_interval_s"] * 1e3)
        lines.append(f"The poller is load too: one GET every "
                     f"{d['poll_interval_s'] * 1e3:g} ms keeps a request in the server about "
                     f"{busy:.0%} of the time (it slows uploads and batches a little); the "
                     f"server-side row needs no polling.")
    if not st["n"]:
        lines.append(f"GOAL NOT MET: no capture was seen anchored within {d['deadline_s']:g} s.")
    elif d.get("goal_met") is False:
        lines.append("GOAL NOT MET: see the server-side rows for whether the sequencer or the "
                     "polling is slow.")
    return "\n".join(lines)


def run(*, rate: float = 50.0, duration: float = 20.0, senders: int = 4,
        deadline: float = 15.0, presign: bool = True, on_cluster: bool = False,
        tmp_root: Path | None = None, keep: bool = False) -> int:
    started = time.perf_counter()
    root = tmp_root or OUT_DIR
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="delay-", dir=root))
    where = "cluster" if on_cluster else "single"
    results: dict[str, Any] = header("delay") | {
        "on": where, "database": "postgresql" if on_cluster else "sqlite",
        "store": "s3" if on_cluster else "filesystem", "tmp_dir": str(tmp)}
    failed = False
    try:
        results["delay"] = bench_delay(tmp, rate, duration, senders, deadline, presign,
                                       on_cluster)
    except Exception as exc:
        failed = True
        results["delay"] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"delay failed: {results['delay']['error']}")
    finally:
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    out = write_json(f"delay-{where}", results)
    print(f"\n== integration delay on {results['delay'].get('target', where)} "
          f"(sequencer interval {SEQUENCER_INTERVAL_S:g} s), {os.cpu_count()} CPUs, "
          f"{results['elapsed_s']} s")
    print(report(results))
    print(f"JSON: {shown(out)}", flush=True)
    return 1 if failed else 0
