"""Regenerate vectors.json (run from the repo root with the backend installed).

The vectors are the contract: the Python backend and the PWA must both derive
the same canonical bytes and SHA-256 from each manifest, accept the valid
signatures and reject the rest. The test key below is public on purpose and
must never be enrolled anywhere real.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fieldproof.core.canonical import canonicalize, sha256_hex
from fieldproof.core.keys import jwk_thumbprint
from fieldproof.core.encoding import b64url_encode
HERE = Path(__file__).parent
D = 0x6C8F2A1B3E4D5F60718293A4B5C6D7E8F90112233445566778899AABBCCDDEEF
KEY = ec.derive_private_key(D, ec.SECP256R1())
NUMS = KEY.public_key().public_numbers()
JWK = {"kty": "EC", "crv": "P-256", "x": b64url_encode(NUMS.x.to_bytes(32, "big")),
       "y": b64url_encode(NUMS.y.to_bytes(32, "big"))}
KID = jwk_thumbprint(JWK)

BASE = {
    "v": 1, "type": "fieldproof.capture", "kind": "photo",
    "media": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
              "size": 4, "mime": "image/jpeg"},
    "captured": {"start": "2026-11-25T05:00:00.000Z", "end": "2026-11-25T05:00:00.250Z"},
    "nonce": "q8ZlJ2k4n0b6tX1yV3wR5uA7cE9gI0kM2oQ4sU6wY8A",
    "geo": {"lat": 31.2304, "lon": 121.4737, "accuracy": 12.5, "altitude": None,
            "altitude_accuracy": None, "heading": None, "speed": None,
            "fixed_at": "2026-11-25T04:59:58.000Z"},
    "device": {"key_id": KID,
               "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
                             "(KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
               "ua_hints": {"mobile": True, "platform": "Android",
                            "brands": [{"brand": "Chromium", "version": "156"}]},
               "platform": "Android", "screen": {"width": 412, "height": 915, "pixel_ratio": 2.625},
               "app_version": "fieldproof-pwa/0.1.0", "timezone": "Asia/Shanghai",
               "language": "zh-CN"},
    "prev": None,
}


def variant(**changes: object) -> dict:
    m = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = m
        parts = path.split("__")
        for p in parts[:-1]:
            node = node[p]
        if value is ...:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    return m


def sign(data: bytes) -> str:
    r, s = decode_dss_signature(KEY.sign(data, ec.ECDSA(hashes.SHA256())))
    return b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


VALID = {
    "photo-with-fix": BASE,
    "audio-no-geo-permission": variant(kind="audio", media__mime="audio/webm;codecs=opus",
                                       geo={"absent": "permission_denied"}),
    "video-chained": variant(kind="video", media__mime="video/mp4",
                             prev="2ad0f0ce089e6550e5b3496d2e1bcdc231544c2933262c25966215a3ccdf35db"),
    "import-with-name-unicode": variant(kind="import", media__mime="application/pdf",
                                        media__name="租赁合同 — lease.pdf"),
    "screen-minimal-device": variant(kind="screen", media__mime="video/webm",
                                     device__ua_hints=None, device__screen=None,
                                     geo={"absent": "unsupported"}),
    "geo-extremes": variant(geo={"lat": -90, "lon": 180, "accuracy": 0, "altitude": -12.75,
                                 "altitude_accuracy": 3, "heading": 359.9, "speed": 1e-7,
                                 "fixed_at": "2026-11-25T04:59:58Z"}),
}

INVALID = {
    "missing-nonce": variant(nonce=...),
    "unknown-top-level-member": variant(extra=True),
    "wrong-version": variant(v=2),
    "bad-kind": variant(kind="document"),
    "uppercase-sha256": variant(media__sha256=BASE["media"]["sha256"].upper()),
    "negative-size": variant(media__size=-1),
    "fractional-size": variant(media__size=1.5),
    "lat-out-of-range": variant(geo__lat=90.5),
    "geo-null-without-reason": variant(geo=None),
    "geo-absent-unknown-reason": variant(geo={"absent": "felt like it"}),
    "geo-fix-and-absent": variant(geo__absent="timeout"),
    "time-without-zone": variant(captured__start="2026-11-25T05:00:00"),
    "time-with-offset": variant(captured__start="2026-11-25T13:00:00+08:00"),
    "short-key-id": variant(device__key_id="abc"),
    "missing-prev": variant(prev=...),
    "prev-not-hex": variant(prev="zz" * 32),
    "name-with-slash": variant(kind="import", media__name="../etc/passwd"),
}

RAW_INVALID = {
    "duplicate-key": ('{"v":1,"v":1}', "json_invalid"),
    "nan": ('{"v":NaN}', "json_invalid"),
    "not-json": ("{v:1}", "json_invalid"),
}


def main() -> None:
    cases = []
    for cid, m in VALID.items():
        canonical = canonicalize(m)
        cases.append({"id": cid, "valid": True, "manifest": m,
                      "canonical": canonical.decode("utf-8"), "sha256": sha256_hex(canonical),
                      "signature": sign(canonical)})
    for cid, m in INVALID.items():
        cases.append({"id": cid, "valid": False, "manifest": m, "error": "manifest_invalid"})
    for cid, (raw, code) in RAW_INVALID.items():
        cases.append({"id": cid, "valid": False, "raw": raw, "error": code})
    good = canonicalize(BASE)
    sig = sign(good)
    tampered = variant(media__size=5)
    signatures = [
        {"id": "valid-p1363", "canonical": good.decode(), "signature": sig, "valid": True},
        {"id": "signed-other-manifest", "canonical": canonicalize(tampered).decode(),
         "signature": sig, "valid": False},
        {"id": "over-the-digest-not-the-bytes", "canonical": good.decode(),
         "signature": sign(bytes.fromhex(sha256_hex(good))), "valid": False},
        {"id": "truncated", "canonical": good.decode(), "signature": sig[:-4], "valid": False},
    ]
    out = {"about": __doc__.strip().splitlines()[0],
           "test_key": {"jwk": JWK, "key_id": KID, "d_hex": f"{D:064x}"},
           "manifests": cases, "signatures": signatures}
    (HERE / "vectors.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
