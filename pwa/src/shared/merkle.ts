// RFC 9162 Merkle inclusion proofs and C2SP checkpoints, to check a receipt
// in the browser without trusting the page that shows it.
import { concat, equalBytes, fromB64, sha256, utf8 } from './bytes';

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

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  body: string; // the signed text: the note up to and including its last body newline
  signatures: { name: string; keyHash: Uint8Array; sig: Uint8Array }[];
}

/** Parse a C2SP signed note holding a tlog checkpoint. */
export function parseCheckpoint(note: string): Checkpoint | null {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return null;
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  if (lines.length < 4) return null;
  const size = Number(lines[1]);
  if (!Number.isSafeInteger(size)) return null;
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l.startsWith('\u2014 '))
    .map((l) => {
      const [, name, b] = l.split(' ');
      const raw = fromB64(b ?? '');
      return { name, keyHash: raw.slice(0, 4), sig: raw.slice(4) };
    });
  return { origin: lines[0], size, root: fromB64(lines[2]), body, signatures };
}

/** Check the Ed25519 signature of a checkpoint against a note verifier key (vkey). */
export async function verifyCheckpointSignature(cp: Checkpoint, vkey: string): Promise<boolean | null> {
  // name+hexhash+base64: the base64 part may itself contain '+'.
  const i = vkey.indexOf('+');
  const j = vkey.indexOf('+', i + 1);
  if (i < 0 || j < 0) return false;
  const name = vkey.slice(0, i);
  const keyHashHex = vkey.slice(i + 1, j);
  const key = fromB64(vkey.slice(j + 1));
  if (key[0] !== 0x01 || key.length !== 33) return false;
  const sig = cp.signatures.find((s) => s.name === name && s.keyHash.length === 4 &&
    Array.from(s.keyHash).map((b) => b.toString(16).padStart(2, '0')).join('') === keyHashHex);
  if (!sig) return false;
  let pub: CryptoKey;
  try {
    pub = await crypto.subtle.importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return null; // no Ed25519 in this WebCrypto
  }
  return crypto.subtle.verify({ name: 'Ed25519' }, pub, sig.sig as Uint8Array<ArrayBuffer>, utf8.encode(cp.body) as Uint8Array<ArrayBuffer>);
}
