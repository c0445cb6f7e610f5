"""The CLI against a live server process (gunicorn, SQLite, filesystem store)."""

from __future__ import annotations

import hashlib
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldproof.client.api import Client, DeviceKeyFile, device_metadata
from fieldproof.core.canonical import canonicalize
from fieldproof.core.files import file_sha256
from fieldproof.core.manifest import new_manifest
from tests.support.live import LiveServer, run_cli
from tests.support.photos import jpeg


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("live")
    srv = LiveServer(base / "var", env={"FIELDPROOF_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024)})
    srv.data_dir.mkdir()
    srv.create_user("cli@example.org")  # migrations run before the server starts too
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def env(server: LiveServer, tmp_path: Path) -> dict[str, str]:
    token = server.create_user(f"u{tmp_path.name[-8:]}@example.org".lower())
    return {"FIELDPROOF_SERVER": server.url, "FIELDPROOF_TOKEN": token,
            "FIELDPROOF_KEY": str(tmp_path / "keys" / "device.pem")}


def test_create_user_prints_token_last(server: LiveServer) -> None:
    token = server.create_user("last-line@example.org")
    assert token.startswith("fp_")
    again = run_cli("admin", "create-user", "last-line@example.org", "--password-stdin",
                    "--data-dir", str(server.data_dir), stdin="another password\n")
    assert again.returncode != 0 and "exists" in again.stderr


def test_enroll_and_capture_json(env: dict[str, str], tmp_path: Path) -> None:
    out = run_cli("client", "enroll", "--label", "laptop", env=env)
    assert out.returncode == 0, out.stderr
    key_path = Path(env["FIELDPROOF_KEY"])
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key_id = out.stdout.strip()
    assert key_id == DeviceKeyFile.load_or_create(key_path).key_id
    assert run_cli("client", "enroll", env=env).stdout.strip() == key_id  # idempotent

    photo = tmp_path / "door.jpg"
    photo.write_bytes(jpeg(make="CLI"))
    out = run_cli("client", "capture", str(photo), "--kind", "photo", "--lat", "31.2304",
                  "--lon", "121.4737", "--accuracy", "15", "--json", env=env)
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    got = httpx.get(f"{env['FIELDPROOF_SERVER']}/api/v1/captures/{printed['id']}",
                    headers={"Authorization": f"Bearer {env['FIELDPROOF_TOKEN']}"}).json()
    # The live server's sequencer may anchor it in between; all else is equal.
    assert printed.pop("status") in ("stored", "anchored")
    assert got.pop("status") in ("stored", "anchored")
    # ... and so may the verdict's last sentence ("received" / "unchanged, anchored")
    assert printed.pop("verdict")[:-1] == got.pop("verdict")[:-1]
    assert printed == got
    assert printed["media"]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert printed["manifest"]["geo"]["lat"] == 31.2304
    assert printed["manifest"]["device"]["key_id"] == key_id

    # the second capture chains to the first
    out = run_cli("client", "capture", str(photo), "--kind", "import", "--json", env=env)
    second = json.loads(out.stdout)
    assert second["manifest"]["prev"] == printed["manifest_hash"]
    assert second["manifest"]["geo"] == {"absent": "not_provided"}
    assert second["manifest"]["media"]["name"] == "door.jpg"
    chain = next(c for c in second["checks"] if c["name"] == "device_chain")
    assert chain["ok"], chain


def test_errors_exit_nonzero_with_server_message(env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 10)
    missing_key = run_cli("client", "capture", str(f), "--kind", "import", env=env)
    assert missing_key.returncode != 0 and "enroll" in missing_key.stderr

    bad = run_cli("client", "enroll", env={**env, "FIELDPROOF_TOKEN": "fp_wrong"})
    assert bad.returncode != 0 and "token_invalid" in bad.stderr

    assert run_cli("client", "enroll", env=env).returncode == 0
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 * 1024 * 1024))
    too_big = run_cli("client", "capture", str(big), "--kind", "import", env=env)
    assert too_big.returncode != 0
    assert "too_large" in too_big.stderr, too_big.stderr


def test_concurrent_resends_make_one_capture(env: dict[str, str], tmp_path: Path) -> None:
    """Eight identical signed uploads racing: one capture, the same id for all."""
    key = DeviceKeyFile.load_or_create(Path(env["FIELDPROOF_KEY"]), create=True)
    api = Client(env["FIELDPROOF_SERVER"], env["FIELDPROOF_TOKEN"])
    api.enroll(key)
    media = tmp_path / "race.jpg"
    media.write_bytes(jpeg(make="race"))
    sha, size = file_sha256(media)
    now = datetime.now(UTC)
    manifest = canonicalize(new_manifest(
        kind="photo", sha256=sha, size=size, mime="image/jpeg", start=now, end=now,
        nonce=api.nonce()["nonce"], key_id=key.key_id, prev=None, device=device_metadata()))
    results: list[Any] = []

    def send() -> None:
        c = Client(env["FIELDPROOF_SERVER"], env["FIELDPROOF_TOKEN"])
        try:
            results.append(c.upload(manifest, key.sign(manifest), media, "image/jpeg")["id"])
        except Exception as exc:
            results.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8 and len(set(results)) == 1, results
    listed = api._call("GET", "/captures").json()["items"]
    assert [c["id"] for c in listed] == [results[0]]


def test_multi_megabyte_random_upload(env: dict[str, str], tmp_path: Path) -> None:
    """Random bytes, streamed as the body to a real server and kept byte-exact."""
    import os

    assert run_cli("client", "enroll", env=env).returncode == 0
    f = tmp_path / "noise.bin"
    f.write_bytes(os.urandom(1_900_000))  # under the server's 2 MiB test limit
    out = run_cli("client", "capture", str(f), "--kind", "import", "--json", env=env)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["media"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    got = httpx.get(f"{env['FIELDPROOF_SERVER']}/api/v1/captures/{body['id']}/original",
                    headers={"Authorization": f"Bearer {env['FIELDPROOF_TOKEN']}"})
    assert got.content == f.read_bytes()
