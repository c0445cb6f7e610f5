"""RFC 8785 vectors from cyberphone/json-canonicalization (../shared/vectors/jcs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldproof.core.canonical import canonicalize, parse_json
from tests.support.paths import VECTORS

JCS = VECTORS / "jcs"
CASES = sorted(p.stem for p in (JCS / "input").glob("*.json"))


def test_vectors_present() -> None:
    assert len(CASES) >= 6, f"JCS vectors missing under {JCS}"


@pytest.mark.parametrize("name", CASES)
def test_jcs_vector(name: str) -> None:
    value = parse_json((JCS / "input" / f"{name}.json").read_bytes())
    expected = (JCS / "output" / f"{name}.json").read_bytes().rstrip(b"\n")
    hexed = bytes.fromhex("".join((JCS / "outhex" / f"{name}.txt").read_text().split()))
    assert canonicalize(value) == expected == hexed


def test_duplicate_keys_rejected() -> None:
    from fieldproof.errors import BadRequest

    with pytest.raises(BadRequest) as e:
        parse_json(b'{"a":1,"a":2}')
    assert e.value.code == "json_invalid"


def test_deep_nesting_rejected() -> None:
    from fieldproof.errors import BadRequest

    with pytest.raises(BadRequest):
        parse_json("[" * 100 + "]" * 100)


def test_path_is_outer_shared() -> None:
    assert isinstance(JCS, Path) and JCS.is_dir()
