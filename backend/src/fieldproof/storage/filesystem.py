"""Object store on a local (or mounted) POSIX filesystem.

Layout under ``root``::

    objects/<key>   the objects, one file per key
    tmp/            spool and staging files (same filesystem, so renames are atomic)

An object only ever appears under its final name through ``os.replace`` of a
fully written and fsync'd file, so readers see either the old bytes, the new
bytes or nothing; never a partial write.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from fieldproof.errors import ObjectKeyInvalid, ObjectMissing, StorageError, StorageFull
from fieldproof.storage.base import ObjectInfo, check_key, check_range
from fieldproof.storage.keyfiles import fsync_dir
from fieldproof.storage.private import private_dir
from fieldproof.storage.tmpfiles import locked_mkstemp

COPY_BLOCK = 1 << 20


class _FileRange:
    """Iterator over a byte range of an already opened file.

    The file is opened before this object exists, so a missing object fails at
    ``iter_range()`` call time rather than on first iteration. ``close()`` lets
    WSGI servers release the descriptor when a client disconnects early.
    """

    def __init__(self, fh: BinaryIO, remaining: int | None, chunk_size: int) -> None:
        self._fh: BinaryIO | None = fh
        self._remaining = remaining
        self._chunk = chunk_size

    def __iter__(self) -> _FileRange:
        return self

    def __next__(self) -> bytes:
        if self._fh is None:
            raise StopIteration
        want = self._chunk if self._remaining is None else min(self._chunk, self._remaining)
        data = self._fh.read(want) if want > 0 else b""
        if not data:
            self.close()
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= len(data)
        return data

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __del__(self) -> None:
        self.close()


class FilesystemStore:
    """:class:`~fieldproof.storage.base.ObjectStore` backed by a directory."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._tmp = self.root / "tmp"
        private_dir(self._objects)
        private_dir(self._tmp)

    @property
    def tmp_dir(self) -> Path:
        """Spool folder on the same filesystem; hand files over with consume=True."""
        return private_dir(self._tmp)

    def _path(self, key: str) -> Path:
        """Final path of ``key``; refuses anything that resolves outside objects/."""
        check_key(key)
        base = self._objects.resolve()
        final = (self._objects / key).resolve()
        # check_key already forbids "..", so escaping is only possible through a
        # symlink planted inside objects/ (or a symlinked object itself).
        if final == base or not final.is_relative_to(base):
            raise ObjectKeyInvalid(f"object key {key!r} escapes the store")
        return final

    def _ensure_parent(self, final: Path) -> None:
        """Create the parent directories of ``final`` and persist each new entry."""
        base = self._objects.resolve()
        missing: list[Path] = []
        parent = final.parent
        while parent != base and not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            with contextlib.suppress(FileExistsError):  # a concurrent put made it
                d.mkdir(mode=0o700)
            fsync_dir(d.parent)

    def put_file(self, key: str, path: Path, *, consume: bool = False) -> ObjectInfo:
        """Store ``path`` under ``key`` durably (see the module docstring).

        With ``consume=True`` a regular file on the same filesystem is renamed
        into place; otherwise it is copied and, if consumed, removed afterwards.
        On failure nothing appears under ``key`` and the source is left as is.
        """
        final = self._path(key)
        path = Path(path)
        try:
            st = os.lstat(path)
            if not stat_mod.S_ISREG(st.st_mode):
                raise StorageError(f"put {key}: source is not a regular file")
            self._ensure_parent(final)
            moved = consume and st.st_dev == os.stat(self._objects).st_dev
            if moved:
                size = self._rename_in(path, final)
            else:
                size = self._copy_in(path, final)
                if consume:
                    path.unlink()
                    fsync_dir(path.parent)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(f"put {key}: the disk is full") from exc
            raise StorageError(
                f"put {key}: {exc.strerror or type(exc).__name__}"
                f" (errno {errno.errorcode.get(exc.errno or 0, exc.errno)})"
            ) from exc
        return ObjectInfo(key=key, size=size, moved=moved)

    def _rename_in(self, path: Path, final: Path) -> int:
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
            size = os.fstat(fh.fileno()).st_size
        os.replace(path, final)  # EISDIR/ENOTDIR if a directory is in the way
        fsync_dir(final.parent)
        if path.parent.resolve() != final.parent:
            fsync_dir(path.parent)
        return size

    def _copy_in(self, path: Path, final: Path) -> int:
        fd, tmp = locked_mkstemp(self.tmp_dir, ".put-")
        try:
            size = 0
            with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
                while block := src.read(COPY_BLOCK):
                    dst.write(block)
                    size += len(block)
                dst.flush()
                os.fsync(dst.fileno())
                os.replace(tmp, final)  # still locked: the tmp sweeper leaves it alone
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(final.parent)
        return size

    def stat(self, key: str) -> ObjectInfo | None:
        final = self._path(key)
        try:
            st = os.stat(final)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"stat {key}: {exc.strerror}") from exc
        if not stat_mod.S_ISREG(st.st_mode):
            return None
        return ObjectInfo(key=key, size=st.st_size)

    def iter_range(self, key: str, start: int = 0, length: int | None = None,
                   chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield bytes [start, start+length) of the object.

        The range is clamped to the object: a range running past the end stops
        at the end, a ``start`` at or beyond the end (or ``length == 0``) yields
        nothing. Negative ``start``/``length`` raise BadRequest
        (``range_invalid``). A missing object raises NotFound
        (``object_missing``) at call time, before any iteration.
        """
        check_range(start, length, chunk_size)
        final = self._path(key)
        try:
            fh = open(final, "rb")  # noqa: SIM115 - _FileRange owns and closes it
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectMissing(f"object {key} does not exist") from exc
        except OSError as exc:
            raise StorageError(f"read {key}: {exc.strerror}") from exc
        try:
            if start:
                fh.seek(start)
        except OSError as exc:
            fh.close()
            raise StorageError(f"read {key}: {exc.strerror}") from exc
        return _FileRange(fh, length, chunk_size)

    def delete(self, key: str) -> None:
        final = self._path(key)
        try:
            final.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"delete {key}: {exc.strerror}") from exc
        fsync_dir(final.parent)

    def supports_retention(self) -> bool:
        """A plain filesystem cannot enforce retention."""
        return False
