"""The capture manifest (protocol v1): schema validation and signed-bytes rules.

A device signs the JCS bytes of its manifest. The server re-derives those bytes
from whatever JSON text it receives, so a client's whitespace or key order
never matters; the stored and exported manifest is always the JCS form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from fieldproof.core.canonical import canonicalize, parse_json, sha256_hex
from fieldproof.errors import InvalidManifest, ManifestTooLarge

MAX_MANIFEST_BYTES = 16 * 1024
# An upload with the media as the body carries its manifest (base64url) and
# signature in these headers; one header line stays under the 8 KiB gunicorn
# and nginx accept by default, so a longer manifest goes as a form.
MANIFEST_HEADER = "FieldProof-Manifest"
SIGNATURE_HEADER = "FieldProof-Signature"
MAX_MANIFEST_HEADER = 7 * 1024
KINDS = ("photo", "audio", "video", "screen", "import", "web")


@cache
def schema(name: str = "manifest-v1") -> dict[str, Any]:
    text = resources.files("fieldproof").joinpath(f"schema/{name}.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def _validator(name: str = "manifest-v1") -> Draft202012Validator:
    Draft202012Validator.check_schema(schema(name))
    return Draft202012Validator(schema(name))


def parse_time(text: str) -> datetime:
    """RFC 3339 'Z' time (schema-checked already) to an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]
    canonical: bytes  # the exact bytes that are signed

    @property
    def hash(self) -> str:
        """Hex SHA-256 of the canonical bytes: the manifest's identity."""
        return sha256_hex(self.canonical)

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def key_id(self) -> str:
        return str(self.data["device"]["key_id"])

    @property
    def nonce(self) -> str:
        return str(self.data["nonce"])

    @property
    def prev(self) -> str | None:
        prev = self.data["prev"]
        return None if prev is None else str(prev)

    @property
    def media_sha256(self) -> str:
        return str(self.data["media"]["sha256"])

    @property
    def media_size(self) -> int:
        return int(self.data["media"]["size"])

    @property
    def media_mime(self) -> str:
        return str(self.data["media"]["mime"])

    @property
    def started_at(self) -> datetime:
        return parse_time(self.data["captured"]["start"])

    @property
    def ended_at(self) -> datetime:
        return parse_time(self.data["captured"]["end"])

    @property
    def stream(self) -> dict[str, Any] | None:
        return self.data.get("stream")

    @property
    def geo(self) -> dict[str, Any] | None:
        geo = self.data["geo"]
        return None if "absent" in geo else dict(geo)


@cache
def _fast(name: str) -> Callable[[Any], Any]:
    """The schema compiled to Python by fastjsonschema: ~45x jsonschema's time, which
    matters once per stream chunk (bench/streams.py). Our schemas use only keywords
    whose meaning draft 7 and 2020-12 share (tests/core/test_schema_fast.py checks
    both agree on every vector)."""
    compiled: Callable[[Any], Any] = fastjsonschema.compile(schema(name))
    return compiled


def validate(data: Any, name: str = "manifest-v1") -> list[str]:
    """Every schema violation as 'path: message', empty when valid."""
    try:
        _fast(name)(data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass  # jsonschema says what is wrong, and decides
    errors = sorted(_validator(name).iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors]


def parse_manifest(raw: bytes | str, name: str = "manifest-v1") -> Manifest:
    """Parse, validate and canonicalize a manifest received from a device."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestTooLarge(f"manifest larger than {MAX_MANIFEST_BYTES} bytes")
    data = parse_json(raw)
    problems = validate(data, name)
    if problems:
        raise InvalidManifest("; ".join(problems[:10]), errors=problems[:50])
    return Manifest(data=data, canonical=canonicalize(data))


def iso(dt: datetime | None) -> str | None:
    """``utc_text`` of a time that may be absent."""
    return None if dt is None else utc_text(dt)


def utc_text(dt: datetime) -> str:
    """RFC 3339 UTC with milliseconds, the form devices sign (JS toISOString)."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_manifest(*, kind: str, sha256: str, size: int, mime: str, start: datetime,
                 end: datetime, nonce: str, key_id: str, prev: str | None,
                 device: dict[str, Any], geo: dict[str, Any] | None = None,
                 geo_absent: str = "not_provided", name: str | None = None) -> dict[str, Any]:
    """Build a v1 manifest dict (what a client signs after canonicalizing)."""
    media: dict[str, Any] = {"sha256": sha256, "size": size, "mime": mime}
    if name:
        media["name"] = name
    return {
        "v": 1,
        "type": "fieldproof.capture",
        "kind": kind,
        "media": media,
        "captured": {"start": utc_text(start), "end": utc_text(end)},
        "nonce": nonce,
        "geo": geo if geo is not None else {"absent": geo_absent},
        "device": {"key_id": key_id, **device},
        "prev": prev,
    }
