"""The project's own manifest vectors (shared/vectors/manifest), shared with the PWA."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fieldproof.core.canonical import canonicalize, sha256_hex
from fieldproof.core.encoding import b64url_decode
from fieldproof.core.keys import DeviceKey, jwk_thumbprint
from fieldproof.core.manifest import parse_manifest
from fieldproof.errors import FieldProofError, SignatureInvalid
from tests.support.paths import ROOT

VECTORS = json.loads((ROOT / "shared/vectors/manifest/vectors.json").read_text())
KEY = DeviceKey.from_jwk(VECTORS["test_key"]["jwk"])


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


def test_test_key_thumbprint() -> None:
    assert jwk_thumbprint(VECTORS["test_key"]["jwk"]) == VECTORS["test_key"]["key_id"]


@pytest.mark.parametrize("case", VECTORS["manifests"], ids=_ids(VECTORS["manifests"]))
def test_manifest_case(case: dict[str, Any]) -> None:
    raw = case["raw"] if "raw" in case else json.dumps(case["manifest"], ensure_ascii=False)
    if case["valid"]:
        m = parse_manifest(raw)
        assert m.canonical.decode() == case["canonical"]
        assert m.hash == case["sha256"] == sha256_hex(canonicalize(case["manifest"]))
        KEY.verify(b64url_decode(case["signature"]), m.canonical)
    else:
        with pytest.raises(FieldProofError) as err:
            parse_manifest(raw)
        assert err.value.code == case["error"]


def test_key_order_and_whitespace_do_not_matter() -> None:
    case = VECTORS["manifests"][0]
    pretty = json.dumps(dict(reversed(list(case["manifest"].items()))), indent=4)
    assert parse_manifest(pretty).canonical.decode() == case["canonical"]


@pytest.mark.parametrize("case", VECTORS["signatures"], ids=_ids(VECTORS["signatures"]))
def test_signature_case(case: dict[str, Any]) -> None:
    sig = b64url_decode(case["signature"])
    if case["valid"]:
        KEY.verify(sig, case["canonical"].encode())
    else:
        with pytest.raises(SignatureInvalid):
            KEY.verify(sig, case["canonical"].encode())


def test_schema_copy_matches_shared() -> None:
    from importlib import resources

    packaged = resources.files("fieldproof").joinpath("schema/manifest-v1.schema.json")
    assert packaged.read_bytes() == (ROOT / "shared/schema/manifest-v1.schema.json").read_bytes()


def test_oversized_manifest_rejected() -> None:
    with pytest.raises(FieldProofError) as err:
        parse_manifest(b" " * 20000)
    assert err.value.code == "manifest_too_large"
