"""The object-store contract suite runs once per implementation."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldproof.storage import FilesystemStore, ObjectStore
from tests.support.s3server import S3Server


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each contract test runs once per implementation, on an empty store."""
    if request.param == "filesystem":
        return FilesystemStore(tmp_path / "fs-store")
    server: S3Server = request.getfixturevalue("s3_server")
    return server.store(tmp_path / "s3-spool")
