"""Private files that hold keys and certificates: written atomically, 0600 from birth.

One home for what the log key, the embedded TSA, the server CA, the LAN TLS
certificate and the CLI's device key each need: a file that is never seen
half-written, never world-readable even for a moment, and, when several
processes start at once, made by exactly one of them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from fieldproof.storage.private import FILE_MODE, make_dirs


def fsync_dir(directory: Path) -> None:
    """Persist a directory entry change (rename, create, unlink)."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(path: Path, data: bytes, mode: int) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # Created with its final mode: a key must never exist world-readable, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed the mode os.open used
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` in one step (readers see old or new, never half)."""
    make_dirs(path.parent)
    tmp = _write_tmp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_once(path: Path, make: Callable[[], bytes], mode: int = FILE_MODE) -> bytes:
    """The content of ``path``, made with ``make()`` if it does not exist yet.

    If two processes race, ``link()`` lets exactly one file win, and both
    return its content.
    """
    if not path.exists():
        make_dirs(path.parent)
        tmp = _write_tmp(path, make(), mode)
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
    return path.read_bytes()
