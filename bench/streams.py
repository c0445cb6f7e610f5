"""Live streams (protocol v2): ack latency under load, and server RSS over 1 GiB.

    python -m bench.streams                      # both parts, about 4 minutes
    python -m bench.streams --only latency       # or: --only rss
    python -m bench.streams --help

1. Ack latency. N concurrent recordings (default 1, 50 and 200) each send one
   16 KiB chunk per second (a 128 kbit/s voice recording with a 1 s
   MediaRecorder timeslice), spread evenly over the second, for a warm-up
   plus ``--streams-duration`` seconds. Latency is measured in the client:
   from just before ``emit("chunk")`` to its ack (the message is built and
   signed before the clock starts). Each stream waits for its ack before the
   next chunk, as StreamClient and the PWA do; if an ack takes longer than
   the interval the next chunk goes out late, which shows as "lag" (emit
   time minus schedule). The same load runs against the real server
   (``fieldproof serve``: SQLite and the filesystem store in a scratch data
   dir) and against bench/echo_server.py, a bare Flask-SocketIO server behind
   the same gunicorn settings whose ``chunk`` handler only echoes the seq.
   Then closed-loop runs (every stream sends its next chunk as soon as the
   previous one is acked) give each server's capacity in chunks/s: the real
   server, the echo, and the echo with FieldProof's dispatch of chunks
   (``--chunks-inline``) take ``--streams-saturate-reps`` turns (3), and the
   goal's ratio is the median of each turn's FieldProof / echo. All the
   servers run with ``--threads`` = largest stream count + 56: gunicorn's
   gthread worker holds one thread per open WebSocket for its whole life, so
   fieldproof's default of 32 admits only 32 streams (part 2 probes that).

   The load generator runs as separate processes of at most 50 streams each
   (``--streams-per-proc``), each stream with its own python-socketio client
   (WebSocket transport), its own device key (ECDSA P-256 via
   `cryptography`) and, by default, its own user: the server pushes
   `progress` to the recording user's other sessions, so 200 streams of one
   user would make every ack fan out to 199 sessions (``--streams-one-user``
   measures exactly that). Users are inserted in one batch with a shared
   argon2 hash (the admin CLI spends ~160 ms of argon2 per user).

2. RSS over 1 GiB. A fresh real server, one fieldproof.client.stream
   StreamClient streaming a 1 GiB random file (written in 8 MiB blocks,
   deleted afterwards) in 1 MiB chunks with no client-side rate limit. The
   server's VmRSS (gunicorn arbiter and worker, /proc) is sampled every
   50 ms. Reported: worker RSS before / peak / growth (goal < 64 MiB),
   end-to-end MiB/s including `stop` (assembly, store, read-back), and the
   time of `stop` alone. Note the protocol's per-connection cap of 16 MiB/s
   (PROTOCOL.md): the server answers `rate_limited` above it and
   StreamClient waits, so end to end cannot exceed ~16 MiB/s.

Benchmarks report; nothing here asserts a time. Only 127.0.0.1 is used, every
subprocess (servers, load generators) is killed in a ``finally``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._proc import REPO, Server, clean_env, descendants
from ._util import header, log, ms_stats, shown, table, write_json

NS = "/streams"
NAME = "streams"
GOAL_P99_MS = 250.0
GOAL_THROUGHPUT_RATIO = 0.7
GOAL_RSS_MIB = 64.0

DEFAULTS: dict[str, Any] = {
    "streams_only": None,            # "latency" | "rss" | None (both)
    "streams_counts": "1,50,200",
    "streams_duration": 20.0,        # measured seconds per latency run
    "streams_warmup": 1.0,           # seconds sent before measuring
    "streams_chunk_kib": 16,
    "streams_interval": 1.0,         # seconds between chunks of one stream
    "streams_per_proc": 50,          # streams per load-generator process
    "streams_saturate": 5.0,         # seconds of the closed-loop run (0: skip)
    "streams_saturate_n": 50,        # streams in the closed-loop run
    "streams_saturate_reps": 3,      # closed-loop turns of each server
    "streams_one_user": False,
    "streams_threads": None,         # --threads of the latency servers (None: streams + 56)
    "streams_rss_mib": 1024,
    "streams_rss_chunk_kib": 1024,
    "tmp_dir": None,
    "keep": False,
}


def add_arguments(p: argparse.ArgumentParser | Any, *, standalone: bool = False) -> None:
    """The options of this benchmark (for an argparse parser or argument group)."""
    only = ["--streams-only", "--only"] if standalone else ["--streams-only"]
    p.add_argument(*only, dest="streams_only", choices=["latency", "rss"], default=None,
                   help="streams: run one part")
    p.add_argument("--streams-counts", default=DEFAULTS["streams_counts"],
                   help="streams: concurrent stream counts, comma-separated")
    p.add_argument("--streams-duration", type=float, default=DEFAULTS["streams_duration"],
                   help="streams: measured seconds per latency run")
    p.add_argument("--streams-warmup", type=float, default=DEFAULTS["streams_warmup"],
                   help="streams: seconds sent before measuring")
    p.add_argument("--streams-chunk-kib", type=int, default=DEFAULTS["streams_chunk_kib"],
                   help="streams: chunk size of the paced runs (KiB)")
    p.add_argument("--streams-interval", type=float, default=DEFAULTS["streams_interval"],
                   help="streams: seconds between two chunks of one stream")
    p.add_argument("--streams-per-proc", type=int, default=DEFAULTS["streams_per_proc"],
                   help="streams: streams per load-generator process")
    p.add_argument("--streams-saturate", type=float, default=DEFAULTS["streams_saturate"],
                   help="streams: seconds of the closed-loop capacity run (0 skips it)")
    p.add_argument("--streams-saturate-n", type=int, default=DEFAULTS["streams_saturate_n"],
                   help="streams: concurrent streams of the closed-loop run")
    p.add_argument("--streams-saturate-reps", type=int,
                   default=DEFAULTS["streams_saturate_reps"],
                   help="streams: closed-loop turns of each server (the ratio is their median)")
    p.add_argument("--streams-one-user", action="store_true",
                   help="streams: all streams belong to one user (progress fan-out)")
    p.add_argument("--streams-threads", type=int, default=None,
                   help="streams: --threads of both latency servers (default: enough for "
                        "every stream; the rss part keeps fieldproof's default)")
    p.add_argument("--streams-rss-mib", type=int, default=DEFAULTS["streams_rss_mib"],
                   help="streams: size of the file streamed for the RSS part (MiB)")
    p.add_argument("--streams-rss-chunk-kib", type=int,
                   default=DEFAULTS["streams_rss_chunk_kib"],
                   help="streams: chunk size of the RSS part (KiB)")


def _opt(args: Any, name: str) -> Any:
    value = getattr(args, name, None) if args is not None else None
    return DEFAULTS[name] if value is None else value


# -- processes ------------------------------------------------------------------

def _serve_threads() -> int:
    """The `--threads` default of `fieldproof serve` (read from the CLI itself)."""
    from fieldproof.cli.serve import serve

    for param in serve.params:
        if param.name == "threads":
            return int(param.default)  # type: ignore[arg-type]
    return 32


class RealServer(Server):
    """`fieldproof serve`, optionally with another ``--threads``."""

    def __init__(self, data_dir: Path, *, threads: int | None = None) -> None:
        super().__init__(data_dir)
        self.threads = threads

    def argv(self) -> list[str]:
        extra = ["--threads", str(self.threads)] if self.threads else []
        return [*super().argv(), *extra]


class EchoServer(Server):
    """bench/echo_server.py under the same gunicorn settings (``inline``: with
    FieldProof's dispatch of chunks instead of Flask-SocketIO's default)."""

    def __init__(self, data_dir: Path, *, threads: int, inline: bool = False) -> None:
        super().__init__(data_dir)
        self.threads = threads
        self.inline = inline

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "bench.echo_server", "--port", str(self.port),
                "--threads", str(self.threads), *(["--chunks-inline"] if self.inline else [])]


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` (their threads included), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total / tick


def _server_pids(srv: Server) -> list[int]:
    return [srv.pid, *descendants(srv.pid)]


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL, the process group we started for ``proc``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _make_users(data_dir: Path, n: int) -> list[str]:
    """n users with one API token each, in one subprocess (see _make_users_main)."""
    out = subprocess.run([sys.executable, "-m", "bench.streams", "--make-users", str(n),
                          "--data-dir", str(data_dir)],
                         capture_output=True, text=True, env=clean_env(), cwd=REPO,
                         timeout=120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"making users failed: {out.stderr.strip()[-2000:]}")
    tokens = json.loads(out.stdout.strip().splitlines()[-1])
    assert isinstance(tokens, list) and len(tokens) == n
    return [str(t) for t in tokens]


def _make_users_main(n: int, data_dir: Path) -> None:
    # What `fieldproof admin create-user --print-token` does, n times, except that
    # the argon2 hash (~160 ms) is computed once and shared: nobody logs in.
    import secrets

    from argon2 import PasswordHasher

    from fieldproof.config import Settings
    from fieldproof.db import User
    from fieldproof.services import Services

    services = Services.build(Settings.from_env(data_dir=data_dir))
    try:
        pw_hash = PasswordHasher().hash(secrets.token_urlsafe(24))
        tag = secrets.token_hex(4)
        with services.db.session() as s:
            users = [User(email=f"bench-{tag}-{i}@example.org", password_hash=pw_hash)
                     for i in range(n)]
            s.add_all(users)
            s.flush()
            ids = [u.id for u in users]
        tokens = [services.accounts.issue_token(uid, label="bench") for uid in ids]
    finally:
        services.close()
    print(json.dumps(tokens))


# -- the load generator (runs in its own processes) -------------------------------

def _loadgen_main() -> None:
    """One load-generator process: spec on stdin, READY, GO <t0>, results on stdout."""
    import logging

    import socketio
    from cryptography.hazmat.primitives.asymmetric import ec

    from fieldproof.client.api import Client, DeviceKeyFile, device_metadata
    from fieldproof.core.canonical import canonicalize
    from fieldproof.core.encoding import b64url_encode
    from fieldproof.core.manifest import utc_text
    from fieldproof.core.stream import chunk_header

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(sys.stdin.readline())
    url: str = spec["url"]
    real: bool = spec["real"]
    lo, hi, n_total = spec["lo"], spec["hi"], spec["n_total"]
    chunk_bytes: int = spec["chunk_bytes"]
    interval: float | None = spec["interval"]  # None: closed loop
    warmup: float = spec["warmup"]
    duration: float = spec["duration"]
    tokens: list[str] = spec["tokens"]
    device = device_metadata()
    errors: dict[str, int] = {}
    err_lock = threading.Lock()

    def count_error(code: str) -> None:
        with err_lock:
            errors[code] = errors.get(code, 0) + 1

    class Rec:
        def __init__(self, i: int) -> None:
            self.i = i
            self.token = tokens[i % len(tokens)]
            self.key = DeviceKeyFile(Path(os.devnull), ec.generate_private_key(ec.SECP256R1()))
            self.sio: Any = None
            self.stream_id = ""
            self.lat: list[float] = []
            self.lag: list[float] = []
            self.acked_at: list[float] = []
            self.sent = 0
            self.failed: str | None = None

        def setup(self) -> None:
            if real:
                api = Client(url, self.token, retry_for=10)
                try:
                    api.enroll(self.key, f"bench-{self.i}")
                    nonce = api.nonce()["nonce"]
                finally:
                    api.close()
            else:
                nonce = b64url_encode(os.urandom(32))
            head = {"v": 2, "type": "fieldproof.stream", "kind": "audio",
                    "mime": "audio/webm;codecs=opus", "nonce": nonce,
                    "started_at": utc_text(datetime.now(UTC)),
                    "geo": {"absent": "not_provided"},
                    "device": {"key_id": self.key.key_id, **device}, "prev": None}
            raw = canonicalize(head)
            self.stream_id = hashlib.sha256(raw).hexdigest()
            self.sio = socketio.Client(reconnection=False)
            self.sio.connect(url, auth={"token": self.token}, namespaces=[NS],
                             transports=["websocket"], wait_timeout=60)
            reply = self.sio.call("start", {"header": raw.decode(), "signature":
                                            b64url_encode(self.key.sign(raw))},
                                  namespace=NS, timeout=60)
            if not reply.get("ok"):
                raise RuntimeError(f"start refused: {reply.get('error')}")

        def run(self, t0: float) -> None:
            # t0 is this process's monotonic clock at the common start.
            measure_from = t0 + warmup
            end = measure_from + duration
            phase = (self.i / n_total) * interval if interval else 0.0
            chain = bytes.fromhex(self.stream_id)
            seq = 0
            while True:
                now = time.monotonic()
                if interval:
                    sched = t0 + phase + seq * interval
                    if sched >= end or now >= end:  # an overloaded server drops the rest
                        break
                    if sched > now:
                        time.sleep(sched - now)
                else:
                    sched = now
                    if now >= end:
                        break
                data = os.urandom(chunk_bytes)
                head, new_chain = chunk_header(stream_id=self.stream_id, seq=seq, data=data,
                                               prev_chain=chain, at=datetime.now(UTC))
                raw = canonicalize(head)
                msg = {"header": raw.decode(), "signature": b64url_encode(self.key.sign(raw)),
                       "data": data}
                t_emit = time.monotonic()
                try:
                    reply = self.sio.call("chunk", msg, namespace=NS, timeout=60)
                except Exception as exc:  # timeout or disconnect: this stream stops
                    self.failed = type(exc).__name__
                    count_error(self.failed)
                    return
                t_ack = time.monotonic()
                self.sent += 1
                if not isinstance(reply, dict) or not reply.get("ok"):
                    err = (reply or {}).get("error") or {} if isinstance(reply, dict) else {}
                    code = str(err.get("code", "bad_reply"))
                    count_error(code)
                    if code == "rate_limited":
                        time.sleep(float(err.get("retry_after", 0.05)))
                        continue
                    self.failed = code
                    return
                if reply.get("seq") != seq:
                    count_error("wrong_seq")
                in_window = (sched >= measure_from) if interval else (
                    measure_from <= t_ack < end)
                if in_window:
                    self.lat.append(t_ack - t_emit)
                    self.lag.append(max(0.0, t_emit - sched))
                    self.acked_at.append(t_ack)
                chain = new_chain
                seq += 1

    recs = [Rec(i) for i in range(lo, hi)]
    t_setup = time.monotonic()
    setup_failed: list[str] = []

    def setup(r: Rec) -> None:
        try:
            r.setup()
        except Exception as exc:
            r.failed = f"setup: {type(exc).__name__}: {exc}"
            setup_failed.append(r.failed)

    # Connect in small waves, so a busy server is not hit by 50 handshakes at once.
    for k in range(0, len(recs), 10):
        wave = [threading.Thread(target=setup, args=(r,), daemon=True) for r in recs[k:k + 10]]
        for t in wave:
            t.start()
        for t in wave:
            t.join()
    setup_s = time.monotonic() - t_setup
    print(json.dumps({"ready": True, "setup_s": round(setup_s, 3),
                      "setup_failed": setup_failed[:5],
                      "connected": sum(1 for r in recs if r.failed is None)}), flush=True)
    go = sys.stdin.readline().split()
    t0_wall = float(go[1])
    t0 = time.monotonic() + (t0_wall - time.time())
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    runners = [threading.Thread(target=r.run, args=(t0,), daemon=True)
               for r in recs if r.failed is None]
    for t in runners:
        t.start()
    for t in runners:
        t.join(timeout=warmup + duration + 120)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for r in recs:
        if r.sio is not None:
            with contextlib.suppress(Exception):
                r.sio.disconnect()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(json.dumps({
        "lat": [round(x, 6) for r in recs for x in r.lat],
        "lag": [round(x, 6) for r in recs for x in r.lag],
        "acked_at": [round(x - t0, 4) for r in recs for x in r.acked_at],
        "sent": sum(r.sent for r in recs), "errors": errors,
        "failed_streams": sum(1 for r in recs if r.failed), "cpu_s": round(cpu, 3),
        "setup_s": round(setup_s, 3)}), flush=True)
    os._exit(0)  # do not wait for socketio's background threads


class _Gen:
    """One load-generator subprocess."""

    def __init__(self, spec: dict[str, Any], log_path: Path) -> None:
        self.spec = spec
        with log_path.open("ab") as errlog:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.streams", "--loadgen"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=errlog, cwd=REPO, env=clean_env(), text=True,
                start_new_session=True)
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()

    def line(self, deadline: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("load generator did not answer in time")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                text = self.proc.stdout.readline()
                if not text:
                    raise RuntimeError(f"load generator exited ({self.proc.poll()})")
                if text.startswith("{"):
                    return json.loads(text)  # type: ignore[no-any-return]

    def go(self, t0_wall: float) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"GO {t0_wall!r}\n")
        self.proc.stdin.flush()


def _drive(srv: Server, *, real: bool, n: int, tokens: list[str], chunk_bytes: int,
           interval: float | None, warmup: float, duration: float, per_proc: int,
           scratch: Path) -> dict[str, Any]:
    """One run: n streams against ``srv``; returns its figures."""
    procs = max(1, math.ceil(n / per_proc))
    bounds = [(n * k // procs, n * (k + 1) // procs) for k in range(procs)]
    gens: list[_Gen] = []
    try:
        for lo, hi in bounds:
            gens.append(_Gen({"url": srv.url, "real": real, "lo": lo, "hi": hi, "n_total": n,
                              "chunk_bytes": chunk_bytes, "interval": interval,
                              "warmup": warmup, "duration": duration,
                              "tokens": tokens[lo:hi] if len(tokens) >= n else tokens},
                             scratch / "loadgen.log"))
        deadline = time.monotonic() + 120
        readies = [g.line(deadline) for g in gens]
        connected = sum(int(r["connected"]) for r in readies)
        setup_failed = [f for r in readies for f in r.get("setup_failed", [])]
        pids = _server_pids(srv)
        cpu0 = _cpu_seconds(pids)
        t0_wall = time.time() + 0.5
        for g in gens:
            g.go(t0_wall)
        deadline = time.monotonic() + 0.5 + warmup + duration + 180
        outs = [g.line(deadline) for g in gens]
        cpu1 = _cpu_seconds(pids)
        for g in gens:
            with contextlib.suppress(subprocess.TimeoutExpired):
                g.proc.wait(timeout=10)
    finally:
        for g in gens:
            _kill_group(g.proc)
    lat = [x for o in outs for x in o["lat"]]
    lag = [x for o in outs for x in o["lag"]]
    errors: dict[str, int] = {}
    for o in outs:
        for code, count in o["errors"].items():
            errors[code] = errors.get(code, 0) + int(count)
    acked = len(lat)
    sent = sum(int(o["sent"]) for o in outs)
    run_s = 0.5 + warmup + duration
    return {
        "streams": n, "processes": procs, "connected": connected,
        "setup_failed": setup_failed[:5],
        "setup_s": max(float(r["setup_s"]) for r in readies),
        "chunk_bytes": chunk_bytes, "interval_s": interval,
        "offered_chunks_per_s": round(n / interval, 1) if interval else None,
        "acked": acked, "measured_s": duration,
        "chunks_per_s": round(acked / duration, 1),
        "mib_per_s": round(acked * chunk_bytes / duration / 2**20, 3),
        "latency": ms_stats(lat), "lag": ms_stats(lag),
        "errors": errors, "failed_streams": sum(int(o["failed_streams"]) for o in outs),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "server_cpu_ms_per_chunk": round((cpu1 - cpu0) / sent * 1e3, 3) if sent else None,
        "server_cpu_share": round((cpu1 - cpu0) / run_s, 3),
        "loadgen_cpu_s": round(sum(float(o["cpu_s"]) for o in outs), 2),
        "loadgen_cpu_share": round(sum(float(o["cpu_s"]) for o in outs) / run_s, 3),
    }


# -- part 1: latency --------------------------------------------------------------

def _latency(args: Any, scratch: Path) -> dict[str, Any]:
    counts = [int(x) for x in str(_opt(args, "streams_counts")).split(",") if x.strip()]
    duration = float(_opt(args, "streams_duration"))
    warmup = float(_opt(args, "streams_warmup"))
    chunk_bytes = int(_opt(args, "streams_chunk_kib")) * 1024
    interval = float(_opt(args, "streams_interval"))
    per_proc = int(_opt(args, "streams_per_proc"))
    sat_s = float(_opt(args, "streams_saturate"))
    sat_n = int(_opt(args, "streams_saturate_n"))
    sat_reps = int(_opt(args, "streams_saturate_reps"))
    one_user = bool(_opt(args, "streams_one_user"))
    need = max([*counts, sat_n if sat_s > 0 else 0])
    # gthread holds one thread per open WebSocket for the connection's whole
    # life: `--threads` caps concurrent streams (see _probe_threads). Both
    # servers get room for every stream plus the HTTP calls of the setup.
    threads = int(_opt(args, "streams_threads") or max(_serve_threads(), need + 56))
    runs: dict[str, list[dict[str, Any]]] = {"fieldproof": [], "echo": []}
    loops: dict[str, list[dict[str, Any]]] = {"fieldproof": [], "echo": [], "echo_inline": []}
    # All three servers are up at once (an idle one costs nothing): the
    # closed-loop runs then take turns, FieldProof, the echo as Flask-SocketIO
    # comes (the goal's baseline), the echo with FieldProof's dispatch (chunks
    # on the connection's reader thread), repeated, so that this machine's
    # drift between minutes hits all three alike.
    with RealServer(scratch / "fieldproof-var", threads=threads) as fp, \
            EchoServer(scratch / "echo-var", threads=threads) as echo, \
            EchoServer(scratch / "echo_inline-var", threads=threads, inline=True) as inline:
        servers: dict[str, Server] = {"fieldproof": fp, "echo": echo, "echo_inline": inline}
        t = time.perf_counter()
        tokens = _make_users(fp.data_dir, 1 if one_user else need)
        log(f"{len(tokens)} user(s) with tokens in {time.perf_counter() - t:.1f} s")

        def tokens_of(which: str) -> list[str]:
            return tokens if which == "fieldproof" else ["fp_echo"]

        for which in ("fieldproof", "echo"):
            for n in counts:
                log(f"{which}: {n} stream(s) x {chunk_bytes // 1024} KiB every {interval:g} s, "
                    f"{warmup:g} s + {duration:g} s")
                r = _drive(servers[which], real=which == "fieldproof", n=n,
                           tokens=tokens_of(which), chunk_bytes=chunk_bytes, interval=interval,
                           warmup=warmup, duration=duration, per_proc=per_proc,
                           scratch=scratch)
                log(f"  p50 {r['latency'].get('p50_ms')} ms, p99 {r['latency'].get('p99_ms')} "
                    f"ms, {r['chunks_per_s']} chunks/s, errors {r['errors'] or 'none'}")
                runs[which].append(r)
        for rep in range(sat_reps if sat_s > 0 else 0):
            for which in loops:
                log(f"{which}: closed loop {rep + 1}/{sat_reps}, {sat_n} streams, "
                    f"{warmup:g} s + {sat_s:g} s")
                r = _drive(servers[which], real=which == "fieldproof", n=sat_n,
                           tokens=tokens_of(which), chunk_bytes=chunk_bytes, interval=None,
                           warmup=warmup, duration=sat_s, per_proc=per_proc, scratch=scratch)
                log(f"  {r['chunks_per_s']} chunks/s, p50 {r['latency'].get('p50_ms')} ms, "
                    f"p99 {r['latency'].get('p99_ms')} ms")
                loops[which].append(r)
    for ours, bare in zip(runs["fieldproof"], runs["echo"], strict=True):
        ours["throughput_ratio"] = (round(ours["chunks_per_s"] / bare["chunks_per_s"], 3)
                                    if bare["chunks_per_s"] else None)
    return {"config": {"chunk_bytes": chunk_bytes, "interval_s": interval,
                       "bytes_per_s_per_stream": chunk_bytes / interval,
                       "warmup_s": warmup, "measured_s": duration, "per_proc": per_proc,
                       "users": "one" if one_user else "one per stream",
                       "server_threads": threads},
            "runs": runs, "saturate": _closed_loop(loops)}


def _closed_loop(loops: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each server's median closed-loop run, and the ratios of each repetition's
    turns (FieldProof / echo), with their median: the goal's figure."""
    if not loops["fieldproof"]:
        return {}
    out: dict[str, Any] = {"reps": len(loops["fieldproof"])}
    for which, rs in loops.items():
        out[which] = sorted(rs, key=lambda r: r["chunks_per_s"])[(len(rs) - 1) // 2]
        out[f"{which}_chunks_per_s"] = [r["chunks_per_s"] for r in rs]
    for name, base in (("throughput_ratio", "echo"),
                       ("throughput_ratio_vs_inline_echo", "echo_inline")):
        each = [round(f["chunks_per_s"] / b["chunks_per_s"], 3)
                for f, b in zip(loops["fieldproof"], loops[base], strict=True)
                if b["chunks_per_s"]]
        if each:
            out[name] = statistics.median(each)
            out[f"{name}_each"] = each
    return out


# -- how many streams does a default server take? -----------------------------------

def _probe_threads(url: str, token: str, threads: int) -> dict[str, Any]:
    """Open 300 stream connections at once (the goal); count those that get in,
    and whether /health answers while they are open.

    Under gunicorn's gthread worker an open WebSocket keeps its thread until
    it closes, so the pool size bounds concurrent streams; while it is full,
    plain HTTP requests wait in the queue too.
    """
    import httpx
    import socketio

    tried = 300
    clients: list[Any] = []
    connected: list[Any] = []
    lock = threading.Lock()

    def one() -> None:
        c = socketio.Client(reconnection=False)
        with lock:
            clients.append(c)
        try:
            c.connect(url, auth={"token": token}, namespaces=[NS], transports=["websocket"],
                      wait_timeout=2)
        except Exception:
            return
        with lock:
            connected.append(c)

    workers = [threading.Thread(target=one, daemon=True) for _ in range(tried)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=15)
    t0 = time.perf_counter()
    try:
        httpx.get(f"{url}/api/v1/health", timeout=1.5).raise_for_status()
        http = f"answered in {(time.perf_counter() - t0) * 1e3:.0f} ms"
    except httpx.HTTPError as exc:
        http = f"no answer in 1.5 s ({type(exc).__name__})"
    for c in clients:
        with contextlib.suppress(Exception):
            c.disconnect()
    time.sleep(0.5)  # let the server close its side and free the threads
    return {"threads": threads, "tried": tried, "connected": len(connected),
            "health_while_held": http}


# -- part 2: RSS over 1 GiB --------------------------------------------------------

def _rss(args: Any, scratch: Path) -> dict[str, Any]:
    from fieldproof.client.api import Client, DeviceKeyFile
    from fieldproof.client.stream import StreamClient

    from ._proc import RssSampler

    size = int(_opt(args, "streams_rss_mib")) * 2**20
    chunk = int(_opt(args, "streams_rss_chunk_kib")) * 1024
    threads = _opt(args, "streams_threads")
    media = scratch / "stream-1g.bin"
    block = 8 * 2**20
    with media.open("wb") as fh:
        left = size
        while left > 0:
            fh.write(os.urandom(min(block, left)))
            left -= block
    try:
        data_dir = scratch / "rss-var"
        with RealServer(data_dir, threads=threads) as srv:
            token = _make_users(data_dir, 1)[0]
            api = Client(srv.url, token)
            key = DeviceKeyFile.load_or_create(scratch / "rss-device.pem", create=True)
            api.enroll(key)
            probe = _probe_threads(srv.url, token, int(threads or _serve_threads()))
            log(f"default server: {probe['connected']} of {probe['tried']} stream connections "
                f"got in (threads {probe['threads']}); /health {probe['health_while_held']}")
            acks: list[float] = []
            warm = scratch / "warm.bin"
            warm.write_bytes(os.urandom(2 * chunk))
            StreamClient(api, key).stream_file(warm, kind="audio", mime="audio/webm",
                                               chunk_bytes=chunk)  # untimed, first use
            warm.unlink()

            class Timed(StreamClient):
                stop_s = 0.0
                rate_limited = 0

                def __init__(self, *a: Any, **kw: Any) -> None:
                    super().__init__(*a, **kw)
                    raw_call = self.sio.call

                    def counting(*ca: Any, **ckw: Any) -> Any:
                        reply = raw_call(*ca, **ckw)
                        if isinstance(reply, dict) and (reply.get("error") or {}).get(
                                "code") == "rate_limited":
                            self.rate_limited += 1
                        return reply
                    self.sio.call = counting  # type: ignore[method-assign]

                def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
                    t = time.perf_counter()
                    reply = super().call(event, data)
                    if event == "stop":
                        self.stop_s = time.perf_counter() - t
                    return reply

            sc = Timed(api, key, timeout=600, on_ack=lambda _a: acks.append(time.perf_counter()))
            time.sleep(0.5)  # let the server settle after the warm-up
            log(f"streaming {size / 2**20:.0f} MiB in {chunk // 1024} KiB chunks")
            with RssSampler(srv.pid, interval=0.05) as sampler:
                before = sampler.sample()
                t0 = time.perf_counter()
                capture = sc.stream_file(media, kind="audio", mime="audio/webm",
                                         chunk_bytes=chunk)
                total_s = time.perf_counter() - t0
            api.close()
        samples = sampler.samples
        worker_peak = max(s.worker_kib for s in samples)
        last_ack = acks[-1] if acks else samples[-1].t
        during_chunks = [s.worker_kib for s in samples if s.t <= last_ack] or [0]
        during_stop = [s.worker_kib for s in samples if s.t > last_ack] or [0]
        # Worker RSS after each tenth of the chunks: flat means nothing piles up per chunk.
        timeline = []
        for k in range(1, 11):
            at = acks[max(0, len(acks) * k // 10 - 1)] if acks else samples[-1].t
            near = min(samples, key=lambda s, at=at: abs(s.t - at))
            timeline.append(round(near.worker_kib / 1024, 1))
        total_peak = max(s.total_kib for s in sampler.samples)
        chunks_s = acks[-1] - t0 if acks else total_s
        return {
            "bytes": size, "chunk_bytes": chunk, "chunks": len(acks),
            "capture_ok": capture["media"]["size"] == size,
            "total_s": round(total_s, 2), "mib_per_s": round(size / 2**20 / total_s, 2),
            "chunks_s": round(chunks_s, 2),
            "chunks_mib_per_s": round(size / 2**20 / chunks_s, 2),
            "stop_s": round(sc.stop_s, 2), "rate_limited_replies": sc.rate_limited,
            "worker_rss_mib": {"before": round(before.worker_kib / 1024, 1),
                               "peak": round(worker_peak / 1024, 1),
                               "growth": round((worker_peak - before.worker_kib) / 1024, 1),
                               "peak_during_chunks": round(max(during_chunks) / 1024, 1),
                               "peak_during_stop": round(max(during_stop) / 1024, 1),
                               "after": round(samples[-1].worker_kib / 1024, 1),
                               "by_tenth_of_chunks": timeline},
            "server_rss_mib": {"before": round(before.total_kib / 1024, 1),
                               "peak": round(total_peak / 1024, 1),
                               "growth": round((total_peak - before.total_kib) / 1024, 1)},
            "samples": len(sampler.samples), "connection_probe": probe,
        }
    finally:
        media.unlink(missing_ok=True)


# -- the report ---------------------------------------------------------------------

def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _print(res: dict[str, Any]) -> None:
    lat = res.get("latency")
    if lat:
        c = lat["config"]
        print(f"\nstreams: ack latency, {c['chunk_bytes'] // 1024} KiB every "
              f"{c['interval_s']:g} s per stream ({c['bytes_per_s_per_stream'] / 1024:g} KiB/s), "
              f"{c['measured_s']:g} s measured, users: {c['users']}, "
              f"server threads {c['server_threads']}")
        rows = [["server", "streams", "p50 ms", "p99 ms", "max ms", "lag p99 ms", "chunks/s",
                 "MiB/s", "ratio", "errors", "srv cpu ms/chunk", "srv cpu", "gen cpu"]]
        for which in ("fieldproof", "echo"):
            for r in lat["runs"][which]:
                rows.append([which, str(r["streams"]), _fmt(r["latency"].get("p50_ms")),
                             _fmt(r["latency"].get("p99_ms")), _fmt(r["latency"].get("max_ms")),
                             _fmt(r["lag"].get("p99_ms")), _fmt(r["chunks_per_s"]),
                             _fmt(r["mib_per_s"], 2), _fmt(r.get("throughput_ratio"), 2),
                             ",".join(f"{k}:{v}" for k, v in r["errors"].items()) or "0",
                             _fmt(r["server_cpu_ms_per_chunk"], 2),
                             f"{r['server_cpu_share']:.0%}", f"{r['loadgen_cpu_share']:.0%}"])
        sat = lat.get("saturate") or {}
        for which in ("fieldproof", "echo", "echo_inline"):
            r = sat.get(which)
            if r:
                rows.append([f"{which} closed loop", str(r["streams"]),
                             _fmt(r["latency"].get("p50_ms")), _fmt(r["latency"].get("p99_ms")),
                             _fmt(r["latency"].get("max_ms")), "-", _fmt(r["chunks_per_s"]),
                             _fmt(r["mib_per_s"], 2),
                             _fmt(sat.get("throughput_ratio"), 2) if which == "fieldproof"
                             else "", ",".join(f"{k}:{v}" for k, v in r["errors"].items()) or "0",
                             _fmt(r["server_cpu_ms_per_chunk"], 2),
                             f"{r['server_cpu_share']:.0%}", f"{r['loadgen_cpu_share']:.0%}"])
        print(table(rows))
        big = max(lat["runs"]["fieldproof"], key=lambda r: r["streams"], default=None)
        if big and big["latency"].get("n"):
            p99 = big["latency"]["p99_ms"]
            print(f"goal p99 <= {GOAL_P99_MS:g} ms at {big['streams']} streams: {p99:.1f} ms "
                  f"({'met' if p99 <= GOAL_P99_MS else 'NOT MET'})")
        ratio = sat.get("throughput_ratio")
        if ratio is not None:
            each = ", ".join(f"{x:.2f}" for x in sat["throughput_ratio_each"])
            print(f"goal throughput >= {GOAL_THROUGHPUT_RATIO:g}x bare echo (closed loop, median "
                  f"of {sat['reps']} turns: {each}): {ratio:.2f}x "
                  f"({'met' if ratio >= GOAL_THROUGHPUT_RATIO else 'NOT MET'})")
        inline = sat.get("throughput_ratio_vs_inline_echo")
        if inline is not None:
            each = ", ".join(f"{x:.2f}" for x in sat["throughput_ratio_vs_inline_echo_each"])
            print(f"against the echo with FieldProof's dispatch (chunks inline): {inline:.2f}x "
                  f"({each})")
    rss = res.get("rss")
    if rss:
        w = rss["worker_rss_mib"]
        print(f"\nstreams: {rss['bytes'] / 2**20:.0f} MiB in one stream, "
              f"{rss['chunk_bytes'] // 1024} KiB chunks, no client rate limit")
        print(table([
            ["what", "value"],
            ["worker RSS before / peak (MiB)", f"{w['before']} / {w['peak']}"],
            ["worker RSS growth (MiB)", f"{w['growth']} "
             f"({'met' if w['growth'] < GOAL_RSS_MIB else 'NOT MET'}: < {GOAL_RSS_MIB:g})"],
            ["worker peak while chunks / during stop (MiB)",
             f"{w['peak_during_chunks']} / {w['peak_during_stop']}"],
            ["worker RSS after each 10% of chunks (MiB)",
             " ".join(str(x) for x in w["by_tenth_of_chunks"])],
            ["server (arbiter+worker) growth (MiB)", str(rss["server_rss_mib"]["growth"])],
            ["end to end incl. stop (MiB/s)", f"{rss['mib_per_s']} ({rss['total_s']} s)"],
            ["chunks only (MiB/s)", f"{rss['chunks_mib_per_s']} ({rss['chunks_s']} s)"],
            ["stop: assemble + store + read-back (s)", str(rss["stop_s"])],
            ["rate_limited replies ridden out", str(rss["rate_limited_replies"])],
        ]))
        pr = rss["connection_probe"]
        print(f"connections: a server with --threads {pr['threads']} let {pr['connected']} of "
              f"{pr['tried']} simultaneous stream connections in; /health while they were "
              f"open: {pr['health_while_held']}")


def _summary(res: dict[str, Any]) -> dict[str, Any]:
    """The goal figures in one place (for the JSON reader)."""
    out: dict[str, Any] = {}
    lat = res.get("latency")
    if lat and lat["runs"]["fieldproof"]:
        big = max(lat["runs"]["fieldproof"], key=lambda r: r["streams"])
        p99 = big["latency"].get("p99_ms")
        out["p99_ms_at_max_streams"] = {"streams": big["streams"], "value": p99,
                                        "goal": GOAL_P99_MS,
                                        "met": p99 is not None and p99 <= GOAL_P99_MS}
        out["paced_throughput_ratio_at_max_streams"] = big.get("throughput_ratio")
        ratio = (lat.get("saturate") or {}).get("throughput_ratio")
        if ratio is not None:
            out["closed_loop_throughput_ratio"] = {"value": ratio, "goal": GOAL_THROUGHPUT_RATIO,
                                                   "met": ratio >= GOAL_THROUGHPUT_RATIO}
            out["closed_loop_ratio_vs_inline_echo"] = (
                lat.get("saturate") or {}).get("throughput_ratio_vs_inline_echo")
    rss = res.get("rss")
    if rss:
        growth = rss["worker_rss_mib"]["growth"]
        out["rss_growth_mib"] = {"value": growth, "goal": GOAL_RSS_MIB,
                                 "met": growth < GOAL_RSS_MIB}
        out["end_to_end_mib_per_s"] = rss["mib_per_s"]
        out["stop_s"] = rss["stop_s"]
    return out


def run(args: Any = None) -> dict[str, Any]:
    """Run the streams benchmark; prints a table, writes bench/out/streams.json.

    ``args`` is an argparse namespace (see add_arguments; missing attributes
    take their defaults). The result has ``"ok": False`` and ``"error"`` when
    a part could not run at all; a missed goal is never an error.
    """
    only = _opt(args, "streams_only")
    tmp_root = _opt(args, "tmp_dir")
    root = Path(tmp_root) if tmp_root else REPO / "bench" / "out"
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="streams-", dir=root))
    res: dict[str, Any] = {**header(NAME), "ok": True}
    started = time.perf_counter()
    try:
        if only in (None, "latency"):
            try:
                res["latency"] = _latency(args, scratch)
            except Exception as exc:
                log(f"latency part failed: {type(exc).__name__}: {exc}")
                res["ok"] = False
                res["error"] = f"latency: {type(exc).__name__}: {exc}"
        if only in (None, "rss"):
            try:
                res["rss"] = _rss(args, scratch)
            except Exception as exc:
                log(f"rss part failed: {type(exc).__name__}: {exc}")
                res["ok"] = False
                res["error"] = f"rss: {type(exc).__name__}: {exc}"
    finally:
        res["elapsed_s"] = round(time.perf_counter() - started, 1)
        res["summary"] = _summary(res)
        if _opt(args, "keep"):
            res["scratch"] = str(scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    _print(res)
    path = write_json(NAME, res)
    print(f"\nstreams: {res['elapsed_s']:.0f} s; written to {shown(path)}", flush=True)
    return res


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--loadgen"]:
        _loadgen_main()
        return 0
    if argv[:1] == ["--make-users"]:
        _make_users_main(int(argv[1]), Path(argv[argv.index("--data-dir") + 1]))
        return 0
    p = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, standalone=True)
    p.add_argument("--tmp-dir", type=Path, default=None,
                   help="where scratch dirs go (default bench/out/)")
    p.add_argument("--keep", action="store_true", help="keep the scratch dir (server logs)")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    res = run(args)
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
