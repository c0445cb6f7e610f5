// The phone as a witness (src/app/witness.ts): real Ed25519-signed checkpoints
// over real RFC 9162 trees, built here independently of the app's Merkle code
// (MTH and SUBPROOF straight from RFC 9162 §2.1.1 and §2.1.4.1).
import { describe, expect, it } from 'vitest';
import { b64, concat, hex, sha256, utf8 } from '../src/shared/bytes';
import { ProofRefused, witness, type Fork, type LogSource, type Seen, type WitnessStore } from '../src/app/witness';

const leaf = (d: Uint8Array) => sha256(concat(new Uint8Array([0]), d));
const node = async (l: Uint8Array, r: Uint8Array) => sha256(concat(new Uint8Array([1]), l, r));
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1)); // largest power of two < n

async function mth(d: Uint8Array[]): Promise<Uint8Array> {
  if (d.length === 1) return leaf(d[0]);
  const k = split(d.length);
  return node(await mth(d.slice(0, k)), await mth(d.slice(k)));
}

async function subproof(m: number, d: Uint8Array[], b: boolean): Promise<Uint8Array[]> {
  const n = d.length;
  if (m === n) return b ? [] : [await mth(d)];
  const k = split(n);
  if (m <= k) return [...(await subproof(m, d.slice(0, k), b)), await mth(d.slice(k))];
  return [...(await subproof(m - k, d.slice(k), false)), await mth(d.slice(0, k))];
}

async function keyPair(name: string) {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const keyHash = (await sha256(concat(utf8.encode(name), new Uint8Array([0x0a, 0x01]), pub))).slice(0, 4);
  const vkey = `${name}+${hex(keyHash)}+${b64(concat(new Uint8Array([1]), pub))}`;
  const sign = async (size: number, root: Uint8Array) => {
    const body = `${name}\n${size}\n${b64(root)}\n`;
    const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, utf8.encode(body)));
    return `${body}\n\u2014 ${name} ${b64(concat(keyHash, sig))}\n`;
  };
  return { vkey, sign };
}

/** A log the server serves: its entries, its key; proofs from its (possibly rewritten) entries. */
function server(entries: Uint8Array[], vkey: string, refuse = false): LogSource {
  return {
    vkey: async () => vkey,
    consistency: async (first, second) => {
      if (refuse || second > entries.length) throw new ProofRefused('no such tree size');
      return subproof(first, entries.slice(0, second), true);
    },
  };
}

function memory(): WitnessStore & { forks: Fork[]; last: Seen | null } {
  const s = {
    forks: [] as Fork[],
    last: null as Seen | null,
    seen: async () => s.last,
    keep: async (x: Seen) => void (s.last = x),
    fork: async (f: Fork) => void s.forks.push(f),
  };
  return s;
}

const entries = (n: number, tag = 'e') => Array.from({ length: n }, (_, i) => utf8.encode(`${tag}${i}`));

describe('the phone as a witness', () => {
  it('follows an honest log: first, same, newer, older; no alarm', async () => {
    const key = await keyPair('fieldproof.local/log');
    const log = entries(13);
    const store = memory();
    const at = async (n: number) => key.sign(n, await mth(log.slice(0, n)));
    const src = server(log, key.vkey);
    expect(await witness(await at(5), src, store)).toBe('first');
    expect(await witness(await at(5), src, store)).toBe('same');
    expect(await witness(await at(8), src, store)).toBe('newer');
    expect(await witness(await at(13), src, store)).toBe('newer');
    expect(await witness(await at(7), src, store)).toBe('older');
    expect(store.last?.size).toBe(13);
    expect(store.forks).toEqual([]);
  });

  it("catches the audit's rewrite: leaf 0 changed, everything re-signed with the log's own key", async () => {
    const key = await keyPair('fieldproof.local/log');
    const honest = entries(6);
    const store = memory();
    const old = await key.sign(6, await mth(honest));
    expect(await witness(old, server(honest, key.vkey), store)).toBe('first');
    const rewritten = [utf8.encode('forged'), ...honest.slice(1), ...entries(4, 'later')];
    const forged = await key.sign(10, await mth(rewritten));
    expect(await witness(forged, server(rewritten, key.vkey), store)).toBe('fork');
    expect(store.forks).toHaveLength(1);
    expect(store.forks[0]).toMatchObject({ reason: 'inconsistent', old, new: forged });
    expect(store.last?.note).toBe(old); // the forked checkpoint is not adopted
    // the same size with another root, an older forged size, a refused proof, a new key
    expect(await witness(await key.sign(6, await mth(rewritten.slice(0, 6))), server(rewritten, key.vkey), store)).toBe('fork');
    expect(await witness(await key.sign(3, await mth(rewritten.slice(0, 3))), server(rewritten, key.vkey), store)).toBe('fork');
    expect(await witness(await key.sign(9, await mth([...honest, ...entries(3)])), server(honest, key.vkey, true), store)).toBe('fork');
    const other = await keyPair('fieldproof.local/log');
    expect(await witness(await other.sign(6, await mth(honest)), server(honest, other.vkey), store)).toBe('fork');
    expect(store.forks.map((f) => f.reason)).toEqual(['inconsistent', 'same_size_other_root', 'inconsistent', 'proof_refused', 'key_changed']);
  });

  it('learns nothing from a note the log did not sign', async () => {
    const key = await keyPair('fieldproof.local/log');
    const store = memory();
    const note = (await key.sign(4, await mth(entries(4)))).replace('\n4\n', '\n5\n');
    await expect(witness(note, server(entries(5), key.vkey), store)).rejects.toThrow();
    expect(store.last).toBeNull();
    expect(store.forks).toEqual([]);
  });
});
