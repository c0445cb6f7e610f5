import { describe, expect, it } from 'vitest';
import { hex, sha256Hex } from '../src/shared/bytes';
import { sha256Digest, sha256Init, sha256Update } from '../src/shared/sha256';

const enc = new TextEncoder();

describe('incremental SHA-256', () => {
  it('matches the FIPS 180-2 examples', () => {
    expect(hex(sha256Digest(sha256Init()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256Digest(sha256Update(sha256Init(), enc.encode('abc'))))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256Digest(sha256Update(sha256Init(), enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('equals WebCrypto for any split of the input', async () => {
    const data = new Uint8Array(5000).map((_, i) => (i * 7 + 13) & 0xff);
    const want = await sha256Hex(data);
    for (const sizes of [[1], [63, 1], [64], [65], [55, 9], [1000, 3], [4999]]) {
      let state = sha256Init();
      let at = 0;
      let i = 0;
      while (at < data.length) {
        const n = sizes[i++ % sizes.length];
        state = sha256Update(state, data.subarray(at, at + n));
        at += n;
      }
      expect(hex(sha256Digest(state)), String(sizes)).toBe(want);
    }
  });

  it('does not modify the state it was given', () => {
    const a = sha256Update(sha256Init(), enc.encode('hello'));
    const copy = structuredClone(a);
    sha256Update(a, enc.encode(' world'));
    expect(a).toEqual(copy);
  });
});
