"""The same ingest path with the S3 object store (a real rclone S3 server)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from fieldproof.config import S3Settings, Settings
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.s3server import S3Server


@pytest.fixture
def s3_services(tmp_path: Path, s3_server: S3Server) -> Iterator[Services]:
    bucket = f"api-{uuid.uuid4().hex[:12]}"
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        testing=True, max_upload_bytes=64 * 1024 * 1024,
        s3=S3Settings(endpoint=s3_server.endpoint, access_key=s3_server.access_key,
                      secret_key=s3_server.secret_key, bucket=bucket, secure=False))
    svc = Services.build(settings)
    yield svc
    svc.close()


def _objects(server: S3Server, bucket: str) -> list[str]:
    mc = Minio(server.endpoint, server.access_key, server.secret_key, secure=False)
    return [o.object_name for o in mc.list_objects(bucket, recursive=True)]


def test_capture_on_s3(s3_services: Services, s3_server: S3Server) -> None:
    assert s3_services.store.name == "s3"
    client = create_app(services=s3_services).test_client()
    uid = s3_services.accounts.create_user("s3@example.org", "correct horse battery")
    user = User("s3@example.org", s3_services.accounts.issue_token(uid), client)
    device = user.enroll()

    # a rejected upload leaves nothing in the bucket
    photo = jpeg(make="S3")
    m = user.manifest(device, photo)
    r = user.upload(device, photo + b"tampered", m)
    assert r.status_code == 422
    bucket = s3_services.settings.s3.bucket  # type: ignore[union-attr]
    assert _objects(s3_server, bucket) == []

    big = photo + bytes(range(256)) * 40_000  # ~10 MiB: a multipart upload to S3
    r = user.upload(device, big, kind="import", mime="image/jpeg")
    assert r.status_code == 201, r.json
    sha = hashlib.sha256(big).hexdigest()
    assert _objects(s3_server, bucket) == [f"media/sha256/{sha[:2]}/{sha[2:4]}/{sha}"]

    cid = r.json["id"]
    whole = client.get(f"/api/v1/captures/{cid}/original", headers=user.auth)
    assert whole.status_code == 200 and hashlib.sha256(whole.data).hexdigest() == sha
    part = client.get(f"/api/v1/captures/{cid}/original",
                      headers={**user.auth, "Range": "bytes=5000000-5000099"})
    assert part.status_code == 206 and part.data == big[5_000_000:5_000_100]

    # the spool never outlives the request
    leftovers: list[Any] = [p for p in (s3_services.settings.data_dir / "tmp").rglob("*")
                            if p.is_file()]
    assert leftovers == []
