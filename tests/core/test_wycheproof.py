"""Every Wycheproof ECDSA P-256/SHA-256 case behaves as labelled (P1363 and DER)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fieldproof.core.keys import DeviceKey
from fieldproof.errors import InvalidKey, SignatureInvalid
from tests.support.paths import VECTORS

ECDSA = VECTORS / "ecdsa"


def _cases(filename: str) -> list[Any]:
    data = json.loads((ECDSA / filename).read_text())
    out = []
    for group in data["testGroups"]:
        pub = bytes.fromhex(group["publicKey"]["uncompressed"])
        for t in group["tests"]:
            out.append(pytest.param(pub, t, id=f"{t['tcId']}-{t['result']}"))
    return out


def _check(pub: bytes, case: dict[str, Any]) -> None:
    sig, msg = bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"])
    for fast in (False, True):  # python-ecdsa, and the `cryptography` path for chunks
        try:
            key = DeviceKey.from_point(pub)
            (key.verify_fast if fast else key.verify)(sig, msg)
            accepted = True
        except (SignatureInvalid, InvalidKey):
            accepted = False
        _expect(case, accepted)


def _expect(case: dict[str, Any], accepted: bool) -> None:
    if case["result"] == "valid":
        assert accepted, case["comment"]
    elif case["result"] == "invalid":
        assert not accepted, case["comment"]
    # "acceptable" cases may go either way by definition.


P1363 = _cases("ecdsa_secp256r1_sha256_p1363_test.json")
DER = _cases("ecdsa_secp256r1_sha256_test.json")


def test_vectors_loaded() -> None:
    assert len(P1363) > 200 and len(DER) > 400


@pytest.mark.parametrize(("pub", "case"), P1363)
def test_p1363(pub: bytes, case: dict[str, Any]) -> None:
    _check(pub, case)


@pytest.mark.parametrize(("pub", "case"), DER)
def test_der(pub: bytes, case: dict[str, Any]) -> None:
    _check(pub, case)
