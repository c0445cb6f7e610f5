"""The stream chain vectors (shared/vectors/stream), run here as the PWA's Vitest runs them."""

from __future__ import annotations

import hashlib
import json

from fieldproof.core.canonical import canonicalize, sha256_hex
from fieldproof.core.stream import ChunkHeader, StreamHeader, next_chain
from tests.support.paths import VECTORS

V = json.loads((VECTORS / "stream" / "chain.json").read_text())


def test_stream_id_is_the_header_hash() -> None:
    assert canonicalize(V["stream_header"]).decode() == V["stream_header_canonical"]
    assert sha256_hex(canonicalize(V["stream_header"])) == V["stream_id"]
    assert StreamHeader.parse(V["stream_header_canonical"]).id == V["stream_id"]


def test_every_chunk_chains_to_the_next() -> None:
    prev = bytes.fromhex(V["stream_id"])
    whole = b""
    for c in V["chunks"]:
        data = bytes.fromhex(c["data_hex"])
        assert hashlib.sha256(data).hexdigest() == c["sha256"]
        prev = next_chain(prev, c["seq"], hashlib.sha256(data).digest())
        assert prev.hex() == c["chain"]
        head = ChunkHeader.parse(c["header_canonical"])
        assert (head.seq, head.sha256, head.chain, head.size) == (c["seq"], c["sha256"],
                                                                  c["chain"], len(data))
        whole += data
    assert prev.hex() == V["chain_head"]
    assert hashlib.sha256(whole).hexdigest() == V["file_sha256"] and len(whole) == V["file_size"]


def test_sequence_numbers_are_64_bit_big_endian() -> None:
    b = V["big_seq"]
    assert next_chain(bytes.fromhex(b["prev"]), b["seq"],
                      bytes.fromhex(b["chunk_sha256"])).hex() == b["chain"]
