"""The web recorder's signing keys: one P-256 key per account, held by the server.

A web capture has no phone: the server is the device that recorded it. Each
account gets its own recorder key, so its web captures form their own device
chain, and each key is certified by the server CA (``keys/server-ca``), so a
verifier can tell the server's recorder from a phone. Files, 0600, under
``<data>/keys/web-recorder/``: ``u<id>.key`` (PKCS#8) and ``u<id>.pem``
(the certificate; written last, it marks the pair complete).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fieldproof.core.keys import DeviceKey
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.storage.keyfiles import fsync_dir, write_atomic

COMMON_NAME = "FieldProof web recorder"


@dataclass(frozen=True)
class RecorderKey:
    private: ec.EllipticCurvePrivateKey
    device: DeviceKey  # the public key as a device JWK
    cert_pem: bytes  # issued by the server CA

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256, raw r||s (IEEE P1363) like a phone's WebCrypto."""
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class RecorderKeys:
    """Server-held keys certified by the server CA, by name, in one directory.

    The web recorder keeps one per account (``u<id>``); the machine
    transcriber (transcripts/) one for the server, with its own common name.
    """

    def __init__(self, directory: Path, identity: ServerIdentity,
                 common_name: str = COMMON_NAME) -> None:
        self.directory = Path(directory)
        self.identity = identity
        self.common_name = common_name

    def certificate(self, user_id: int) -> bytes:
        """The recorder certificate of an account (for its bundles)."""
        return (self.directory / f"u{int(user_id)}.pem").read_bytes()

    def for_user(self, user_id: int) -> RecorderKey:
        return self.named(f"u{int(user_id)}")

    def named(self, name: str) -> RecorderKey:
        d = self.directory
        key_file, cert_file = d / f"{name}.key", d / f"{name}.pem"
        if not cert_file.exists():
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not cert_file.exists():
                    key = ec.generate_private_key(ec.SECP256R1())
                    write_atomic(key_file, key.private_bytes(
                        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()), 0o600)
                    write_atomic(cert_file, self.identity.certify(key.public_key(),
                                                                  self.common_name), 0o600)
                    fsync_dir(d)
            finally:
                os.close(fd)
        private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        point = private.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
        return RecorderKey(private, DeviceKey.from_point(point), cert_file.read_bytes())
