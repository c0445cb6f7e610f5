// Every phone is a witness: it keeps the newest checkpoint it has seen of the
// server's log and, whenever it sees another one, asks the server to prove the
// two consistent (RFC 9162 consistency proof, checked here). A log whose history
// was rewritten cannot give that proof: two valid checkpoints that are not
// consistent are a fork. The phone keeps both signed notes as evidence and the
// app raises a loud alarm. The log key seen first is pinned the same way: a
// different key is a fork too (the design has no key rotation).
//
// Pure logic over two small interfaces, so that it is tested with real signed
// notes and real Merkle trees (tests/witness.test.ts) and used by the app with
// the server's API and IndexedDB.
import { b64, fromB64, utf8 } from '../shared/bytes';
import { consistencyError } from '../shared/merkle';
import { NoteError, openCheckpoint, parseVkey } from '../shared/note';

export interface Seen {
  vkey: string;
  size: number;
  root: string; // base64
  note: string;
  at: string;
}

export type ForkReason = 'inconsistent' | 'same_size_other_root' | 'key_changed' | 'proof_refused';

/** The log answered, and refused to prove sizes it had signed (not a network failure). */
export class ProofRefused extends Error {}

export interface Fork {
  reason: ForkReason;
  at: string;
  /** Both signed notes, exactly as the server sent them: the evidence. */
  old: string;
  new: string;
  oldVkey: string;
  newVkey: string;
}

export interface WitnessStore {
  seen(): Promise<Seen | null>;
  keep(s: Seen): Promise<void>;
  fork(f: Fork): Promise<void>;
}

export interface LogSource {
  vkey(): Promise<string>;
  /** RFC 9162 consistency proof between two sizes (first <= second); ProofRefused when
   * the log answers that it has no such proof. */
  consistency(first: number, second: number): Promise<Uint8Array[]>;
}

export type Verdict = 'first' | 'same' | 'newer' | 'older' | 'fork';

/**
 * Witness one checkpoint note. Throws when the note is not a valid checkpoint
 * signed by the log's key, or when the server cannot be asked (offline): then
 * nothing is learnt and nothing is stored.
 */
export async function witness(note: string, src: LogSource, store: WitnessStore, now = new Date()): Promise<Verdict> {
  const vkey = await src.vkey();
  const { checkpoint: cp } = await openCheckpoint(utf8.encode(note), await parseVkey(vkey));
  const mine: Seen = { vkey, size: cp.size, root: b64(cp.root), note, at: now.toISOString() };
  const seen = await store.seen();
  if (!seen) {
    if (cp.size > 0) await store.keep(mine);
    return 'first';
  }
  const fork = async (reason: ForkReason): Promise<Verdict> => {
    await store.fork({ reason, at: now.toISOString(), old: seen.note, new: note, oldVkey: seen.vkey, newVkey: vkey });
    return 'fork';
  };
  if (seen.vkey !== vkey) return fork('key_changed');
  if (cp.size === seen.size) return seen.root === mine.root ? 'same' : fork('same_size_other_root');
  if (cp.size === 0) return fork('inconsistent'); // an empty tree after a non-empty one
  const [small, big] = cp.size < seen.size ? [mine, seen] : [seen, mine];
  let proof: Uint8Array[];
  try {
    proof = await src.consistency(small.size, big.size);
  } catch (err) {
    if (err instanceof ProofRefused) return fork('proof_refused');
    throw err;
  }
  const err = await consistencyError(small.size, big.size, fromB64(small.root), fromB64(big.root), proof);
  if (err) return fork('inconsistent');
  if (cp.size > seen.size) {
    await store.keep(mine);
    return 'newer';
  }
  return 'older';
}

export { NoteError };
