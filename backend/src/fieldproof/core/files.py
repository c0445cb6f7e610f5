"""A file's SHA-256 and size, read in 1 MiB blocks (never whole): one helper for the
client, the web recorder's files and the speech model's pins."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BLOCK = 1 << 20


def file_sha256(path: Path, *, fsync: bool = False) -> tuple[str, int]:
    """(hex SHA-256, size) of the file at ``path``; ``fsync``: also make it durable
    (a file another process just wrote, about to be signed)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
            size += len(block)
        if fsync:
            os.fsync(fh.fileno())
    return digest.hexdigest(), size
