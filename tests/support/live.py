"""A real `fieldproof serve` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

FIELDPROOF = str(Path(sys.executable).parent / "fieldproof")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
            cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FIELDPROOF, *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


class Service:
    """A process of ours the tests start, in its own process group, logging to a
    file: `fieldproof serve` (LiveServer), `fieldproof worker` (Worker), or any
    service of the compose file (cluster.Process). With a port, ``start`` waits
    until its /api/v1/health answers."""

    name: str
    env: dict[str, str]
    port: int | None
    proc: subprocess.Popen[bytes] | None

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def log_path(self) -> Path:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, **self.env}, start_new_session=True)
        if self.port:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # a polling interval
        raise TimeoutError(f"{self.name} did not come up: {self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not in {self.name}'s log: {self.log()[-4000:]}")
            self._check_running()
            time.sleep(0.05)  # a polling interval

    def _check_running(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log()[-4000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group; SIGKILL it if it outlives 20 s."""
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.kill(sig)


@dataclass
class LiveServer(Service):
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    args: tuple[str, ...] = ()  # more `fieldproof serve` options, e.g. ("--threads", "8")
    name: str = "server"

    def command(self) -> list[str]:
        return [FIELDPROOF, "serve", "--port", str(self.port), "--data-dir",
                str(self.data_dir), *self.args]

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"server-{self.port}.log"

    def start(self) -> Self:
        self.port = self.port or free_port()
        return super().start()

    def create_user(self, email: str, password: str = "correct horse battery") -> str:
        out = run_cli("admin", "create-user", email, "--password-stdin", "--print-token",
                      "--data-dir", str(self.data_dir), env=self.env, stdin=password + "\n")
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]


@dataclass
class Worker(Service):
    """A `fieldproof worker` process (the sequencer on its own)."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    name: str = "worker"
    port: int | None = None

    def command(self) -> list[str]:
        return [FIELDPROOF, "worker", "--data-dir", str(self.data_dir)]

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"
