"""Spool an upload to disk while hashing it, so media is never held in memory.

The spool file lives in the object store's own tmp dir, so the filesystem
store can rename it into place instead of copying it a second time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from fieldproof.storage.tmpfiles import locked_mkstemp

HEAD_BYTES = 64 * 1024


class HashingSpool:
    """A write-once file that knows its SHA-256, size and first bytes."""

    def __init__(self, tmp_dir: Path) -> None:
        # Locked while open: the tmp sweeper removes only files nobody holds.
        fd, self.path = locked_mkstemp(tmp_dir, "upload-", ".part")
        self._fh = os.fdopen(fd, "w+b")
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.owned = True  # False once handed to a store with consume=True

    # The file-like surface werkzeug's form parser needs.
    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self._hash.update(data)
        if len(self.head) < HEAD_BYTES:
            self.head += bytes(data[: HEAD_BYTES - len(self.head)])
        self.size += len(data)
        return len(data)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._fh.seek(pos, whence)

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)

    def tell(self) -> int:
        return self._fh.tell()

    def flush(self) -> None:
        self._fh.flush()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:  # e.g. .name, .fileno for send paths
        return getattr(self._fh, name)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def finish(self) -> None:
        """Flush and fsync: after this the bytes are on disk."""
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def discard(self) -> None:
        """Close and remove the spool file unless a store took it over."""
        if not self._fh.closed:
            self._fh.close()
        if self.owned:
            self.path.unlink(missing_ok=True)

