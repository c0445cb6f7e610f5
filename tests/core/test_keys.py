from __future__ import annotations

import pytest

from fieldproof.core.keys import DeviceKey, jwk_thumbprint
from fieldproof.errors import InvalidKey


def test_rfc7638_style_thumbprint_is_stable_and_ignores_extras() -> None:
    # Test vector: RFC 7638's method over an EC key; extras such as "alg" or
    # "kid" must not change it.
    jwk = {"kty": "EC", "crv": "P-256",
           "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
           "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
    tp = jwk_thumbprint(jwk)
    assert len(tp) == 43
    assert jwk_thumbprint({**jwk, "alg": "ES256", "kid": "x"}) == tp
    assert DeviceKey.from_jwk({**jwk, "use": "sig"}).key_id == tp
    # Known answer, computed independently: base64url(sha256('{"crv":"P-256","kty":"EC",...}'))
    import base64
    import hashlib
    import json

    text = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    want = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
    assert tp == want.decode()


@pytest.mark.parametrize(("jwk", "code"), [
    ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "key_invalid"),
    ({"kty": "RSA", "n": "x", "e": "AQAB"}, "key_invalid"),
    ({"kty": "EC", "crv": "P-384", "x": "A" * 64, "y": "A" * 64}, "key_invalid"),
    ({"kty": "EC", "crv": "P-256", "x": "A" * 43, "y": "A" * 43}, "key_invalid"),  # not on curve
    ({"kty": "EC", "crv": "P-256", "x": "A" * 43, "y": "A" * 43, "d": "A" * 43},
     "key_is_private"),
    ("not an object", "key_invalid"),
])
def test_bad_jwks(jwk: object, code: str) -> None:
    with pytest.raises(InvalidKey) as err:
        DeviceKey.from_jwk(jwk)
    assert err.value.code == code
