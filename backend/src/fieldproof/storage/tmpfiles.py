"""Temporary files that a crash cannot leave behind for good.

Uploads, stream chunks and copies are spooled into the store's tmp dir. Each
such file is held under an exclusive ``flock`` for as long as a process uses
it; the kernel drops the lock when the process dies, however it dies. The
sweeper removes exactly the files nobody holds: leftovers of a killed server,
never an upload in flight (in this process, another worker or another node
sharing the directory on the same machine).

Written here rather than taken from a library: the standard library has the
pieces (``tempfile``, ``fcntl.flock``) but nothing that ties a temp file's
life to its owner's; this is that tie and no more.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from pathlib import Path

from fieldproof.storage.private import private_dir

log = logging.getLogger(__name__)


def locked_mkstemp(dir: Path, prefix: str, suffix: str = "") -> tuple[int, Path]:
    """``tempfile.mkstemp`` (mode 0600), returned already under our exclusive lock."""
    private_dir(dir)
    while True:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dir)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A sweeper may have taken the unlocked file between mkstemp and flock
        # and unlinked it: then this descriptor names a deleted file. Retry.
        if os.fstat(fd).st_nlink > 0:
            return fd, Path(name)
        os.close(fd)


def sweep(dir: Path) -> tuple[int, int]:
    """Remove every file in ``dir`` that no process holds; returns (files, bytes)."""
    files = size = 0
    try:
        entries = list(os.scandir(dir))
    except FileNotFoundError:
        return 0, 0
    for entry in entries:
        if not entry.is_file(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone already
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # in use
            st = os.fstat(fd)
            if st.st_nlink == 0:
                continue
            os.unlink(entry.path)
            files += 1
            size += st.st_size
        except FileNotFoundError:
            pass  # its owner renamed it into the store meanwhile
        except OSError:
            log.warning("could not sweep %s", entry.path, exc_info=True)
        finally:
            os.close(fd)  # releases our lock
    if files:
        log.info("removed %d leftover temporary file(s), %d bytes, from %s", files, size, dir)
    return files, size
