"""Object storage: the :class:`ObjectStore` contract and its two implementations."""

from __future__ import annotations

from fieldproof.storage.base import ObjectInfo, ObjectStore, check_key, media_key
from fieldproof.storage.filesystem import FilesystemStore
from fieldproof.storage.s3 import S3Store

__all__ = ["FilesystemStore", "ObjectInfo", "ObjectStore", "S3Store", "check_key", "media_key"]
