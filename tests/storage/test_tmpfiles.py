"""Leftover temp files are swept; files a live process holds are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fieldproof.capture.spool import HashingSpool
from fieldproof.storage.tmpfiles import locked_mkstemp, sweep


def test_sweep_removes_only_what_nobody_holds(tmp_path: Path) -> None:
    leftover = tmp_path / "upload-dead.part"
    leftover.write_bytes(b"x" * 1000)  # as a killed process leaves it: no lock
    fd, held = locked_mkstemp(tmp_path, "chunk-")  # in use in this process
    spool = HashingSpool(tmp_path)  # an upload in flight
    spool.write(b"in flight")
    # held by another, still running process
    other = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from fieldproof.storage.tmpfiles import "
         "locked_mkstemp; fd, p = locked_mkstemp(Path(sys.argv[1]), 'upload-'); "
         "print(p, flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdin is not None
    theirs = Path(other.stdout.readline().strip())
    try:
        assert sweep(tmp_path) == (1, 1000)
        assert not leftover.exists()
        assert held.exists() and spool.path.exists() and theirs.exists()
    finally:
        other.stdin.close()
        other.wait(10)
    # the other process is gone: its file is a leftover now
    assert sweep(tmp_path) == (1, 0)
    assert not theirs.exists() and held.exists()
    os.close(fd)
    spool.discard()


def test_a_file_swept_before_it_was_locked_is_made_again(tmp_path: Path,
                                                         monkeypatch: object) -> None:
    """mkstemp, then flock: a sweep in between must not leave us a deleted file."""
    import fcntl

    import fieldproof.storage.tmpfiles as tf

    real_flock = fcntl.flock
    calls = {"n": 0}

    def flock_after_a_sweep(fd: int, op: int) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the first file is swept just before we lock it
            sweep(tmp_path)
        real_flock(fd, op)

    monkeypatch.setattr(tf.fcntl, "flock", flock_after_a_sweep)  # type: ignore[attr-defined]
    fd, path = locked_mkstemp(tmp_path, "upload-")
    try:
        assert path.exists() and os.fstat(fd).st_nlink == 1
        assert len(list(tmp_path.iterdir())) == 1
    finally:
        os.close(fd)
