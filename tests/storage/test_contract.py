"""Contract tests for every ObjectStore implementation.

Range semantics (the contract, identical on both stores):
``b"".join(store.iter_range(key, start, length))`` equals
``data[start:start + length]`` (``data[start:]`` when ``length`` is None) for
any ``start >= 0`` and ``length >= 0``: a range running past the end is clamped
to the end, and a ``start`` at or beyond the end yields no bytes (no error;
answering 416 is the web layer's business). Negative values raise BadRequest
with code ``range_invalid``. A missing object raises NotFound with code
``object_missing`` when ``iter_range`` is called, before any iteration.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldproof.errors import BadRequest, FieldProofError, NotFound, StorageError
from fieldproof.storage import (
    FilesystemStore,
    ObjectInfo,
    ObjectStore,
    S3Store,
    media_key,
)
from fieldproof.storage.s3 import _lock_enabled

MiB = 1 << 20


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def read_all(store: ObjectStore, key: str, start: int = 0, length: int | None = None,
             chunk_size: int = MiB) -> bytes:
    return b"".join(store.iter_range(key, start, length, chunk_size))


def assert_code(exc: pytest.ExceptionInfo[FieldProofError], code: str) -> None:
    assert exc.value.code == code, exc.value.detail


# --- round trips -------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 4096, MiB + 7])
def test_put_then_stat_and_read_exact_bytes(store: ObjectStore, tmp_path: Path,
                                            size: int) -> None:
    data = payload(size, seed=size)
    key = media_key(hashlib.sha256(data).hexdigest())
    info = store.put_file(key, write(tmp_path / "src", data))
    assert info == ObjectInfo(key=key, size=size)
    assert store.stat(key) == ObjectInfo(key=key, size=size)
    assert read_all(store, key) == data


def test_large_object_multipart(store: ObjectStore, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """40 MiB with 5 MiB parts: S3 must go multipart; reads stay chunk-bounded."""
    data = payload(40 * MiB, seed=40)
    src = write(tmp_path / "big", data)
    multipart_uploads: list[str] = []
    if isinstance(store, S3Store):
        client = store._client
        real_create = client._create_multipart_upload

        def spy(bucket_name: str, object_name: str, headers: Any) -> str:
            multipart_uploads.append(object_name)
            return real_create(bucket_name, object_name, headers)

        monkeypatch.setattr(client, "_create_multipart_upload", spy)
    assert store.put_file("big/object", src).size == len(data)
    if isinstance(store, S3Store):
        assert multipart_uploads == ["big/object"]
    digest = hashlib.sha256()
    for chunk in store.iter_range("big/object", chunk_size=MiB):
        assert 0 < len(chunk) <= MiB
        digest.update(chunk)
    assert digest.digest() == hashlib.sha256(data).digest()


# --- ranges ------------------------------------------------------------------

RANGE_DATA = payload(1000, seed=7)


@pytest.mark.parametrize(("start", "length"), [
    (0, None),      # whole object
    (0, 10),        # head
    (500, 100),     # middle
    (990, None),    # tail
    (990, 10),      # exactly to the end
    (990, 100),     # past the end: clamped
    (999, 1),       # last byte
    (1000, None),   # start at the end: nothing
    (1000, 5),
    (5000, 10),     # start far past the end: nothing
    (10, 0),        # empty range
])
def test_ranged_reads(store: ObjectStore, tmp_path: Path, start: int,
                      length: int | None) -> None:
    store.put_file("r/obj", write(tmp_path / "src", RANGE_DATA))
    end = None if length is None else start + length
    assert read_all(store, "r/obj", start, length) == RANGE_DATA[start:end]


def test_range_respects_chunk_size(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("r/obj", write(tmp_path / "src", RANGE_DATA))
    chunks = list(store.iter_range("r/obj", 3, 500, chunk_size=7))
    assert all(0 < len(c) <= 7 for c in chunks)
    assert b"".join(chunks) == RANGE_DATA[3:503]


@pytest.mark.parametrize(("start", "length"), [(0, None), (0, 5), (3, None), (0, 0)])
def test_ranges_on_empty_object(store: ObjectStore, tmp_path: Path, start: int,
                                length: int | None) -> None:
    store.put_file("r/empty", write(tmp_path / "src", b""))
    assert read_all(store, "r/empty", start, length) == b""


@pytest.mark.parametrize(("start", "length", "chunk_size"),
                         [(-1, None, MiB), (0, -1, MiB), (0, None, 0)])
def test_invalid_ranges_rejected(store: ObjectStore, tmp_path: Path, start: int,
                                 length: int | None, chunk_size: int) -> None:
    store.put_file("r/obj", write(tmp_path / "src", RANGE_DATA))
    with pytest.raises(BadRequest) as exc:
        store.iter_range("r/obj", start, length, chunk_size)
    assert_code(exc, "range_invalid")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 1100), length=st.one_of(st.none(), st.integers(0, 1100)))
def test_range_equals_slice(store: ObjectStore, tmp_path: Path, start: int,
                            length: int | None) -> None:
    if store.stat("r/prop") is None:  # the store outlives hypothesis examples
        store.put_file("r/prop", write(tmp_path / "src", RANGE_DATA))
    end = None if length is None else start + length
    assert read_all(store, "r/prop", start, length, chunk_size=64) == RANGE_DATA[start:end]


def test_abandoned_read_can_be_closed(store: ObjectStore, tmp_path: Path) -> None:
    """A client hanging up mid-download must not leak a file or connection."""
    data = payload(3 * MiB, seed=3)
    store.put_file("r/big", write(tmp_path / "src", data))
    for _ in range(5):  # would exhaust a small pool if connections leaked
        it = store.iter_range("r/big", chunk_size=64 * 1024)
        assert next(it) == data[: 64 * 1024]
        close: Callable[[], None] = it.close  # type: ignore[attr-defined]
        close()
        assert list(it) == []
    assert read_all(store, "r/big") == data


# --- overwrite / delete / missing ---------------------------------------------


def test_overwrite_replaces_bytes(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("o/k", write(tmp_path / "a", payload(5000, seed=1)))
    second = payload(1234, seed=2)
    assert store.put_file("o/k", write(tmp_path / "b", second)).size == 1234
    assert store.stat("o/k") == ObjectInfo("o/k", 1234)
    assert read_all(store, "o/k") == second


def test_delete_is_idempotent(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("d/k", write(tmp_path / "a", b"bye"))
    store.delete("d/k")
    assert store.stat("d/k") is None
    with pytest.raises(NotFound):
        store.iter_range("d/k")
    store.delete("d/k")
    store.delete("never/existed")


@pytest.mark.parametrize(("start", "length"), [(0, None), (5, 10), (0, 0)])
def test_missing_key_is_not_found(store: ObjectStore, start: int,
                                  length: int | None) -> None:
    assert store.stat("no/such/key") is None
    with pytest.raises(NotFound) as exc:
        store.iter_range("no/such/key", start, length)  # raises before iterating
    assert_code(exc, "object_missing")


def test_other_keys_are_untouched(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("p/one", write(tmp_path / "a", b"one"))
    store.put_file("p/two", write(tmp_path / "b", b"two"))
    store.delete("p/one")
    assert read_all(store, "p/two") == b"two"


# --- keys ----------------------------------------------------------------------

INVALID_KEYS = ["../x", "/abs", "a//b", "A", "a/../b", "a" * 600, "", "a/", "a b",
                ".hidden", "a/./b", "a\\b", "a\x00b"]


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_rejected(store: ObjectStore, tmp_path: Path, key: str) -> None:
    src = write(tmp_path / "src", b"x")
    calls: list[Callable[[], object]] = [
        lambda: store.put_file(key, src),
        lambda: store.stat(key),
        lambda: store.iter_range(key),
        lambda: store.delete(key),
    ]
    for call in calls:
        with pytest.raises(BadRequest) as exc:
            call()
        assert_code(exc, "object_key_invalid")
    assert src.read_bytes() == b"x"


# --- consume -------------------------------------------------------------------


def test_consume_true_takes_the_file(store: ObjectStore) -> None:
    """Spooled in the store's tmp_dir and handed over, as the web layer does."""
    tmp_dir: Path = store.tmp_dir  # type: ignore[attr-defined]
    data = payload(2 * MiB + 3, seed=9)
    src = write(tmp_dir / "upload.part", data)
    assert store.put_file("c/k", src, consume=True).size == len(data)
    assert not src.exists()
    assert read_all(store, "c/k") == data


def test_consume_true_from_elsewhere(store: ObjectStore, tmp_path: Path) -> None:
    data = payload(1000, seed=10)
    src = write(tmp_path / "elsewhere" / "f", data)
    store.put_file("c/k2", src, consume=True)
    assert not src.exists()
    assert read_all(store, "c/k2") == data


def test_consume_false_leaves_source(store: ObjectStore, tmp_path: Path) -> None:
    data = payload(1000, seed=11)
    src = write(tmp_path / "keep", data)
    store.put_file("c/k3", src)
    assert src.read_bytes() == data
    assert read_all(store, "c/k3") == data


def test_missing_source_is_storage_error(store: ObjectStore, tmp_path: Path) -> None:
    for consume in (False, True):
        with pytest.raises(StorageError):
            store.put_file("c/nope", tmp_path / "does-not-exist", consume=consume)
        assert store.stat("c/nope") is None


# --- retention -------------------------------------------------------------------


def test_no_retention_on_test_backends(store: ObjectStore) -> None:
    """rclone ignores object lock and a filesystem cannot enforce it."""
    assert store.supports_retention() is False


def test_lock_config_parser() -> None:
    """What MinIO/AWS answer for a locked bucket versus rclone's bucket listing."""
    ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    assert _lock_enabled(
        f"<ObjectLockConfiguration {ns}><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        "<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>5</Days>"
        "</DefaultRetention></Rule></ObjectLockConfiguration>".encode())
    assert _lock_enabled(b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
                         b"</ObjectLockEnabled></ObjectLockConfiguration>")
    assert not _lock_enabled(b"<ObjectLockConfiguration/>")
    assert not _lock_enabled(
        f"<ListBucketResult {ns}><Name>b</Name></ListBucketResult>".encode())
    assert not _lock_enabled(b"not xml")


def test_s3_lock_probe_caches_answers_not_failures(s3_server: Any,
                                                   tmp_path: Path) -> None:
    store: S3Store = s3_server.store(tmp_path / "spool")
    assert store.supports_retention() is False
    assert store._retention is False  # rclone answered: settled
    bad: S3Store = s3_server.store(tmp_path / "spool", bucket=store.bucket,
                                   secret_key="wrong-secret-0000", create_bucket=False)
    assert bad.supports_retention() is False
    assert bad._retention is None  # auth failure: ask again next time


def test_s3_retention_requested_but_unsupported_keeps_bytes(
        s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The overwrite trap: retention must never be set by a call after the put."""
    store: S3Store = s3_server.store(tmp_path / "spool", retention_days=5)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not be called: rclone overwrites the object body")

    monkeypatch.setattr(store._client, "set_object_retention", forbidden)
    monkeypatch.setattr(store._client, "set_object_tags", forbidden)
    monkeypatch.setattr(store._client, "enable_object_legal_hold", forbidden)
    monkeypatch.setattr(store._client, "set_object_lock_config", forbidden)
    assert store.supports_retention() is False
    with caplog.at_level(logging.WARNING, logger="fieldproof.storage.s3"):
        for i in range(3):
            data = payload(6 * MiB + i, seed=20 + i)  # multipart too
            store.put_file(f"ret/{i}", write(tmp_path / f"src{i}", data))
            assert store.stat(f"ret/{i}") == ObjectInfo(f"ret/{i}", len(data))
            assert read_all(store, f"ret/{i}") == data
    warnings = [r for r in caplog.records if "retention" in r.getMessage()]
    assert len(warnings) == 1


def test_s3_wrong_secret_is_storage_error(s3_server: Any, tmp_path: Path) -> None:
    bad_secret = "definitely-not-the-secret-42"
    with pytest.raises(StorageError) as exc:
        s3_server.store(tmp_path / "spool", secret_key=bad_secret)
    assert bad_secret not in str(exc.value.detail)

    good: S3Store = s3_server.store(tmp_path / "spool")
    good.put_file("w/k", write(tmp_path / "src", b"secret stuff"))
    bad: S3Store = s3_server.store(tmp_path / "spool", bucket=good.bucket,
                                   secret_key=bad_secret, create_bucket=False)
    calls: list[Callable[[], object]] = [
        lambda: bad.put_file("w/k", write(tmp_path / "src2", b"overwrite!")),
        lambda: bad.stat("w/k"),
        lambda: bad.iter_range("w/k"),
        lambda: bad.delete("w/k"),
    ]
    for call in calls:
        with pytest.raises(StorageError) as exc:
            call()
        assert bad_secret not in exc.value.detail
        assert s3_server.secret_key not in exc.value.detail
    assert bad.supports_retention() is False
    assert read_all(good, "w/k") == b"secret stuff"


def test_s3_missing_bucket_with_create_bucket_false(s3_server: Any,
                                                   tmp_path: Path) -> None:
    store: S3Store = s3_server.store(tmp_path / "spool", bucket="t-never-created",
                                     create_bucket=False)
    with pytest.raises(StorageError):
        store.put_file("m/k", write(tmp_path / "src", b"x"))


# --- filesystem only -----------------------------------------------------------


def fs_leftovers(store: FilesystemStore) -> list[str]:
    """Every regular file under the store root (objects and tmp)."""
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*")
                  if p.is_file())


@pytest.fixture
def fs(tmp_path: Path) -> FilesystemStore:
    return FilesystemStore(tmp_path / "root")


def test_fs_layout_and_tmp_dir(fs: FilesystemStore, tmp_path: Path) -> None:
    fs.put_file("a/b", write(tmp_path / "src", b"hi"))
    assert (fs.root / "objects" / "a" / "b").read_bytes() == b"hi"
    assert fs.tmp_dir == fs.root / "tmp"
    assert os.stat(fs.tmp_dir).st_dev == os.stat(fs.root / "objects").st_dev
    assert fs_leftovers(fs) == ["objects/a/b"]


@pytest.mark.parametrize("consume", [False, True])
def test_fs_directory_in_place_leaves_nothing(fs: FilesystemStore, tmp_path: Path,
                                              consume: bool) -> None:
    fs.put_file("x/y/z", write(tmp_path / "z", b"deep"))
    src = write(tmp_path / "src", b"would shadow a directory")
    with pytest.raises(StorageError):
        fs.put_file("x/y", src, consume=consume)
    assert fs.stat("x/y") is None
    assert fs_leftovers(fs) == ["objects/x/y/z"]
    assert src.read_bytes() == b"would shadow a directory"


@pytest.mark.parametrize("consume", [False, True])
def test_fs_file_in_place_of_directory(fs: FilesystemStore, tmp_path: Path,
                                       consume: bool) -> None:
    fs.put_file("x/y", write(tmp_path / "y", b"file"))
    with pytest.raises(StorageError):
        fs.put_file("x/y/z", write(tmp_path / "src", b"under a file"), consume=consume)
    assert fs_leftovers(fs) == ["objects/x/y"]


def test_fs_failure_before_rename_keeps_old_object(
        fs: FilesystemStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash-like failure after writing but before the rename: old bytes survive."""
    fs.put_file("k/v", write(tmp_path / "old", b"old bytes"))
    import fieldproof.storage.filesystem as fsmod

    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            real_fsync(fd)
            return
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fsmod.os, "fsync", failing_fsync)
    for consume in (False, True):
        src = write(tmp_path / "new", payload(3 * MiB, seed=5))
        with pytest.raises(StorageError):
            fs.put_file("k/v", src, consume=consume)
        with pytest.raises(StorageError):
            fs.put_file("k/fresh", src, consume=consume)
        assert src.exists()
    monkeypatch.undo()
    assert read_all(fs, "k/v") == b"old bytes"
    assert fs.stat("k/fresh") is None
    assert fs_leftovers(fs) == ["objects/k/v"]


def test_fs_source_vanishing_mid_copy(fs: FilesystemStore, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A read error half-way through the copy leaves no object and no temp file."""
    import fieldproof.storage.filesystem as fsmod

    src = write(tmp_path / "src", payload(4 * MiB, seed=6))
    real_open = open

    class Flaky:
        def __init__(self, fh: Any) -> None:
            self.fh, self.reads = fh, 0

        def read(self, n: int) -> bytes:
            self.reads += 1
            if self.reads > 2:
                raise OSError(5, "Input/output error")
            return bytes(self.fh.read(n))

        def __enter__(self) -> Self:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    def flaky_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(file, mode, *args, **kwargs)
        return Flaky(fh) if Path(file) == src and "r" in mode else fh

    monkeypatch.setattr(fsmod, "open", flaky_open, raising=False)
    with pytest.raises(StorageError):
        fs.put_file("v/k", src)
    monkeypatch.undo()
    assert fs.stat("v/k") is None
    assert fs_leftovers(fs) == []


def test_fs_symlinked_subdir_outside_is_refused(fs: FilesystemStore,
                                               tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"not yours")
    (fs.root / "objects" / "media").symlink_to(outside, target_is_directory=True)
    src = write(tmp_path / "src", b"x")
    calls: list[Callable[[], object]] = [
        lambda: fs.put_file("media/evil", src),
        lambda: fs.put_file("media/victim", src, consume=True),
        lambda: fs.stat("media/victim"),
        lambda: fs.iter_range("media/victim"),
        lambda: fs.delete("media/victim"),
    ]
    for call in calls:
        with pytest.raises(BadRequest) as exc:
            call()
        assert_code(exc, "object_key_invalid")
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_bytes() == b"not yours"
    assert src.exists()


def test_fs_symlinked_object_outside_is_refused(fs: FilesystemStore,
                                               tmp_path: Path) -> None:
    secret = write(tmp_path / "etc-shadow", b"root:x")
    (fs.root / "objects" / "leak").symlink_to(secret)
    with pytest.raises(BadRequest) as exc:
        fs.iter_range("leak")
    assert_code(exc, "object_key_invalid")


def test_fs_symlinked_subdir_inside_is_fine(fs: FilesystemStore, tmp_path: Path) -> None:
    (fs.root / "objects" / "real").mkdir()
    (fs.root / "objects" / "alias").symlink_to(fs.root / "objects" / "real")
    fs.put_file("alias/k", write(tmp_path / "src", b"ok"))
    assert read_all(fs, "real/k") == b"ok"
