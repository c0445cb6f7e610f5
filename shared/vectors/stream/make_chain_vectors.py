"""Chunk-chain vectors for the PWA's tests, made with the backend's own code.

Run from the repository root:  .venv/bin/python shared/vectors/stream/make_chain_vectors.py
It writes shared/vectors/stream/chain.json.
"""
import hashlib, json
from fieldproof.core.stream import next_chain, chunk_header
from fieldproof.core.canonical import canonicalize
from datetime import datetime, UTC
header = {"v": 2, "type": "fieldproof.stream", "kind": "audio", "mime": "audio/webm;codecs=opus",
          "nonce": "q8ZlJ2k4n0b6tX1yV3wR5uA7cE9gI0kM2oQ4sU6wY8A", "started_at": "2026-11-25T05:00:00.000Z",
          "geo": {"absent": "permission_denied"},
          "device": {"key_id": "8MYSil5nhR-3EthHuEyzfrKnoEK9jKgnDDqxNZuq7MU", "user_agent": "vector", "ua_hints": None,
                     "platform": "test", "screen": None, "app_version": "fieldproof-pwa/0.1.0", "timezone": "UTC", "language": "en"},
          "prev": None}
raw = canonicalize(header)
sid = hashlib.sha256(raw).hexdigest()
chunks = [b"\x1a\x45\xdf\xa3 first chunk", bytes(range(256)) * 3, "最后 chunk ✓".encode()]
prev = bytes.fromhex(sid)
out = []
for seq, data in enumerate(chunks):
    head, chain = chunk_header(stream_id=sid, seq=seq, data=data, prev_chain=prev,
                               at=datetime(2026, 11, 25, 5, 0, seq + 1, tzinfo=UTC))
    assert chain == next_chain(prev, seq, hashlib.sha256(data).digest())
    out.append({"seq": seq, "data_hex": data.hex(), "sha256": hashlib.sha256(data).hexdigest(),
                "chain": chain.hex(), "header_canonical": canonicalize(head).decode()})
    prev = chain
whole = b"".join(chunks)
doc = {"_comment": ("Made with the backend's own code: cd /work/main && .venv/bin/python shared/vectors/stream/make_chain_vectors.py "
                    "(fieldproof.core.stream.next_chain / chunk_header, fieldproof.core.canonical.canonicalize). "
                    "chain(-1) = stream id bytes; chain(n) = SHA-256(chain(n-1) || uint64be(n) || SHA-256(chunk n))."),
       "stream_header": header, "stream_header_canonical": raw.decode(), "stream_id": sid,
       "chunks": out, "chain_head": prev.hex(), "file_sha256": hashlib.sha256(whole).hexdigest(),
       "file_size": len(whole),
       # uint64 big-endian beyond 32 bits (the schema caps seq lower; the encoding must not care)
       "big_seq": {"prev": sid, "seq": 2**32 + 5, "chunk_sha256": hashlib.sha256(b"x").hexdigest(),
                   "chain": next_chain(bytes.fromhex(sid), 2**32 + 5, hashlib.sha256(b"x").digest()).hex()}}
from pathlib import Path
(Path(__file__).parent / 'chain.json').write_text(json.dumps(doc, ensure_ascii=False, indent=2) + '\n')
