"""RFC 8785 (JCS) canonical JSON, via the maintained `rfc8785` library."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from fieldproof.errors import JsonInvalid

MAX_DEPTH = 32


def canonicalize(value: Any) -> bytes:
    """The JCS bytes of a JSON value; rejects what JCS cannot represent."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise JsonInvalid(f"not canonicalizable: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in pairs:
        if key in out:
            # Two parsers could disagree on which value wins: a signature
            # over such a document would be ambiguous.
            raise JsonInvalid(f"duplicate key {key!r}")
        out[key] = val
    return out


def _reject_constant(name: str) -> Any:
    raise JsonInvalid(f"{name} is not JSON")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        raise JsonInvalid("JSON nested too deeply")
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def parse_json(data: bytes | str) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN/Infinity, bounded depth."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates,
                           parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise JsonInvalid(f"invalid JSON: {exc}") from exc
    _depth(value)
    return value


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
