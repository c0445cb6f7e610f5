// C2SP signed notes, verifier keys and tlog checkpoints, parsed as strictly as
// the backend's core/checkpoint.py: every byte of a bundled checkpoint or key
// either matters or makes the check fail.
import { b64, concat, fromB64, hex, sha256, utf8 } from './bytes';

export class NoteError extends Error {}

const NAME = /^[^\s+]{1,256}$/;
const SIG_PREFIX = '\u2014 ';
const MAX_NOTE = 1 << 20;

/** Standard base64 that re-encodes to exactly the same text. */
export function b64Strict(text: unknown): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) throw new NoteError('not base64');
  const raw = fromB64(text);
  if (b64(raw) !== text) throw new NoteError('non-canonical base64');
  return raw;
}

export interface VerifierKey {
  name: string;
  keyHash: Uint8Array;
  publicKey: Uint8Array; // 32 bytes, Ed25519
  vkey: string;
  fingerprint: string; // hex SHA-256 of the public key, as `fieldproof verify` prints it
}

export async function keyHash(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(concat(utf8.encode(name), new Uint8Array([0x0a, 0x01]), publicKey))).slice(0, 4);
}

export async function parseVkey(text: string): Promise<VerifierKey> {
  const s = text.trim();
  const i = s.indexOf('+');
  const j = s.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw new NoteError('not a signed-note verifier key');
  const name = s.slice(0, i);
  const hashHex = s.slice(i + 1, j);
  let raw: Uint8Array;
  try {
    raw = b64Strict(s.slice(j + 1));
  } catch {
    throw new NoteError('not a signed-note verifier key');
  }
  if (!NAME.test(name) || !/^[0-9a-f]{8}$/.test(hashHex) || raw.length !== 33 || raw[0] !== 0x01) {
    throw new NoteError('only Ed25519 verifier keys are supported');
  }
  const publicKey = raw.slice(1);
  const kh = await keyHash(name, publicKey);
  if (hex(kh) !== hashHex) throw new NoteError('verifier key hash does not match');
  return { name, keyHash: kh, publicKey, vkey: `${name}+${hashHex}+${b64(raw)}`, fingerprint: hex(await sha256(publicKey)) };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  body: string;
}

/**
 * Verify the note's signature by `key` and parse its body as a checkpoint.
 * `verified` is null when this browser's WebCrypto has no Ed25519 (the
 * signature could not be checked); a bad signature throws.
 */
export async function openCheckpoint(note: Uint8Array, key: VerifierKey): Promise<{ checkpoint: Checkpoint; verified: boolean | null }> {
  if (note.length > MAX_NOTE) throw new NoteError('note too large');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(note);
  } catch {
    throw new NoteError('note is not UTF-8');
  }
  const split = text.lastIndexOf('\n\n');
  if (split < 0 || !text.endsWith('\n')) throw new NoteError('note has no signature block');
  const body = text.slice(0, split + 1);
  const sigs = text.slice(split + 2).split('\n').slice(0, -1);
  let verified: boolean | null | undefined;
  for (const line of sigs) {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed signature line');
    const parts = line.slice(SIG_PREFIX.length).split(' ');
    if (parts.length !== 2) throw new NoteError('malformed signature line');
    let blob: Uint8Array;
    try {
      blob = b64Strict(parts[1]);
    } catch {
      throw new NoteError('malformed signature line');
    }
    if (parts[0] !== key.name || hex(blob.slice(0, 4)) !== hex(key.keyHash)) continue; // another witness
    verified = await ed25519Verify(key.publicKey, blob.slice(4), utf8.encode(body));
    if (verified === false) throw new NoteError(`signature by ${key.name} does not verify`);
    break;
  }
  if (verified === undefined) throw new NoteError(`no signature by ${key.name} on this note`);
  return { checkpoint: parseCheckpointBody(body), verified };
}

export function parseCheckpointBody(body: string): Checkpoint {
  const lines = body.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new NoteError('a checkpoint has origin, size and root lines');
  const [origin, sizeText, rootText] = lines;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new NoteError(`bad tree size ${sizeText}`);
  let root: Uint8Array;
  try {
    root = b64Strict(rootText);
  } catch {
    throw new NoteError('root is not base64');
  }
  if (root.length !== 32 || !origin) throw new NoteError('root must be 32 bytes and origin non-empty');
  return { origin, size: Number(sizeText), root, body };
}

async function ed25519Verify(publicKey: Uint8Array, sig: Uint8Array, data: Uint8Array): Promise<boolean | null> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return null; // this WebCrypto has no Ed25519
  }
  if (sig.length !== 64) return false;
  return crypto.subtle.verify({ name: 'Ed25519' }, key, sig as Uint8Array<ArrayBuffer>, data as Uint8Array<ArrayBuffer>);
}
