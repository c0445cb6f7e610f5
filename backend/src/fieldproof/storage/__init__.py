"""Object storage: the :class:`ObjectStore` contract and its two implementations."""

from __future__ import annotations

from .base import ObjectInfo, ObjectStore, check_key, media_key
from .filesystem import FilesystemStore
from .s3 import S3Store

__all__ = ["FilesystemStore", "ObjectInfo", "ObjectStore", "S3Store", "check_key", "media_key"]
