"""Reading a bundle: from a zip, or from bytes in memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import IO, Protocol


class BundleReader(Protocol):
    def names(self) -> list[str]: ...

    def open(self, name: str) -> IO[bytes]: ...


class MemoryBundle:
    """A bundle given as ``{name: bytes}`` (tests, small tools)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files

    def names(self) -> list[str]:
        return list(self.files)

    def open(self, name: str) -> IO[bytes]:
        return io.BytesIO(self.files[name])


class ZipBundle:
    """A bundle in an already opened ``zipfile.ZipFile`` (the caller opened the file)."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf

    def names(self) -> list[str]:
        return [i.filename for i in self.zf.infolist() if not i.is_dir()]

    def open(self, name: str) -> IO[bytes]:
        return self.zf.open(name)
