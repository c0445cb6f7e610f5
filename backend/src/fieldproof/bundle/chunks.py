"""The chunks check of the offline verifier: a streamed recording's signed chunk
headers, hash-chained, make up exactly the media."""

from __future__ import annotations

import hashlib

# --------------------------------------------------------------------------- verification
from typing import TYPE_CHECKING

from fieldproof.bundle.common import (
    CheckFailed,
    hex_sha256,
    jcs_object,
    json_value,
    strict_b64,
    strict_b64url,
)
from fieldproof.bundle.layout import (
    CHUNKS,
    MANIFEST,
    SIGNATURE,
)
from fieldproof.core.canonical import canonicalize
from fieldproof.core.continuity import ChunkTime, continuity
from fieldproof.core.manifest import parse_time
from fieldproof.core.stream import next_chain
from fieldproof.errors import FieldProofError

if TYPE_CHECKING:
    from fieldproof.bundle.verify import _Verify


def parse_chunks(v: _Verify) -> None:
    """Read chunks.json before the media pass (the slices it needs); errors later."""
    raw = v.files.get(CHUNKS)
    if raw is None:
        return
    try:
        body = json_value(raw, CHUNKS)
        chunks = body["chunks"]
        if all(isinstance(c, dict) and isinstance(c.get("size"), int)
               and not isinstance(c.get("size"), bool) and c["size"] >= 0 for c in chunks):
            v.chunks = chunks
    except (CheckFailed, KeyError, TypeError):
        v.chunks = []

def check_chunks(v: _Verify) -> str:
    raw = v.need(CHUNKS)
    if v.device is None:
        raise CheckFailed("no usable device key to check the chunk signatures with")
    body = json_value(raw, CHUNKS)
    if not isinstance(body, dict) or set(body) != {"stream_header", "header_signature",
                                                   "chunks"}:
        raise CheckFailed(f"{CHUNKS} must hold exactly stream_header, header_signature, chunks")
    if canonicalize(body) != raw:
        raise CheckFailed(f"{CHUNKS} is not in canonical (JCS) form")
    if not isinstance(body["stream_header"], str):
        raise CheckFailed("stream_header must be the signed header's JSON text")
    header_raw = body["stream_header"].encode("utf-8")
    header = jcs_object(header_raw, "stream_header")
    stream_id = hashlib.sha256(header_raw).hexdigest()
    header_sig = strict_b64url(body["header_signature"])
    if (header.get("device") or {}).get("key_id") != v.key_id:
        raise CheckFailed("the stream header names another device than the manifest")
    v.device.verify_fast(header_sig, header_raw)
    if v.partial:
        if header_raw != v.files.get(MANIFEST):
            raise CheckFailed("stream_header differs from manifest.json (the signed header)")
        if header_sig != v.files.get(SIGNATURE):
            raise CheckFailed("header_signature differs from manifest.sig")
        head_claim = (v.entry.get("stream") or {}).get("chain_head")
        count_claim = (v.entry.get("stream") or {}).get("chunks")
        where = "the log entry's"
    else:
        stream = v.manifest.get("stream") or {}
        if stream.get("id") != stream_id:
            raise CheckFailed(f"the manifest names stream {stream.get('id')}, the header "
                              f"hashes to {stream_id}")
        head_claim, count_claim = stream.get("chain_head"), stream.get("chunks")
        where = "the signed manifest's"
    chunks = body["chunks"]
    if not isinstance(chunks, list) or not chunks:
        raise CheckFailed("no chunks")
    if v.media.error:
        raise CheckFailed(v.media.error)
    if len(v.media.slices) != len(chunks) or \
            sum(int(c.get("size", 0)) for c in chunks) != v.media.size:
        raise CheckFailed(f"the chunk sizes do not add up to {v.media_name} "
                   f"({v.media.size} bytes)")
    chain = bytes.fromhex(stream_id)
    for seq, c in enumerate(chunks):
        if not isinstance(c, dict) or set(c) != {"seq", "size", "sha256", "chain",
                                                 "header", "signature"}:
            raise CheckFailed(f"chunk {seq}: needs exactly seq, size, sha256, chain, header, "
                       "signature")
        if not isinstance(c["header"], str):
            raise CheckFailed(f"chunk {seq}: header must be JSON text")
        head_raw = c["header"].encode("utf-8")
        head = jcs_object(head_raw, f"chunk {seq} header")
        if head.get("type") != "fieldproof.chunk" or head.get("stream") != stream_id:
            raise CheckFailed(f"chunk {seq}: its header is not a chunk of stream {stream_id}")
        for k in ("seq", "size", "sha256", "chain"):
            if head.get(k) != c[k]:
                raise CheckFailed(f"chunk {seq}: {k} differs from its signed header")
        if c["seq"] != seq:
            raise CheckFailed(f"chunk {seq}: out of sequence (seq {c['seq']})")
        try:
            v.device.verify_fast(strict_b64url(c["signature"]), head_raw)
        except (CheckFailed, FieldProofError) as exc:
            raise CheckFailed(f"chunk {seq}: device signature does not verify ({exc})") from exc
        digest = hex_sha256(c["sha256"], f"chunk {seq} sha256")
        if v.media.slices[seq] != digest:
            raise CheckFailed(f"chunk {seq}: bytes of {v.media_name} at this offset hash to "
                       f"{v.media.slices[seq]}, the signed header says {digest}")
        chain = next_chain(chain, seq, bytes.fromhex(digest))
        if chain.hex() != c["chain"]:
            raise CheckFailed(f"chunk {seq}: the chain does not recompute from the stream id")
    if count_claim != len(chunks) or head_claim != chain.hex():
        raise CheckFailed(f"{len(chunks)} chunks chain to {chain.hex()}; {where} stream says "
                   f"{count_claim} chunks, head {head_claim}")
    if v.partial:
        last = (v.entry.get("stream") or {}).get("last_chunk_signature")
        if last is None or strict_b64(last) != strict_b64url(chunks[-1]["signature"]):
            raise CheckFailed("the log entry's last_chunk_signature is not the last chunk's")
    return (f"stream {stream_id}: header and {len(chunks)} chunks signed by the device, "
            f"chain recomputed to {where} head {chain.hex()}, each chunk's bytes match")



def check_continuity(v: _Verify) -> str:
    """Is the recording continuous, by the device's own signed chunk times: its start
    and end, each pause and the clock never going back (core/continuity.py). The
    server's receipt times are not in a bundle: network cuts are the server's to say."""
    try:
        body = json_value(v.need(CHUNKS), CHUNKS)
        header = jcs_object(body["stream_header"].encode("utf-8"), "stream_header")
        headers = [jcs_object(c["header"].encode("utf-8"), "chunk header")
                   for c in body["chunks"]]
        times = [ChunkTime(int(h["seq"]), parse_time(h["at"])) for h in headers]
        end = (v.manifest.get("captured") or {}).get("end") if not v.partial else None
        c = continuity(started_at=header["started_at"], chunks=times,
                       ended="interrupted" if v.partial else "stopped", ended_at=end,
                       continues=header.get("continues"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckFailed(f"the chunk times cannot be read: {exc}") from exc
    if c["clock_backwards"]:
        raise CheckFailed(f"the device's chunk times go back {c['clock_backwards']} time(s): "
                          "they are not in recording order")
    if times and (times[0].at - parse_time(header["started_at"])).total_seconds() < -1:
        raise CheckFailed("the first chunk is dated before the recording started")
    pauses = [g for g in c["gaps"] if g["cause"] == "paused"]
    said = (f"device clock {c['device_start']} to {c['device_end']} "
            f"({c['wall_ms'] / 1000:.1f} s), {c['chunks']} chunks about every "
            f"{c['interval_ms']} ms; ")
    if pauses:
        said += "NOT continuous: " + "; ".join(
            f"nothing recorded from {g['from']} to {g['to']} ({g['ms'] / 1000:.1f} s)"
            for g in pauses)
    else:
        said += "continuous: no pause between chunks"
    if v.partial:
        said += "; interrupted: the stream fell silent before it was stopped"
    if c["continues"]:
        said += f"; continues the interrupted stream {c['continues']}"
    return said
