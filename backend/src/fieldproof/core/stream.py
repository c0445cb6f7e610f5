"""Protocol v2: live streams of signed, hash-chained chunks.

A device signs a stream header when recording starts; its JCS hash is the
stream id. Every chunk then carries a signed chunk header whose ``chain``
commits to all chunks before it:

    chain(-1) = stream id (32 bytes)
    chain(n)  = SHA-256(chain(n-1) || uint64be(n) || SHA-256(chunk n))

so the last signed chain head proves every byte up to it, in order, even if
the recording never finishes. The server acknowledges a chunk, once durable,
with an Ed25519 signature over (stream, seq, chain, durable time).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self

from fieldproof.core.canonical import canonicalize, parse_json, sha256_hex
from fieldproof.core.manifest import MAX_MANIFEST_BYTES, parse_time, utc_text, validate
from fieldproof.errors import SchemaInvalid, TooLarge

HEADER_SCHEMA = "stream-header-v2"
CHUNK_SCHEMA = "chunk-v2"


def next_chain(prev: bytes, seq: int, chunk_sha256: bytes) -> bytes:
    return hashlib.sha256(prev + struct.pack(">Q", seq) + chunk_sha256).digest()


def _parse(raw: bytes | str, schema_name: str, what: str) -> tuple[dict[str, Any], bytes]:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise TooLarge(f"{what} too large")
    data = parse_json(raw)
    problems = validate(data, schema_name)
    if problems:
        raise SchemaInvalid(f"{what}: " + "; ".join(problems[:5]), errors=problems[:50])
    return data, canonicalize(data)


@dataclass(frozen=True)
class _Signed:
    """A JSON document a device signs: its data and the canonical bytes."""

    data: dict[str, Any]
    canonical: bytes
    SCHEMA: ClassVar[str] = ""
    WHAT: ClassVar[str] = ""

    @classmethod
    def parse(cls, raw: bytes | str) -> Self:
        data, canonical = _parse(raw, cls.SCHEMA, cls.WHAT)
        return cls(data, canonical)


@dataclass(frozen=True)
class StreamHeader(_Signed):
    SCHEMA: ClassVar[str] = HEADER_SCHEMA
    WHAT: ClassVar[str] = "stream header"

    @property
    def id(self) -> str:
        return sha256_hex(self.canonical)

    @property
    def key_id(self) -> str:
        return str(self.data["device"]["key_id"])

    @property
    def nonce(self) -> str:
        return str(self.data["nonce"])

    @property
    def started_at(self) -> datetime:
        return parse_time(self.data["started_at"])


@dataclass(frozen=True)
class ChunkHeader(_Signed):
    SCHEMA: ClassVar[str] = CHUNK_SCHEMA
    WHAT: ClassVar[str] = "chunk header"

    @property
    def seq(self) -> int:
        return int(self.data["seq"])

    @property
    def sha256(self) -> str:
        return str(self.data["sha256"])

    @property
    def chain(self) -> str:
        return str(self.data["chain"])

    @property
    def size(self) -> int:
        return int(self.data["size"])


def chunk_header(*, stream_id: str, seq: int, data: bytes, prev_chain: bytes, at: datetime,
                 geo: dict[str, Any] | None = None) -> tuple[dict[str, Any], bytes]:
    """Build the header a device signs for one chunk; returns it and the new chain."""
    digest = hashlib.sha256(data).digest()
    chain = next_chain(prev_chain, seq, digest)
    header: dict[str, Any] = {"v": 2, "type": "fieldproof.chunk", "stream": stream_id,
                              "seq": seq, "size": len(data), "sha256": digest.hex(),
                              "chain": chain.hex(), "at": utc_text(at)}
    if geo is not None:
        header["geo"] = geo
    return header, chain


def ack_statement(*, stream_id: str, seq: int, chain: str, durable_at: str) -> bytes:
    """What the server signs when a chunk is durable."""
    return canonicalize({"v": 2, "type": "fieldproof.ack", "stream": stream_id, "seq": seq,
                         "chain": chain, "durable_at": durable_at})
