"""Test accounts and devices: a P-256 key that signs like WebCrypto, and a signed-in
user driving the API through Flask's test client."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask.testing import FlaskClient

from fieldproof.core.canonical import canonicalize
from fieldproof.core.encoding import b64url_encode
from fieldproof.core.keys import jwk_thumbprint
from fieldproof.core.manifest import new_manifest


class DeviceKey:
    """A test device: a P-256 key that signs like WebCrypto (raw r||s)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        n = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(n.x.to_bytes(32, "big")),
                    "y": b64url_encode(n.y.to_bytes(32, "big"))}
        self.key_id = jwk_thumbprint(self.jwk)
        self.head: str | None = None

    def sign(self, data: bytes) -> str:
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@dataclass
class User:
    email: str
    token: str
    client: FlaskClient

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def enroll(self, device: DeviceKey | None = None) -> DeviceKey:
        device = device or DeviceKey()
        r = self.client.post("/api/v1/devices", json={"jwk": device.jwk}, headers=self.auth)
        assert r.status_code == 201, r.json
        return device

    def nonce(self) -> str:
        r = self.client.post("/api/v1/nonces", headers=self.auth)
        assert r.status_code == 201, r.json
        return str(r.json["nonce"])

    def manifest(self, device: DeviceKey, media: bytes, *, kind: str = "photo",
                 mime: str = "image/jpeg", nonce: str | None = None, **kw: Any) -> dict[str, Any]:

        now = datetime.now(UTC)
        m = new_manifest(kind=kind, sha256=hashlib.sha256(media).hexdigest(), size=len(media),
                         mime=mime, start=kw.pop("start", now), end=kw.pop("end", now),
                         nonce=nonce or self.nonce(), key_id=device.key_id,
                         prev=kw.pop("prev", device.head),
                         device={"user_agent": "pytest", "ua_hints": None, "platform": "test",
                                 "screen": None, "app_version": "tests/0",
                                 "timezone": "Asia/Shanghai", "language": "zh-CN"}, **kw)
        return m

    def upload(self, device: DeviceKey, media: bytes, manifest: dict[str, Any] | None = None,
               *, signature: str | None = None, raw_manifest: str | None = None,
               raw: bool = False, **kw: Any) -> Any:
        """POST /captures as a multipart form, or with ``raw`` as the body with
        the manifest and signature in headers."""
        manifest = manifest or self.manifest(device, media, **kw)
        canonical = canonicalize(manifest)
        text = raw_manifest if raw_manifest is not None else canonical.decode()
        sig = signature if signature is not None else device.sign(canonical)
        if raw:
            r = self.client.post("/api/v1/captures", data=media, headers={
                **self.auth, "FieldProof-Manifest": b64url_encode(text.encode()),
                "FieldProof-Signature": sig}, content_type=manifest["media"]["mime"])
        else:
            data = {"manifest": text, "signature": sig,
                    "media": (io.BytesIO(media), "media.bin")}
            r = self.client.post("/api/v1/captures", data=data, headers=self.auth,
                                 content_type="multipart/form-data")
        if r.status_code in (200, 201):
            device.head = r.json["manifest_hash"]
        return r


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


