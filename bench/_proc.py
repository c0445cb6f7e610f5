"""Helpers for the benchmarks: a real `fieldproof serve` subprocess, /proc RSS.

Only 127.0.0.1 is ever used. psutil is not a dependency, so process trees and
resident sizes come straight from /proc (Linux only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent


def fieldproof_bin() -> Path:
    """The venv's `fieldproof` script, next to the running interpreter if possible."""
    for cand in (Path(sys.executable).parent / "fieldproof", REPO / ".venv/bin/fieldproof"):
        if cand.exists():
            return cand
    raise SystemExit("cannot find the `fieldproof` command; run `make install` first")


def clean_env() -> dict[str, str]:
    """Environment for server and admin CLI: SQLite and the filesystem store, always."""
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("FIELDPROOF_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- /proc ---------------------------------------------------------------------

def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` in KiB (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc/PID/task/*/children."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                kids.extend(int(x) for x in fh.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return kids


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


@dataclass
class RssSample:
    t: float
    worker_kib: int
    total_kib: int


@dataclass
class RssSampler:
    """Samples the server tree's RSS every ``interval`` seconds in a thread."""

    root_pid: int
    interval: float = 0.05
    samples: list[RssSample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> RssSample:
        kids = descendants(self.root_pid)
        worker = sum(rss_kib(p) for p in kids)
        total = rss_kib(self.root_pid) + worker
        return RssSample(time.perf_counter(), worker, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.samples.append(self.sample())


# -- the server ----------------------------------------------------------------

class Server:
    """`fieldproof serve` on a free 127.0.0.1 port with its own data dir.

    Use as a context manager: the process group is terminated (then killed)
    on exit, whatever happened inside.
    """

    health_path = "/api/v1/health"

    def __init__(self, data_dir: Path, *, profile_dir: Path | None = None,
                 extra_env: dict[str, str] | None = None,
                 startup_timeout: float = 60.0, cpus: str | None = None) -> None:
        self.data_dir = data_dir
        self.cpus = cpus  # taskset's list: the server and its workers run only there
        self.profile_dir = profile_dir
        self.extra_env = dict(extra_env or {})
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.runtime_dir: Path | None = None

    def __enter__(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # gunicorn's arbiter binds a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl,
        # else at the fixed ~/.gunicorn/gunicorn.ctl, unlinking whatever is there
        # and unlinking it again on exit: two servers on one box (a benchmark and
        # a test run) would take each other's socket. Each server gets its own
        # short directory (a Unix socket path must stay under 108 bytes).
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="fp-bench-run-"))
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                (["taskset", "-c", self.cpus] if self.cpus else []) + self.argv(),
                stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=REPO,
                start_new_session=True)
        finally:
            log.close()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.stop()
        if exc_type is not None and issubclass(exc_type, Exception):
            print(f"--- last lines of {self.log_path.name} ---\n{self.tail_log(12)}",
                  file=sys.stderr, flush=True)

    def argv(self) -> list[str]:
        return [*self.command(), "serve", "--host", HOST, "--port", str(self.port),
                "--data-dir", str(self.data_dir)]

    def command(self) -> list[str]:
        if self.profile_dir:  # see bench/_profiled_serve.py
            return [sys.executable, "-m", "bench._profiled_serve"]
        return [str(fieldproof_bin())]

    def env(self) -> dict[str, str]:
        env = clean_env() | self.extra_env
        if self.runtime_dir is not None:
            env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)
        if self.profile_dir:
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            env["BENCH_SERVER_PROFILE"] = str(self.profile_dir)
        return env

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}; "
                                       f"log:\n{self.tail_log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}{self.health_path}").status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {self.startup_timeout:.0f}s; "
                           f"log:\n{self.tail_log()}")

    def tail_log(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM the process group we started, then SIGKILL it if it lingers."""
        proc, self.proc = self.proc, None
        try:
            if proc is not None and proc.poll() is None:
                pgid = proc.pid  # start_new_session=True: the server leads its own group
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pgid, signal.SIGKILL)
                    proc.wait(timeout=10)
                # Reap the worker too, should it have outlived the arbiter.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        finally:
            if self.runtime_dir is not None:
                shutil.rmtree(self.runtime_dir, ignore_errors=True)
                self.runtime_dir = None

    def create_user(self, email: str, password: str) -> str:
        """Create a user with the admin CLI; returns the API token (its last line)."""
        out = subprocess.run(
            [str(fieldproof_bin()), "admin", "create-user", email, "--password-stdin",
             "--print-token", "--data-dir", str(self.data_dir)],
            input=password + "\n", capture_output=True, text=True, env=clean_env(), cwd=REPO,
            timeout=60, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"create-user failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout.strip().splitlines()[-1].strip()
