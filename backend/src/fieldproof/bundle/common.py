"""What the verifier's parts share: the failure of one check, the injected
checkers' shapes, strict decoders and the media digest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from fieldproof.bundle.layout import (
    BLOCK,
)
from fieldproof.core.canonical import canonicalize, parse_json
from fieldproof.core.encoding import b64_strict, b64url_encode
from fieldproof.errors import FieldProofError

# --------------------------------------------------------------------------- verification

class CertificateChecker(Protocol):
    def __call__(self, pdf: bytes, *, server_ca: bytes, ca_source: str,
                 tsa_roots: list[bytes], manifest_sha256: str, media_sha256: str) -> str:
        """What the PDF's signature says, or raise :class:`CheckFailed`."""


class CredentialsChecker(Protocol):
    def __call__(self, name: str, data: bytes, mime: str, *, server_ca: bytes,
                 media_sha256: str, media_name: str) -> str:
        """What the C2PA manifest says, or raise :class:`CheckFailed`."""


class SumsSignatureChecker(Protocol):
    def __call__(self, p7s: bytes, sums: bytes, *, name: str, server_ca: bytes,
                 ca_source: str, tsa_roots: list[bytes]) -> str:
        """What the CMS signature over SHA256SUMS says, or raise :class:`CheckFailed`."""


class TranscriptPdfChecker(Protocol):
    def __call__(self, pdf: bytes, *, server_ca: bytes, ca_source: str,
                 tsa_roots: list[bytes], capture_id: str, transcript_sha256: str,
                 media_sha256: str) -> str:
        """What the 文字稿's signature says, or raise :class:`CheckFailed`."""


@dataclass(frozen=True)
class Checkers:
    """The verifier's collaborators for formats it does not read itself."""

    certificate: CertificateChecker
    credentials: CredentialsChecker
    sums_signature: SumsSignatureChecker
    transcript_pdf: TranscriptPdfChecker


class CheckFailed(Exception):
    """One check's failure, with its reason (a checker raises it too)."""


def strict_b64url(text: Any) -> bytes:
    if not isinstance(text, str):
        raise CheckFailed("not a base64url string")
    s = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(s.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise CheckFailed(f"bad base64url: {exc}") from exc
    if b64url_encode(raw) != text:
        raise CheckFailed("non-canonical base64url")
    return raw


def strict_b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise CheckFailed("not a base64 string")
    try:
        return b64_strict(text)
    except (binascii.Error, ValueError) as exc:
        raise CheckFailed(f"bad base64: {exc}") from exc


def jcs_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse JSON that must be an object in its canonical (JCS) form, byte for byte."""
    try:
        value = parse_json(raw)
    except FieldProofError as exc:
        raise CheckFailed(f"{what} is not valid JSON: {exc.detail}") from exc
    if not isinstance(value, dict):
        raise CheckFailed(f"{what} is not a JSON object")
    if canonicalize(value) != raw:
        raise CheckFailed(f"{what} is not in canonical (JCS) form")
    return value


def json_value(raw: bytes, what: str) -> Any:
    try:
        return parse_json(raw)
    except FieldProofError as exc:
        raise CheckFailed(f"{what} is not valid JSON: {exc.detail}") from exc


def hex_sha256(text: Any, what: str) -> str:
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-f]{64}", text):
        raise CheckFailed(f"{what} is not a lower-case hex SHA-256")
    return text


def cert_fingerprint(pem: bytes) -> tuple[str, str]:
    cert = x509.load_pem_x509_certificate(pem)
    return cert.subject.rfc4514_string(), "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


@dataclass
class MediaDigest:
    sha256: str = ""
    size: int = 0
    slices: list[str] = field(default_factory=list)  # per-chunk SHA-256, if asked
    error: str | None = None


def hash_stream(fh: IO[bytes], boundaries: list[int]) -> MediaDigest:
    """SHA-256 of the whole stream and of consecutive slices of the given sizes."""
    whole = hashlib.sha256()
    out = MediaDigest()
    sizes = iter(boundaries)
    want = next(sizes, None)
    part = hashlib.sha256()
    taken = 0
    while True:
        block = fh.read(BLOCK)
        if not block:
            break
        whole.update(block)
        out.size += len(block)
        view = memoryview(block)
        while view and want is not None:
            n = min(len(view), want - taken)
            part.update(view[:n])
            taken += n
            view = view[n:]
            if taken == want:
                out.slices.append(part.hexdigest())
                part, taken, want = hashlib.sha256(), 0, next(sizes, None)
    while want is not None and want == taken:  # trailing empty slices
        out.slices.append(part.hexdigest())
        part, taken, want = hashlib.sha256(), 0, next(sizes, None)
    out.sha256 = whole.hexdigest()
    return out


def check_issued_by(cert: x509.Certificate, ca: x509.Certificate, name: str) -> None:
    """``cert`` (the file ``name``) is signed by the CA's key: CheckFailed otherwise."""
    ca_key = ca.public_key()
    if cert.issuer != ca.subject or not isinstance(ca_key, ec.EllipticCurvePublicKey):
        raise CheckFailed(f"{name} is not issued by the server CA")
    try:
        assert cert.signature_hash_algorithm is not None
        ca_key.verify(cert.signature, cert.tbs_certificate_bytes,
                      ec.ECDSA(cert.signature_hash_algorithm))
    except (InvalidSignature, AssertionError) as exc:
        raise CheckFailed(f"{name}: the server CA's signature does not verify") from exc
