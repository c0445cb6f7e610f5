"""The web recorder's keys: one per account, certified by the server CA, checked by
bundle/web.check_recorder and by `openssl verify` (what VERIFY.md tells a reader)."""

from __future__ import annotations

import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldproof.bundle.common import CheckFailed
from fieldproof.bundle.web import check_recorder
from fieldproof.core.keys import DeviceKey
from fieldproof.core.manifest import utc_text
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.webcap.keys import RecorderKeys


def test_one_certified_key_per_account(tmp_path: Path) -> None:
    identity = ServerIdentity(tmp_path / "server-ca")
    keys = RecorderKeys(tmp_path / "web-recorder", identity)
    a, again, b = keys.for_user(1), keys.for_user(1), keys.for_user(2)
    assert a.device.key_id == again.device.key_id != b.device.key_id
    assert stat.S_IMODE((tmp_path / "web-recorder" / "u1.key").stat().st_mode) == 0o600
    root = identity.get("pdf").root_pem
    (tmp_path / "root.pem").write_bytes(root)
    (tmp_path / "leaf.pem").write_bytes(a.cert_pem)
    out = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"),
                          str(tmp_path / "leaf.pem")], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr
    # a signature the manifest check accepts: P1363 r||s over the bytes
    a.device.verify(a.sign(b"manifest bytes"), b"manifest bytes")
    now = utc_text(datetime.now(UTC))
    assert "web recorder" in check_recorder(a.cert_pem, root, a.device, now)


def test_the_recorder_check_refuses_what_is_not_the_servers(tmp_path: Path) -> None:
    identity = ServerIdentity(tmp_path / "server-ca")
    other = ServerIdentity(tmp_path / "other-ca")
    keys = RecorderKeys(tmp_path / "web-recorder", identity)
    a, b = keys.for_user(1), keys.for_user(2)
    root = identity.get("pdf").root_pem
    with pytest.raises(CheckFailed, match="another key"):
        check_recorder(a.cert_pem, root, b.device, None)  # a phone's key, say
    with pytest.raises(CheckFailed, match="not issued by the server CA"):
        check_recorder(a.cert_pem, other.get("pdf").root_pem, a.device, None)
    with pytest.raises(CheckFailed, match="not valid at"):
        check_recorder(a.cert_pem, root, a.device, "2001-01-01T00:00:00Z")
    with pytest.raises(CheckFailed, match="missing"):
        check_recorder(None, root, a.device, None)
    forged = RecorderKeys(tmp_path / "forged", other).for_user(1)
    # a certificate by another CA that copies this CA's name is still refused
    with pytest.raises(CheckFailed):
        check_recorder(forged.cert_pem, root, DeviceKey.from_jwk(forged.device.jwk), None)
