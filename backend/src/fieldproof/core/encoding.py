"""Base64 and PEM, the one place each is written.

Standard base64 (padded) is what RFC 3161 tokens, Merkle hashes and signed
notes use; base64url without padding is what JOSE (JWK, device signatures)
uses. The strict decoders refuse any text that does not re-encode to itself,
so that no byte of a signed artifact can change without failing a check.
"""

from __future__ import annotations

import base64
import binascii
import re

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----\r?\n?",
                       re.DOTALL)


def b64(data: bytes) -> str:
    """Standard, padded base64."""
    return base64.b64encode(data).decode("ascii")


def b64_strict(text: str) -> bytes:
    """Standard base64 that must re-encode to exactly ``text``.

    Plain decoding ignores stray bits in the last character, so two different
    texts could carry the same signature.
    """
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return raw


def b64url_encode(data: bytes) -> str:
    """base64url without padding (JOSE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding; also tolerates padding and the std alphabet."""
    if not isinstance(text, str) or len(text) > 4096:
        raise ValueError("not a base64 string")
    s = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad base64: {exc}") from exc


def b64url_strict(text: str) -> bytes:
    """base64url (unpadded) that must re-encode to exactly ``text``."""
    try:
        raw = base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"bad base64url: {exc}") from exc
    if b64url_encode(raw) != text:
        raise ValueError("non-canonical base64url")
    return raw


def hex_to_b64(hex_digest: str) -> str:
    """A hex digest as standard base64 (HTTP Repr-Digest, RFC 9530)."""
    return b64(bytes.fromhex(hex_digest))


def split_pem_certificates(data: bytes) -> list[bytes]:
    """Every PEM certificate block in ``data``, in order, exactly as written."""
    return [m.group(0) for m in _PEM_CERT.finditer(data)]
