"""Fault injection: a store that fails or corrupts, a database that fails late.

The object store here is the real FilesystemStore wrapped to fail on demand;
wrapping is the only way to make a healthy disk misbehave at a chosen moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fieldproof.db import Capture, Nonce, ObjectPin
from fieldproof.errors import StorageError
from fieldproof.services import Services
from fieldproof.storage import FilesystemStore, ObjectInfo
from fieldproof.web import create_app
from tests.support.accounts import User
from tests.support.photos import jpeg


class FaultyStore:
    """A FilesystemStore that can fail puts or flip a bit on read."""

    def __init__(self, inner: FilesystemStore) -> None:
        self.inner = inner
        self.name = inner.name
        self.fail_put = False
        self.corrupt_reads = False

    @property
    def tmp_dir(self) -> Path:
        return self.inner.tmp_dir

    def put_file(self, key: str, path: Path, *, consume: bool = False) -> ObjectInfo:
        if self.fail_put:
            raise StorageError("disk full (injected)")
        # A wrapper that may corrupt what it reads vouches for nothing: the ingest
        # reads every object back (the plain store's renamed spool needs no read-back).
        return replace(self.inner.put_file(key, path, consume=consume), moved=False)

    def stat(self, key: str) -> ObjectInfo | None:
        return self.inner.stat(key)

    def iter_range(self, key: str, start: int = 0, length: int | None = None,
                   chunk_size: int = 1 << 20) -> Iterator[bytes]:
        for i, block in enumerate(self.inner.iter_range(key, start, length, chunk_size)):
            if self.corrupt_reads and i == 0 and block:
                block = bytes([block[0] ^ 1]) + block[1:]
            yield block

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def supports_retention(self) -> bool:
        return False


@pytest.fixture
def faulty(services: Services) -> tuple[Services, FaultyStore, User]:
    store = FaultyStore(services.store)  # type: ignore[arg-type]
    services.store = store  # type: ignore[assignment]
    services.ingest.store = store  # type: ignore[assignment]
    client = create_app(services=services).test_client()
    uid = services.accounts.create_user("faults@example.org", "correct horse battery")
    return services, store, User("faults@example.org", services.accounts.issue_token(uid),
                                 client)


def _state(services: Services) -> tuple[int, int, list[Path], list[Path]]:
    """Captures, used nonces, objects and spool files, once the collector has run.

    A failed upload leaves any object it stored for the collector (another
    upload may share it); no pin may be left, so the collector can take it.
    """
    with services.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ObjectPin)) == 0
    services.ingest.objects.GRACE = timedelta(0)
    services.ingest.objects.collect()
    root = services.settings.data_dir / "store"
    with services.db.session() as s:
        captures = s.scalar(select(func.count()).select_from(Capture)) or 0
        used = s.scalar(select(func.count()).select_from(Nonce)
                        .where(Nonce.used_at.is_not(None))) or 0
    objects = [p for p in (root / "objects").rglob("*") if p.is_file()]
    spools = [p for p in (root / "tmp").rglob("*") if p.is_file()]
    return captures, used, objects, spools


def test_store_failure_is_503_and_nothing_half_done(faulty: Any) -> None:
    services, store, user = faulty
    device = user.enroll()
    store.fail_put = True
    photo = jpeg()
    m = user.manifest(device, photo)
    r = user.upload(device, photo, m)
    assert r.status_code == 503 and r.json["code"] == "storage_error"
    assert _state(services) == (0, 0, [], [])
    store.fail_put = False
    assert user.upload(device, photo, m).status_code == 201


def test_corrupt_read_back_is_refused_and_collected(faulty: Any) -> None:
    services, store, user = faulty
    device = user.enroll()
    store.corrupt_reads = True
    r = user.upload(device, jpeg())
    assert r.status_code == 503 and r.json["code"] == "storage_integrity"
    assert _state(services) == (0, 0, [], [])


def test_database_failure_after_store_leaves_the_object_to_the_collector(faulty: Any,
                                                         monkeypatch: Any) -> None:
    services, _store, user = faulty
    device = user.enroll()

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("database went away (injected)")

    monkeypatch.setattr(services.ingest, "_commit", boom)
    r = user.upload(device, jpeg())
    assert r.status_code == 500 and r.json["code"] == "error"
    assert "injected" not in r.get_data(as_text=True)  # no internals leak
    assert _state(services) == (0, 0, [], [])


def test_a_spool_moved_into_the_store_is_not_read_back(services: Services, user: User,
                                                       monkeypatch: Any) -> None:
    """The plain store renames the fsynced spool whose SHA-256 was taken as it was
    written: reading it back would re-read the page cache. An object that was
    already there is read back before it is trusted."""
    device = user.enroll()
    reads: list[str] = []
    real = services.store.iter_range

    def counting(key: str, *a: Any, **k: Any) -> Iterator[bytes]:
        reads.append(key)
        return real(key, *a, **k)

    monkeypatch.setattr(services.store, "iter_range", counting)
    photo = jpeg(make="moved")
    r = user.upload(device, photo)
    assert r.status_code == 201, r.json
    assert reads == []
    # the same bytes again (another capture of them): the stored object is read
    # back, whole, before it is used
    again = user.upload(device, photo, user.manifest(device, photo))
    assert again.status_code == 201, again.json
    assert len(reads) == 1
