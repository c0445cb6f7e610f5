"""A real `fieldproof witness serve` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.live import FIELDPROOF, free_port, run_cli


@dataclass
class WitnessServer:
    dir: Path
    name: str
    logs: tuple[str, ...]  # the vkeys of the logs it follows
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    vkey: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key_file(self) -> Path:
        return self.dir / "witness.key"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    def init(self) -> str:
        out = run_cli("witness", "init", "--key", str(self.key_file), "--name", self.name)
        assert out.returncode == 0, out.stdout + out.stderr
        self.vkey = out.stdout.strip().splitlines()[-1]
        return self.vkey

    def start(self) -> WitnessServer:
        if not self.vkey:
            self.init()
        self.port = self.port or free_port()
        log = (self.dir / "witness.log").open("ab")
        args = [FIELDPROOF, "witness", "serve", "--key", str(self.key_file), "--port",
                str(self.port), "--data-dir", str(self.data_dir)]
        for vkey in self.logs:
            args += ["--log", vkey]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ), start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"witness exited: {self.log()}")
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"witness did not come up: {self.log()}")

    def log(self) -> str:
        path = self.dir / "witness.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
