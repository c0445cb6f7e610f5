"""Device keys: P-256 JWKs, RFC 7638 thumbprints, ECDSA signature checks.

Verification uses python-ecdsa (with gmpy2) as the design card asks. It only
ever verifies public data; the project never signs a server secret with it
because it is not constant-time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from ecdsa import BadSignatureError, NIST256p, VerifyingKey
from ecdsa.errors import MalformedPointError
from ecdsa.util import sigdecode_der, sigdecode_string, sigencode_der

from fieldproof.core.canonical import canonicalize
from fieldproof.core.encoding import b64url_decode, b64url_encode
from fieldproof.errors import InvalidKey, KeyIsPrivate, SignatureInvalid

_ORDER = NIST256p.order
_JWK_MEMBERS = {"kty", "crv", "x", "y"}
_ALLOWED_EXTRA = {"alg", "use", "key_ops", "ext", "kid"}


@dataclass(frozen=True)
class DeviceKey:
    """A validated P-256 public key."""

    jwk: dict[str, str]  # exactly kty, crv, x, y
    key_id: str  # RFC 7638 thumbprint, base64url(SHA-256)
    _vk: VerifyingKey
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_jwk(cls, jwk: Any) -> DeviceKey:
        if not isinstance(jwk, dict):
            raise InvalidKey("a JWK must be a JSON object")
        if "d" in jwk:
            raise KeyIsPrivate("this is a PRIVATE key; send only the public JWK")
        unknown = set(jwk) - _JWK_MEMBERS - _ALLOWED_EXTRA
        if unknown:
            raise InvalidKey(f"unexpected JWK members: {sorted(unknown)}")
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise InvalidKey("only kty=EC, crv=P-256 keys are accepted")
        try:
            x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        except (KeyError, ValueError) as exc:
            raise InvalidKey(f"x/y missing or not base64url: {exc}") from exc
        if len(x) != 32 or len(y) != 32:
            raise InvalidKey("x and y must be 32 bytes each")
        return cls.from_point(x + y)

    @classmethod
    def from_point(cls, xy: bytes) -> DeviceKey:
        """From raw x||y (64 bytes) or uncompressed 0x04||x||y."""
        if len(xy) == 65 and xy[0] == 4:
            xy = xy[1:]
        if len(xy) != 64:
            raise InvalidKey("expected an uncompressed P-256 point")
        try:
            vk = VerifyingKey.from_string(xy, curve=NIST256p, hashfunc=hashlib.sha256)
        except (MalformedPointError, ValueError, AssertionError) as exc:
            raise InvalidKey(f"not a point on P-256: {exc}") from exc
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(xy[:32]),
               "y": b64url_encode(xy[32:])}
        return cls(jwk=jwk, key_id=jwk_thumbprint(jwk), _vk=vk)

    def verify_fast(self, signature: bytes, message: bytes) -> None:
        """The same check through `cryptography` (OpenSSL), ~10x faster.

        Used for stream chunks and uploads, where python-ecdsa's ~1 ms per verify
        held the GIL long enough to cap a server below its goals (bench/streams.py,
        bench/delay.py).
        Both paths pass the same Wycheproof vectors (tests/unit/test_wycheproof.py).
        """
        if len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            if not (0 < r < _ORDER and 0 < s < _ORDER):
                raise SignatureInvalid("signature values out of range")
            der = encode_dss_signature(r, s)
        else:
            self._strict_der(signature)
            der = signature
        try:
            self._public().verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise SignatureInvalid("signature does not verify for this key") from exc

    def _public(self) -> ec.EllipticCurvePublicKey:
        pub = self._cache.get("pub")
        if pub is None:
            raw = b"\x04" + b64url_decode(self.jwk["x"]) + b64url_decode(self.jwk["y"])
            pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
            self._cache["pub"] = pub
        return pub  # type: ignore[no-any-return]

    @staticmethod
    def _strict_der(signature: bytes) -> tuple[int, int]:
        if not (8 <= len(signature) <= 72 and signature[0] == 0x30):
            raise SignatureInvalid("signature must be 64 raw bytes (r||s) or DER")
        try:
            r, s = sigdecode_der(signature, _ORDER)
        except Exception as exc:  # ecdsa raises several unrelated types
            raise SignatureInvalid(f"malformed DER signature: {exc}") from exc
        # BER leniencies (long-form lengths, padding) must not pass as DER.
        if sigencode_der(r, s, _ORDER) != signature:
            raise SignatureInvalid("signature is not strict DER")
        return r, s

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check an ECDSA/SHA-256 signature over ``message``.

        ``signature`` is 64 raw bytes r||s (IEEE P1363, what WebCrypto emits)
        or strict DER. Raises SignatureInvalid.
        """
        if len(signature) == 64:
            decode = sigdecode_string
        else:
            self._strict_der(signature)
            decode = sigdecode_der
        try:
            ok = self._vk.verify(signature, message, hashfunc=hashlib.sha256,
                                 sigdecode=decode)
        except BadSignatureError as exc:
            raise SignatureInvalid("signature does not verify for this key") from exc
        except Exception as exc:  # malformed r/s ranges surface as assorted errors
            raise SignatureInvalid(f"malformed signature: {exc}") from exc
        if not ok:  # pragma: no cover - verify() raises rather than returning False
            raise SignatureInvalid("signature does not verify for this key")


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order.

    For an EC key those members are plain ASCII strings, so JCS yields exactly
    the RFC's serialization.
    """
    required = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
    return b64url_encode(hashlib.sha256(canonicalize(required)).digest())
