// Streamed SHA-256 of a Blob (a dropped file, or the media inside a bundle):
// read in slices with Blob.slice (4 MiB, the next one read while this one is
// hashed), so memory stays at a few slices whatever the file's size.
//
// The whole-file hash is the incremental pure-JS SHA-256 of shared/sha256.ts:
// WebCrypto only hashes whole buffers, and a WebAssembly hasher (hash-wasm,
// ~2.4x faster here) cannot run under the app's Content-Security-Policy
// (script-src 'self', no 'wasm-unsafe-eval'). For streamed recordings each
// chunk's own SHA-256 is needed too: slices are cut on chunk boundaries and
// every chunk is hashed by WebCrypto (native, off the main thread) while the
// JS hash runs, so the chunk hashes cost almost nothing extra.
import { hex } from '../shared/bytes';
import { sha256Digest, sha256Init, sha256Update, type Sha256State } from '../shared/sha256';

export const SLICE = 4 << 20;

export interface MediaDigest {
  sha256: string;
  size: number;
  /** SHA-256 of consecutive parts of the given chunk sizes (empty without chunkSizes, or if they do not add up). */
  slices: string[];
  ms: number;
}

export interface HashOptions {
  chunkSizes?: number[];
  sliceBytes?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Part {
  seq: number;
  start: number; // within the piece
  end: number;
  first: boolean; // the chunk starts here
  last: boolean; // the chunk ends here
}

interface Piece {
  start: number;
  end: number;
  parts: Part[];
}

/** Cut [0, size) into pieces of about `slice` bytes, never splitting a chunk that fits in two slices. */
export function plan(size: number, slice: number, chunkSizes?: number[]): { pieces: Piece[]; chunked: boolean } {
  const pieces: Piece[] = [];
  const chunks = chunkSizes && chunkSizes.every((n) => Number.isSafeInteger(n) && n >= 0) &&
    chunkSizes.reduce((a, b) => a + b, 0) === size ? chunkSizes : null;
  if (!chunks) {
    for (let at = 0; at < size; at += slice) pieces.push({ start: at, end: Math.min(size, at + slice), parts: [] });
    return { pieces, chunked: false };
  }
  let cur: Piece | null = null;
  let at = 0;
  chunks.forEach((n, seq) => {
    if (n > 2 * slice) {
      if (cur) pieces.push(cur);
      cur = null;
      for (let off = 0; off < n; off += slice) {
        const len = Math.min(slice, n - off);
        pieces.push({ start: at + off, end: at + off + len, parts: [{ seq, start: 0, end: len, first: off === 0, last: off + len === n }] });
      }
    } else {
      if (cur && cur.end - cur.start + n > slice) {
        pieces.push(cur);
        cur = null;
      }
      cur ??= { start: at, end: at, parts: [] };
      cur.parts.push({ seq, start: cur.end - cur.start, end: cur.end - cur.start + n, first: true, last: true });
      cur.end += n;
    }
    at += n;
  });
  if (cur) pieces.push(cur);
  return { pieces, chunked: true };
}

export async function hashBlob(blob: Blob, opts: HashOptions = {}): Promise<MediaDigest> {
  const t0 = performance.now();
  const size = blob.size;
  const { pieces, chunked } = plan(size, opts.sliceBytes ?? SLICE, opts.chunkSizes);
  const slices: (string | Promise<string>)[] = [];
  let partial: Sha256State | null = null;
  let whole = sha256Init();
  const read = (p: Piece) => blob.slice(p.start, p.end).arrayBuffer();
  let next = pieces.length ? read(pieces[0]) : null;
  let lastYield = t0;
  for (let i = 0; i < pieces.length; i++) {
    opts.signal?.throwIfAborted();
    const buf = new Uint8Array(await next!);
    next = i + 1 < pieces.length ? read(pieces[i + 1]) : null;
    if (buf.length !== pieces[i].end - pieces[i].start) throw new Error('the file changed while it was read');
    for (const part of pieces[i].parts) {
      const view = buf.subarray(part.start, part.end);
      if (part.first && part.last) {
        // Native and asynchronous: runs while the JS hash below is busy.
        slices[part.seq] = crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>).then((d) => hex(d));
      } else {
        partial = sha256Update(part.first ? sha256Init() : partial!, view);
        if (part.last) slices[part.seq] = hex(sha256Digest(partial));
      }
    }
    whole = sha256Update(whole, buf);
    opts.onProgress?.(pieces[i].end, size);
    if (performance.now() - lastYield > 100) {
      // A slice read ahead resolves at once: give the page a turn to paint the progress.
      await new Promise((r) => setTimeout(r, 0));
      lastYield = performance.now();
    }
  }
  const done = chunked ? await Promise.all(slices) : [];
  return { sha256: hex(sha256Digest(whole)), size, slices: done, ms: performance.now() - t0 };
}
