// Incremental SHA-256 whose state is a plain, structured-cloneable object.
//
// WebCrypto only hashes whole buffers. A live recording is hashed chunk by
// chunk while the chunks are deleted from the device as soon as the server
// has made them durable, so the running state of the whole-file hash is kept
// in IndexedDB next to the stream: a reload can finish the file's SHA-256
// without the bytes that already left.

export interface Sha256State {
  h: number[]; // 8 words
  pending: Uint8Array; // < 64 bytes not yet compressed
  length: number; // total bytes hashed so far
}

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256Init(): Sha256State {
  return {
    h: [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
    pending: new Uint8Array(0),
    length: 0,
  };
}

function compress(h: Uint32Array, w: Uint32Array, data: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + 4 * i;
    w[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15];
    const b = w[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (k + S1 + ch + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

/** Returns a new state; the input state is not modified. */
export function sha256Update(state: Sha256State, chunk: Uint8Array): Sha256State {
  const h = new Uint32Array(state.h);
  const w = new Uint32Array(64);
  let data = chunk;
  let offset = 0;
  if (state.pending.length) {
    const need = 64 - state.pending.length;
    if (chunk.length < need) {
      const pending = new Uint8Array(state.pending.length + chunk.length);
      pending.set(state.pending);
      pending.set(chunk, state.pending.length);
      return { h: Array.from(h), pending, length: state.length + chunk.length };
    }
    const block = new Uint8Array(64);
    block.set(state.pending);
    block.set(chunk.subarray(0, need), state.pending.length);
    compress(h, w, block, 0);
    offset = need;
  }
  while (offset + 64 <= data.length) {
    compress(h, w, data, offset);
    offset += 64;
  }
  data = data.slice(offset);
  return { h: Array.from(h), pending: data, length: state.length + chunk.length };
}

export function sha256Digest(state: Sha256State): Uint8Array {
  const bits = state.length * 8;
  const padLen = state.pending.length < 56 ? 56 - state.pending.length : 120 - state.pending.length;
  const tail = new Uint8Array(padLen + 8);
  tail[0] = 0x80;
  const view = new DataView(tail.buffer);
  view.setUint32(padLen, Math.floor(bits / 0x100000000));
  view.setUint32(padLen + 4, bits >>> 0);
  const done = sha256Update({ ...state, length: 0 }, tail);
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  done.h.forEach((word, i) => ov.setUint32(4 * i, word >>> 0));
  return out;
}
