"""Object store on an S3-compatible server (MinIO in production) via ``minio``.

Two traps shape this module (see shared/notes/FEASIBILITY.md):

* Some S3 servers (``rclone serve s3``) silently ignore object lock, and answer
  ``GET ?object-lock`` with a 200 bucket listing. minio-py parses that as an
  empty lock config without error, so support is only claimed when the raw
  answer really is an ``ObjectLockConfiguration`` with ``ObjectLockEnabled``.
* The same servers treat ``PutObjectRetention``/``PutObjectTagging`` as a plain
  PUT that overwrites the object body. Retention is therefore only ever sent
  as headers of the upload itself, never as a separate call afterwards.

rclone also answers errors as ``text/xml``, which minio-py reports as
``InvalidResponseError`` rather than ``S3Error``; both are mapped here.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention

from fieldproof.errors import IntegrityFailure, ObjectMissing, StorageError
from fieldproof.storage.base import ObjectInfo, check_key, check_range
from fieldproof.storage.private import private_dir

log = logging.getLogger(__name__)

MIN_PART = 5 << 20
MAX_PART = 5 << 30
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject", "NotFound"})
# Answers that settle "no object lock here" for good (cached).
_NO_LOCK_CODES = frozenset({"ObjectLockConfigurationNotFoundError", "NotImplemented",
                            "MethodNotAllowed", "HTTP501"})
_ERRORS = (MinioException, urllib3.exceptions.HTTPError, OSError)


def _error_code(exc: BaseException) -> str:
    """The S3 error code of ``exc`` (or a stand-in); never contains credentials."""
    if isinstance(exc, S3Error):
        return exc.code or "Unknown"
    if isinstance(exc, InvalidResponseError):
        # minio-py only parses application/xml error bodies; dig the code out.
        body = getattr(exc, "_body", None) or ""
        m = re.search(r"<Code>([A-Za-z0-9.]{1,64})</Code>", body)
        return m.group(1) if m else f"HTTP{getattr(exc, '_code', '?')}"
    if isinstance(exc, ServerError):
        return f"HTTP{exc.status_code}"
    return type(exc).__name__


def _lock_enabled(body: bytes) -> bool:
    """True iff ``body`` is an ObjectLockConfiguration saying Enabled."""
    try:
        # The reply comes from the operator's own S3 endpoint, the same trust
        # minio-py itself gives it when it parses with ElementTree.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return False
    if root.tag.rsplit("}", 1)[-1] != "ObjectLockConfiguration":
        return False
    for child in root:
        if child.tag.rsplit("}", 1)[-1] == "ObjectLockEnabled":
            return (child.text or "").strip() == "Enabled"
    return False


class _S3Range:
    """Iterator over an open GetObject response; always releases the connection."""

    def __init__(self, resp: urllib3.BaseHTTPResponse, remaining: int | None,
                 chunk_size: int, what: str) -> None:
        self._resp: urllib3.BaseHTTPResponse | None = resp
        self._remaining = remaining
        self._what = what
        self._chunks = resp.stream(chunk_size, decode_content=False)

    def __iter__(self) -> _S3Range:
        return self

    def __next__(self) -> bytes:
        if self._resp is None:
            raise StopIteration
        try:
            data = next(self._chunks)
        except StopIteration:
            self.close(drained=True)
            raise
        except _ERRORS as exc:
            self.close()
            raise StorageError(f"S3 read {self._what} failed: {_error_code(exc)}") from exc
        if self._remaining is not None:
            if self._remaining <= 0:
                self.close()  # the server sent more than asked: drop the connection
                raise StopIteration
            data = data[: self._remaining]
            self._remaining -= len(data)
        return data

    def close(self, drained: bool = False) -> None:
        resp, self._resp = self._resp, None
        if resp is None:
            return
        if not drained:
            resp.close()  # unread bytes: the connection cannot be reused
        resp.release_conn()

    def __del__(self) -> None:
        self.close()


class S3Store:
    """:class:`~fieldproof.storage.base.ObjectStore` on an S3 bucket."""

    name = "s3"

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, *,
                 secure: bool = False, region: str | None = None,
                 retention_days: int = 0, legal_hold: bool = False,
                 part_size: int = 16 << 20, tmp_dir: Path,
                 create_bucket: bool = True,
                 http_client: urllib3.PoolManager | None = None) -> None:
        """Connect; with ``create_bucket`` also make the bucket if it is missing.

        ``endpoint`` is ``host:port`` or a ``http(s)://host:port`` URL (the
        scheme then decides ``secure``). ``retention_days > 0`` asks for
        COMPLIANCE retention on every put, honoured only where
        :meth:`supports_retention` proves the bucket enforces it.
        """
        if "://" in endpoint:
            parts = urlsplit(endpoint)
            secure = parts.scheme == "https"
            endpoint = parts.netloc
        if not MIN_PART <= part_size <= MAX_PART:
            raise ValueError(f"part_size must be within [{MIN_PART}, {MAX_PART}]")
        if retention_days < 0:
            raise ValueError("retention_days must be >= 0")
        self.bucket = bucket
        self.endpoint = endpoint
        self.retention_days = retention_days
        self.legal_hold = legal_hold
        self.part_size = part_size
        self._tmp = Path(tmp_dir)
        self._retention: bool | None = None
        self._warned_retention = False
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                             secure=secure, region=region, http_client=http_client)
        self._region = region
        if create_bucket:
            self.ensure_bucket()

    @property
    def tmp_dir(self) -> Path:
        """Local spool folder for uploads waiting to be put (with consume=True)."""
        return private_dir(self._tmp)

    def _fail(self, op: str, key: str, exc: BaseException) -> StorageError:
        return StorageError(f"S3 {op} {self.bucket}/{key} failed: {_error_code(exc)}")

    def ensure_bucket(self) -> None:
        """Create the bucket if missing (with object lock when retention is wanted)."""
        try:
            try:
                exists = self._client.bucket_exists(self.bucket)
            except (S3Error, InvalidResponseError) as exc:
                # Without a configured region minio first asks the bucket's
                # location, which fails with NoSuchBucket on a missing bucket.
                if _error_code(exc) != "NoSuchBucket":
                    raise
                exists = False
            if not exists:
                try:
                    self._client.make_bucket(self.bucket, location=self._region,
                                             object_lock=self.retention_days > 0)
                except (S3Error, InvalidResponseError) as exc:
                    if _error_code(exc) not in ("BucketAlreadyOwnedByYou",
                                                "BucketAlreadyExists"):
                        raise
        except _ERRORS as exc:
            raise StorageError(
                f"S3 bucket {self.bucket} at {self.endpoint}: {_error_code(exc)}") from exc

    def supports_retention(self) -> bool:
        """True only if the bucket reports an enabled object-lock configuration.

        A definitive answer (a config, or "no lock configured/implemented") is
        cached; transport, auth and 5xx failures are not, so a start-up hiccup
        does not disable retention for the process lifetime.
        """
        if self._retention is not None:
            return self._retention
        try:
            # Raw request on purpose: get_object_lock_config() turns rclone's
            # bucket listing into an (apparently valid) empty config.
            resp = self._client._execute("GET", self.bucket, query_params={"object-lock": ""})
            answer = _lock_enabled(resp.data)
        except Exception as exc:
            code = _error_code(exc)
            if code not in _NO_LOCK_CODES:
                # Transient or auth trouble: answer False for now, but ask again later.
                log.warning("object lock probe on %s failed: %s", self.bucket, code)
                return False
            log.info("object lock not available on %s: %s", self.bucket, code)
            answer = False
        self._retention = answer
        return answer

    def _retention_for_put(self) -> Retention | None:
        if self.retention_days <= 0:
            return None
        if not self.supports_retention():
            if not self._warned_retention:
                self._warned_retention = True
                log.warning("retention_days=%d requested but bucket %s does not enforce"
                            " object lock; storing without retention",
                            self.retention_days, self.bucket)
            return None
        until = datetime.now(UTC) + timedelta(days=self.retention_days)
        return Retention(COMPLIANCE, until)

    def put_file(self, key: str, path: Path, *, consume: bool = False) -> ObjectInfo:
        """Upload ``path`` (multipart above ``part_size``) and check the stored size.

        With ``consume=True`` the local file is deleted once the upload is
        confirmed; on failure it is left for the caller.
        """
        check_key(key)
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise StorageError(f"put {key}: cannot read source ({exc.strerror})") from exc
        retention = self._retention_for_put()
        try:
            self._client.fput_object(
                self.bucket, key, str(path), part_size=self.part_size,
                retention=retention, legal_hold=self.legal_hold and retention is not None,
            )
        except _ERRORS as exc:
            raise self._fail("put", key, exc) from exc
        info = self.stat(key)
        if info is None or info.size != size:
            got = None if info is None else info.size
            raise IntegrityFailure(f"S3 put {self.bucket}/{key}: sent {size} bytes,"
                                   f" server holds {got}")
        if consume:
            path.unlink(missing_ok=True)
        return info

    def stat(self, key: str) -> ObjectInfo | None:
        check_key(key)
        try:
            obj = self._client.stat_object(self.bucket, key)
        except _ERRORS as exc:
            if _error_code(exc) in _MISSING_CODES:
                return None
            raise self._fail("stat", key, exc) from exc
        return ObjectInfo(key=key, size=int(obj.size or 0))

    def iter_range(self, key: str, start: int = 0, length: int | None = None,
                   chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield bytes [start, start+length) of the object.

        Same clamping as the filesystem store: past-the-end ranges are cut at
        the end, a ``start`` at or beyond the end (or ``length == 0``) yields
        nothing, negative values raise BadRequest (``range_invalid``). A
        missing object raises NotFound (``object_missing``) at call time. A
        server that ignores the Range header is detected (Content-Range) and
        reported as StorageError rather than served from the wrong offset.
        """
        check_range(start, length, chunk_size)
        check_key(key)
        if length == 0:
            if self.stat(key) is None:
                raise ObjectMissing(f"object {key} does not exist")
            return iter(())
        try:
            resp = self._client.get_object(self.bucket, key, offset=start, length=length or 0)
        except _ERRORS as exc:
            code = _error_code(exc)
            if code in _MISSING_CODES:
                raise ObjectMissing(f"object {key} does not exist") from exc
            if code == "InvalidRange":  # start at/after the end, or an empty object
                if self.stat(key) is None:
                    raise ObjectMissing(f"object {key} does not exist") from exc
                return iter(())
            raise self._fail("get", key, exc) from exc
        if start or length is not None:
            content_range = resp.headers.get("Content-Range", "")
            m = re.match(r"bytes (\d+)-\d+/", content_range)
            if (m and int(m.group(1)) != start) or (not m and start):
                resp.close()
                resp.release_conn()
                raise StorageError(f"S3 get {self.bucket}/{key}: server ignored the"
                                   f" requested range (Content-Range {content_range!r})")
        return _S3Range(resp, length, chunk_size, f"{self.bucket}/{key}")

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            self._client.remove_object(self.bucket, key)
        except _ERRORS as exc:
            if _error_code(exc) in _MISSING_CODES:
                return
            raise self._fail("delete", key, exc) from exc
