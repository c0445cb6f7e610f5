// Streamed hashing for the /verify page: the whole-file SHA-256 and, for
// streamed recordings, each chunk's own SHA-256, for any slicing.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/shared/bytes';
import { hashBlob, plan } from '../src/verify/hash';

function data(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const blob = (d: Uint8Array) => new Blob([d as Uint8Array<ArrayBuffer>]);

describe('hashBlob', () => {
  it('equals a one-shot SHA-256 for any slice size, and reports progress to the end', async () => {
    const d = data(20_003);
    const want = await sha256Hex(d);
    for (const slice of [1, 63, 64, 65, 4096, 20_003, 1 << 20]) {
      const seen: number[] = [];
      const got = await hashBlob(blob(d), { sliceBytes: slice, onProgress: (done) => seen.push(done) });
      expect(got.sha256, String(slice)).toBe(want);
      expect(got.size).toBe(d.length);
      expect(got.slices).toEqual([]);
      expect(seen[seen.length - 1]).toBe(d.length);
    }
    expect((await hashBlob(blob(new Uint8Array()))).sha256).toBe(await sha256Hex(new Uint8Array()));
  });

  it('hashes each chunk, small and large, on any slicing', async () => {
    const sizes = [0, 10, 5000, 1, 70_000, 0, 333, 20_000];
    const d = data(sizes.reduce((a, b) => a + b, 0), 3);
    const want: string[] = [];
    let at = 0;
    for (const n of sizes) {
      want.push(await sha256Hex(d.subarray(at, at + n)));
      at += n;
    }
    for (const slice of [64, 4096, 16_384, 1 << 20]) {
      const got = await hashBlob(blob(d), { chunkSizes: sizes, sliceBytes: slice });
      expect(got.slices, String(slice)).toEqual(want);
      expect(got.sha256).toBe(await sha256Hex(d));
    }
  });

  it('gives no chunk hashes when the chunk sizes do not add up to the file', async () => {
    const got = await hashBlob(blob(data(1000)), { chunkSizes: [500, 400] });
    expect(got.slices).toEqual([]);
    expect(got.sha256).toBe(await sha256Hex(data(1000)));
  });

  it('plans slices on chunk boundaries; chunks over two slices are split', () => {
    const { pieces, chunked } = plan(10 + 30 + 5, 8, [10, 30, 5]);
    expect(chunked).toBe(true);
    expect(pieces.map((p) => [p.start, p.end])).toEqual([[0, 10], [10, 18], [18, 26], [26, 34], [34, 40], [40, 45]]);
    expect(pieces[0].parts).toEqual([{ seq: 0, start: 0, end: 10, first: true, last: true }]);
    expect(pieces[1].parts[0]).toMatchObject({ seq: 1, first: true, last: false });
    expect(pieces[4].parts[0]).toMatchObject({ seq: 1, first: false, last: true });
    // small chunks share a slice
    expect(plan(6, 8, [2, 2, 2]).pieces).toHaveLength(1);
  });

  it('stops when aborted', async () => {
    const ctl = new AbortController();
    ctl.abort();
    await expect(hashBlob(blob(data(10_000)), { sliceBytes: 100, signal: ctl.signal })).rejects.toThrow();
  });
});
