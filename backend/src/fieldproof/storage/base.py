"""The object store contract.

Originals are content-addressed: the key of a media object is derived from its
SHA-256 (see :func:`media_key`). Implementations must make ``put_file`` durable
before returning (fsync / completed upload) and must never leave a partially
written object visible under its final key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fieldproof.errors import ObjectKeyInvalid, RangeInvalid

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
MAX_KEY_LEN = 512


def check_key(key: str) -> str:
    """Reject keys that could escape a prefix or confuse a backend."""
    if len(key) > MAX_KEY_LEN or not KEY_RE.match(key) or ".." in key.split("/"):
        raise ObjectKeyInvalid(f"invalid object key {key!r}")
    return key


def media_key(sha256_hex: str) -> str:
    h = sha256_hex.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", h):
        raise ObjectKeyInvalid("invalid sha256")
    return f"media/sha256/{h[:2]}/{h[2:4]}/{h}"


def check_range(start: int, length: int | None, chunk_size: int) -> None:
    """Reject ranges no store can honour; shared by both implementations."""
    if start < 0 or (length is not None and length < 0):
        raise RangeInvalid(f"invalid range start={start} length={length}")
    if chunk_size <= 0:
        raise RangeInvalid(f"invalid chunk size {chunk_size}")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    # put_file moved the very file the caller wrote and fsynced into place (a
    # rename, no copy): the caller's own hash of it is the object's, and reading
    # it back would only re-read the page cache.
    moved: bool = False


class ObjectStore(Protocol):
    """What the services need from storage; nothing more."""

    name: str  # "filesystem" or "s3"

    def put_file(self, key: str, path: Path, *, consume: bool = False) -> ObjectInfo:
        """Store the file at ``path`` under ``key``, durably.

        With ``consume=True`` the store may take ownership of ``path`` (e.g.
        rename it into place); the caller must not use ``path`` afterwards.
        Overwrites an existing object with the same key.
        """

    def stat(self, key: str) -> ObjectInfo | None:
        """Size of the object, or None when it does not exist."""

    def iter_range(self, key: str, start: int = 0, length: int | None = None,
                   chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the bytes [start, start+length) of the object (to the end if None).

        Raises fieldproof.errors.NotFound (code "object_missing") if absent.
        """

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""

    def supports_retention(self) -> bool:
        """True only if the backend proved it enforces object-lock retention."""
