"""The data dir is private: directories 0700, files 0600.

It holds emails, password hashes, GPS positions, client addresses and signing
keys. Everything under it is created with these modes, and a server start
tightens what an older version left wider.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_dirs(path: Path) -> Path:
    """Create ``path`` and missing parents as 0700; leave existing ones as they are."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):  # mkdir(parents=True) would give parents the umask's mode
        p.mkdir(mode=DIR_MODE, exist_ok=True)
    return path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; tighten it if it exists."""
    make_dirs(path)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 if missing; tighten it if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def tighten(data_dir: Path) -> None:
    """Make ``data_dir`` 0700 and every file or directory directly under it private.

    Deeper levels are reached through these (a 0700 parent already keeps
    everyone else out) and are created private by the code that makes them.
    """
    private_dir(data_dir)
    for entry in os.scandir(data_dir):
        if entry.is_symlink():
            continue
        want = DIR_MODE if entry.is_dir() else FILE_MODE
        if entry.stat().st_mode & 0o777 != want:
            os.chmod(entry.path, want)
