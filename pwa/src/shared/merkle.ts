// RFC 9162 Merkle inclusion and consistency proofs, checked in the browser
// without trusting the page that shows them (checkpoints: ./note.ts).
import { concat, equalBytes, sha256 } from './bytes';

export async function leafHash(data: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([0]), data));
}

async function node(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/** The root an inclusion proof leads to, or null if the proof is malformed (RFC 9162 §2.1.3.2). */
export async function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: Uint8Array[],
): Promise<Uint8Array | null> {
  if (index < 0 || index >= size || leaf.length !== 32) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0 || p.length !== 32) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      if (fn % 2 === 0) {
        do {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        } while (fn % 2 === 0 && fn !== 0);
      }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export async function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  const got = await rootFromInclusionProof(index, size, leaf, proof);
  return !!got && equalBytes(got, root);
}

/** RFC 9162 §2.1.4.2, as core/merkle.py verify_consistency (consistency with the
 * empty tree is refused). Null when the proof holds, else why not. */
export async function consistencyError(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): Promise<string | null> {
  if (size1 <= 0 || size2 < size1) return `no consistency between sizes ${size1} and ${size2}`;
  if (size1 === size2) {
    if (proof.length) return 'equal sizes need an empty proof';
    return equalBytes(root1, root2) ? null : 'equal sizes but different roots';
  }
  if (!proof.length) return 'empty consistency proof';
  if (proof.some((p) => p.length !== 32)) return 'a proof hash is not 32 bytes';
  // A power of two: the old root is a subtree of the new tree, and the proof's implicit first hash.
  const path = 2 ** Math.round(Math.log2(size1)) === size1 ? [root1, ...proof] : [...proof];
  // Sizes may exceed 32 bits: halve with division, not shifts.
  let fn = size1 - 1;
  let sn = size2 - 1;
  const odd = (n: number) => n % 2 === 1;
  const half = (n: number) => Math.floor(n / 2);
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return 'consistency proof is too long';
    if (odd(fn) || fn === sn) {
      fr = await node(c, fr);
      sr = await node(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await node(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return 'consistency proof is too short';
  if (!equalBytes(fr, root1)) return 'consistency proof does not lead to the first root';
  if (!equalBytes(sr, root2)) return 'consistency proof does not lead to the second root';
  return null;
}
