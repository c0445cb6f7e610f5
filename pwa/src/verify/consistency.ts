// RFC 9162 §2.1.4.2 consistency proofs: a later tree extends an earlier one.
// Mirrors the backend's core/merkle.py verify_consistency, edge cases included
// (consistency with the empty tree is refused).
import { concat, equalBytes, sha256 } from '../shared/bytes';

async function node(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/** Null when the proof holds, else why not. */
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
