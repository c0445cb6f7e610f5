// Chunk chain of protocol v2 against vectors made by the backend's own code
// (shared/vectors/stream/make_chain_vectors.py -> shared/vectors/stream/chain.json).
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { fromHex, hex, sha256, sha256Hex } from '../src/shared/bytes';
import { canonicalBytes, canonicalText } from '../src/shared/jcs';
import { buildChunkHeader, nextChain } from '../src/shared/protocol';
import { sha256Digest, sha256Init, sha256Update } from '../src/shared/sha256';
import { SHARED, readJson } from './helpers';

interface ChainVectors {
  stream_header: object;
  stream_header_canonical: string;
  stream_id: string;
  chunks: { seq: number; data_hex: string; sha256: string; chain: string; header_canonical: string }[];
  chain_head: string;
  file_sha256: string;
  file_size: number;
  big_seq: { prev: string; seq: number; chunk_sha256: string; chain: string };
}

const V = readJson<ChainVectors>(SHARED, 'vectors', 'stream', 'chain.json');
const ajv = new Ajv2020({ strict: false });
const validChunk = ajv.compile(readJson(SHARED, 'schema', 'chunk-v2.schema.json'));
const validHeader = ajv.compile(readJson(SHARED, 'schema', 'stream-header-v2.schema.json'));

describe('stream chain', () => {
  it('stream id = SHA-256 of the header JCS', async () => {
    expect(canonicalText(V.stream_header)).toBe(V.stream_header_canonical);
    expect(await sha256Hex(canonicalBytes(V.stream_header))).toBe(V.stream_id);
    expect(validHeader(V.stream_header)).toBe(true);
  });

  it('chain(n) = SHA-256(chain(n-1) || uint64be(n) || SHA-256(chunk n)), chain(-1) = stream id', async () => {
    let prev = fromHex(V.stream_id);
    for (const c of V.chunks) {
      const data = fromHex(c.data_hex);
      expect(hex(await sha256(data))).toBe(c.sha256);
      prev = await nextChain(prev, c.seq, await sha256(data));
      expect(hex(prev)).toBe(c.chain);
    }
    expect(hex(prev)).toBe(V.chain_head);
  });

  it('chunk headers are byte-identical to the backend', async () => {
    let prev = V.stream_id;
    for (const c of V.chunks) {
      const header = await buildChunkHeader({
        streamId: V.stream_id,
        seq: c.seq,
        data: fromHex(c.data_hex),
        prevChain: prev,
        at: JSON.parse(c.header_canonical).at,
      });
      expect(canonicalText(header)).toBe(c.header_canonical);
      expect(validChunk(header)).toBe(true);
      prev = header.chain;
    }
  });

  it('encodes seq as a full 64-bit big-endian integer', async () => {
    const b = V.big_seq;
    expect(hex(await nextChain(fromHex(b.prev), b.seq, fromHex(b.chunk_sha256)))).toBe(b.chain);
  });

  it('the running whole-file hash over the chunks equals the file SHA-256', () => {
    let state = sha256Init();
    let size = 0;
    for (const c of V.chunks) {
      const data = fromHex(c.data_hex);
      // Through structured cloning, as IndexedDB stores it between chunks.
      state = structuredClone(sha256Update(state, data));
      size += data.length;
    }
    expect(hex(sha256Digest(state))).toBe(V.file_sha256);
    expect(size).toBe(V.file_size);
  });
});
