"""The log's Ed25519 signing key, created on first start in the data dir."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldproof.core.checkpoint import Signer
from fieldproof.storage.keyfiles import create_once


def load_or_create_signer(keys_dir: Path, origin: str) -> Signer:
    def make() -> bytes:
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())

    pem = create_once(keys_dir / "log-ed25519.pem", make)
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{keys_dir / 'log-ed25519.pem'} is not an Ed25519 key")
    return Signer(origin, loaded)
