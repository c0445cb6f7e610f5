// IndexedDB, shared by the page and the service worker (a thin layer on idb).
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Sha256State } from './sha256';
import type { DeviceInfo, Geo, GeoFix, Kind, RecordingContext, StreamKind } from './protocol';
import type { OutboxState } from './outbox';
import type { PublicJwk } from './keys';

export interface KeyRecord {
  keyId: string;
  pair: CryptoKeyPair; // the private key is non-extractable
  jwk: PublicJwk;
  createdAt: string;
  enrolledAt: string | null; // the server's created_at once enrolled
  prev: string | null; // this key's previous manifest hash
}

export interface NonceRecord {
  nonce: string;
  issued_at: string;
  expires_at: string;
}

/** Header fields of a recording, kept until a nonce signs them. */
export interface PendingHeader {
  kind: StreamKind;
  mime: string;
  startedAt: string;
  geo: Geo | null; // null while the first fix is awaited
}

export interface StreamState {
  header: string | null; // canonical JCS text, once signed
  signature: string | null;
  id: string | null; // stream id = SHA-256 of the header bytes
  pending: PendingHeader;
  started: boolean; // the server acknowledged 'start'
  recorded: number; // chunks stored on the device (next local seq)
  sealed: number; // chunks signed (always a prefix of recorded)
  acked: number; // the server's next_seq: chunks durable there
  chain: string | null; // chain of the last sealed chunk
  size: number; // bytes of all recorded chunks
  hash: Sha256State; // running SHA-256 of all recorded chunks
  lastAt: string | null; // device time of the last chunk
  ended: string | null; // when recording stopped (null while live)
  killed: boolean; // the page died while recording
  continues: string | null; // the interrupted stream whose unsent chunks this one carries
}

export interface OutboxItem {
  id: string; // local id
  kind: Kind;
  createdAt: string;
  keyId: string;
  mime: string;
  name: string | null;
  sha256: string | null; // of the exact bytes sent (streams: once finished)
  size: number | null;
  start: string;
  end: string | null;
  geo: Geo | null;
  device: DeviceInfo | null; // as it was when the capture was made
  nonce: string | null;
  manifest: string | null; // canonical JCS text, once signed
  manifestHash: string | null;
  signature: string | null;
  forge: boolean; // debug: sign with a throwaway key
  stream: StreamState | null;
  state: OutboxState;
  /** A call's or meeting's signed context (absent on other captures and older items). */
  context?: RecordingContext | null;
}

export interface ChunkRecord {
  item: string;
  seq: number;
  at: string;
  geo: GeoFix | null;
  data: ArrayBuffer;
  header: string | null; // canonical chunk header, once sealed
  signature: string | null;
}

interface Schema extends DBSchema {
  kv: { key: string; value: unknown };
  keys: { key: string; value: KeyRecord };
  nonces: { key: string; value: NonceRecord; indexes: { expires: string } };
  outbox: { key: string; value: OutboxItem; indexes: { created: string } };
  media: { key: string; value: { id: string; blob: Blob } };
  chunks: { key: [string, number]; value: ChunkRecord };
}

export type DB = IDBPDatabase<Schema>;
const NAME = 'fieldproof';
let dbp: Promise<DB> | null = null;
const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('fieldproof-outbox') : null;
const listeners = new Set<(id: string | null) => void>();

export function openDb(): Promise<DB> {
  dbp ??= openDB<Schema>(NAME, 1, {
    upgrade(db) {
      db.createObjectStore('kv');
      db.createObjectStore('keys', { keyPath: 'keyId' });
      db.createObjectStore('nonces', { keyPath: 'nonce' }).createIndex('expires', 'expires_at');
      db.createObjectStore('outbox', { keyPath: 'id' }).createIndex('created', 'createdAt');
      db.createObjectStore('media', { keyPath: 'id' });
      db.createObjectStore('chunks', { keyPath: ['item', 'seq'] });
    },
    blocking() {
      // A newer version of the app wants to upgrade: let it.
      void dbp?.then((db) => db.close());
      dbp = null;
    },
  });
  return dbp;
}

/** Tell this context and every other one (tabs, service worker) that an item changed. */
export function changed(id: string | null): void {
  for (const fn of listeners) fn(id);
  channel?.postMessage({ id });
}

export function onChanged(fn: (id: string | null) => void): () => void {
  listeners.add(fn);
  const relay = (e: MessageEvent) => fn((e.data as { id: string | null }).id);
  channel?.addEventListener('message', relay);
  return () => {
    listeners.delete(fn);
    channel?.removeEventListener('message', relay);
  };
}

export async function kvGet<T>(key: string): Promise<T | undefined> {
  return (await (await openDb()).get('kv', key)) as T | undefined;
}

export async function kvSet(key: string, value: unknown): Promise<void> {
  await (await openDb()).put('kv', value, key);
}

export async function kvDelete(key: string): Promise<void> {
  await (await openDb()).delete('kv', key);
}

export async function getToken(): Promise<string | null> {
  return (await kvGet<string>('token')) ?? null;
}

export async function getItem(id: string): Promise<OutboxItem | undefined> {
  return (await openDb()).get('outbox', id);
}

export async function allItems(): Promise<OutboxItem[]> {
  return (await openDb()).getAllFromIndex('outbox', 'created');
}

export async function putItem(item: OutboxItem): Promise<void> {
  await (await openDb()).put('outbox', item);
  changed(item.id);
}

/** Read-modify-write one item in a single transaction. */
export async function updateItem(
  id: string,
  fn: (item: OutboxItem) => OutboxItem | void,
): Promise<OutboxItem | undefined> {
  const db = await openDb();
  const tx = db.transaction('outbox', 'readwrite');
  const item = await tx.store.get(id);
  let next: OutboxItem | undefined;
  if (item) {
    next = fn(item) ?? item;
    await tx.store.put(next);
  }
  await tx.done;
  if (next) changed(id);
  return next;
}

export async function getMedia(id: string): Promise<Blob | undefined> {
  return (await (await openDb()).get('media', id))?.blob;
}

/** A new single-file capture: the item and its bytes in one transaction. */
export async function addCapture(item: OutboxItem, blob: Blob | null): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(['outbox', 'media'], 'readwrite');
  await tx.objectStore('outbox').put(item);
  if (blob) await tx.objectStore('media').put({ id: item.id, blob });
  await tx.done;
  changed(item.id);
}

export async function deleteMedia(id: string): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(['media', 'chunks'], 'readwrite');
  await tx.objectStore('media').delete(id);
  await tx.objectStore('chunks').delete(IDBKeyRange.bound([id, 0], [id, Infinity]));
  await tx.done;
}

export async function deleteItem(id: string): Promise<void> {
  await deleteMedia(id);
  await (await openDb()).delete('outbox', id);
  changed(id);
}

export async function getChunk(id: string, seq: number): Promise<ChunkRecord | undefined> {
  return (await openDb()).get('chunks', [id, seq]);
}

export async function chunkSeqs(id: string): Promise<number[]> {
  const keys = await (await openDb()).getAllKeys('chunks', IDBKeyRange.bound([id, 0], [id, Infinity]));
  return keys.map((k) => k[1]);
}

/**
 * Store a chunk (optional) and patch the stream's state in one transaction.
 * Patches merge into what is stored, so the recorder (recorded, sealed,
 * chain, hash) and the sender (started, acked) never overwrite each other.
 */
export async function patchStream(
  id: string,
  patch: Partial<StreamState>,
  chunk?: ChunkRecord,
  itemPatch: Partial<Pick<OutboxItem, 'nonce' | 'sha256' | 'size' | 'end' | 'geo' | 'manifest' | 'manifestHash' | 'signature' | 'mime'>> = {},
): Promise<OutboxItem> {
  const db = await openDb();
  const tx = db.transaction(['outbox', 'chunks'], 'readwrite');
  const item = await tx.objectStore('outbox').get(id);
  if (!item?.stream) throw new Error('the recording is gone from the outbox');
  if (chunk) await tx.objectStore('chunks').put(chunk);
  const next: OutboxItem = { ...item, ...itemPatch, stream: { ...item.stream, ...patch } };
  await tx.objectStore('outbox').put(next);
  await tx.done;
  changed(id);
  return next;
}

/** Record the server's ack: drop the acknowledged bytes and remember the count. */
export async function ackChunks(id: string, nextSeq: number): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(['outbox', 'chunks'], 'readwrite');
  const item = await tx.objectStore('outbox').get(id);
  if (item?.stream) {
    if (nextSeq > 0) await tx.objectStore('chunks').delete(IDBKeyRange.bound([id, 0], [id, nextSeq - 1]));
    item.stream.acked = Math.max(item.stream.acked, nextSeq);
    await tx.objectStore('outbox').put(item);
  }
  await tx.done;
  changed(id);
}

export async function putChunk(chunk: ChunkRecord): Promise<void> {
  await (await openDb()).put('chunks', chunk);
}

/**
 * The server closed a stream as interrupted after `from` chunks: the chunks
 * it never got move, in one transaction, to a new recording that names the
 * old one in `continues` (they are chained and signed again under its id).
 */
export async function splitContinuation(id: string, from: number, newId: string, hashUpdate: (s: StreamState['hash'], d: Uint8Array) => StreamState['hash'], hashInit: () => StreamState['hash']): Promise<OutboxItem | null> {
  const db = await openDb();
  const tx = db.transaction(['outbox', 'chunks'], 'readwrite');
  const outbox = tx.objectStore('outbox');
  const chunks = tx.objectStore('chunks');
  const item = await outbox.get(id);
  const st = item?.stream;
  if (!item || !st || st.recorded <= from) {
    await tx.done;
    return null;
  }
  let hash = hashInit();
  let size = 0;
  let n = 0;
  let first: ChunkRecord | null = null;
  let last: ChunkRecord | null = null;
  for (let seq = from; seq < st.recorded; seq++) {
    const rec = await chunks.get([id, seq]);
    if (!rec) break;
    first ??= rec;
    last = rec;
    await chunks.put({ ...rec, item: newId, seq: n, header: null, signature: null });
    await chunks.delete([id, seq]);
    hash = hashUpdate(hash, new Uint8Array(rec.data));
    size += rec.data.byteLength;
    n++;
  }
  if (!first || !last) {
    await tx.done;
    return null;
  }
  const next: OutboxItem = {
    ...item,
    id: newId,
    createdAt: first.at,
    start: first.at,
    end: null,
    nonce: null,
    manifest: null,
    manifestHash: null,
    signature: null,
    sha256: null,
    size: null,
    geo: first.geo ?? st.pending.geo,
    state: { ...item.state, status: 'queued', attempts: 0, nextAttemptAt: 0, lastError: null, captureId: null },
    stream: {
      ...st,
      header: null,
      signature: null,
      id: null,
      pending: { ...st.pending, startedAt: first.at, geo: first.geo ?? st.pending.geo },
      started: false,
      recorded: n,
      sealed: 0,
      acked: 0,
      chain: null,
      size,
      hash,
      lastAt: last.at,
      ended: st.ended ?? last.at,
      continues: st.id,
    },
  };
  await outbox.put(next);
  await outbox.put({ ...item, stream: { ...st, recorded: from, sealed: Math.min(st.sealed, from) } });
  await tx.done;
  changed(newId);
  changed(id);
  return next;
}

// -- files shared into the app (Web Share Target, stashed by the service worker) -------

export interface SharedFile {
  name: string;
  type: string;
  lastModified: number;
  blob: Blob;
}
export interface SharedFiles {
  at: string;
  files: SharedFile[];
}
/** Where the lawful-recording notice's acknowledgement is kept (ui/calls.ts); the
 * account's own: forgotten at sign-out with the files shared into the app. */
export const NOTICE_KEY = 'lawful-notice';
const SHARED = 'shared-files';

export async function stashShared(files: SharedFile[]): Promise<void> {
  await kvSet(SHARED, { at: new Date().toISOString(), files } satisfies SharedFiles);
}

export async function peekShared(): Promise<SharedFiles | null> {
  const v = await kvGet<SharedFiles>(SHARED);
  return v && Array.isArray(v.files) && v.files.length ? v : null;
}

export async function clearShared(): Promise<void> {
  await kvDelete(SHARED);
}

// -- keys --------------------------------------------------------------------

export async function currentKey(): Promise<KeyRecord | undefined> {
  const id = await kvGet<string>('currentKey');
  return id ? (await openDb()).get('keys', id) : undefined;
}

export async function getKey(keyId: string): Promise<KeyRecord | undefined> {
  return (await openDb()).get('keys', keyId);
}

export async function putKey(rec: KeyRecord, makeCurrent = false): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(['keys', 'kv'], 'readwrite');
  await tx.objectStore('keys').put(rec);
  if (makeCurrent) await tx.objectStore('kv').put(rec.keyId, 'currentKey');
  await tx.done;
}

// -- nonces ------------------------------------------------------------------

/** Take the oldest nonce still valid for a while; it is removed from the pool. */
export async function takeNonce(now = Date.now(), marginMs = 10 * 60_000): Promise<NonceRecord | null> {
  const db = await openDb();
  const tx = db.transaction('nonces', 'readwrite');
  let found: NonceRecord | null = null;
  let cursor = await tx.store.index('expires').openCursor();
  while (cursor) {
    const expires = Date.parse(cursor.value.expires_at);
    await cursor.delete();
    if (expires - marginMs > now) {
      found = cursor.value;
      break;
    }
    cursor = await cursor.continue();
  }
  await tx.done;
  return found;
}

export async function addNonce(n: NonceRecord): Promise<void> {
  await (await openDb()).put('nonces', n);
}

export async function countNonces(now = Date.now()): Promise<number> {
  const all = await (await openDb()).getAll('nonces');
  return all.filter((n) => Date.parse(n.expires_at) > now + 10 * 60_000).length;
}

export async function clearNonces(): Promise<void> {
  await (await openDb()).clear('nonces');
}
