// Signing: manifests, stream headers and chunk headers, with the device key.
// Signing is serialized (a Web Lock, across tabs) because each manifest
// names the previous one ("prev"), kept per key in IndexedDB.
import { sha256Hex } from '../shared/bytes';
import { getKey, openDb, type KeyRecord, type OutboxItem } from '../shared/db';
import { canonicalBytes, canonicalText } from '../shared/jcs';
import { generateDeviceKey, signBytes } from '../shared/keys';
import { buildManifest, buildStreamHeader, type Manifest } from '../shared/protocol';
import { withLock } from '../shared/send';

export const debugFlags = { forgeNext: false };

async function keyFor(keyId: string): Promise<KeyRecord> {
  const key = await getKey(keyId);
  if (!key) throw new Error(`device key ${keyId} is missing`);
  return key;
}

/** Sign JCS bytes with a key; a throwaway key when forging (debug only). */
async function sign(key: KeyRecord, bytes: Uint8Array, forge: boolean): Promise<string> {
  if (forge) return signBytes((await generateDeviceKey()).privateKey, bytes);
  return signBytes(key.pair.privateKey, bytes);
}

/** Save an item (and optionally its bytes) and the key's new chain head atomically. */
async function commit(item: OutboxItem, blob: Blob | null, key: KeyRecord, prev: string | null): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(['outbox', 'media', 'keys'], 'readwrite');
  await tx.objectStore('outbox').put(item);
  if (blob) await tx.objectStore('media').put({ id: item.id, blob });
  const k = await tx.objectStore('keys').get(key.keyId);
  if (k) await tx.objectStore('keys').put({ ...k, prev });
  await tx.done;
}

/**
 * Sign a single-file capture if it has a nonce (else store it unsigned, to be
 * signed when a nonce arrives) and save it. Returns the saved item.
 */
export async function sealAndSave(item: OutboxItem, blob: Blob | null): Promise<OutboxItem> {
  return (await withLock('fieldproof-sign', async () => {
    if (!item.nonce || !item.device || item.sha256 === null || item.size === null) {
      const db = await openDb();
      const tx = db.transaction(['outbox', 'media'], 'readwrite');
      await tx.objectStore('outbox').put(item);
      if (blob) await tx.objectStore('media').put({ id: item.id, blob });
      await tx.done;
      return item;
    }
    const key = await keyFor(item.keyId);
    const forge = item.forge || debugFlags.forgeNext;
    debugFlags.forgeNext = false;
    const manifest: Manifest = buildManifest({
      kind: item.kind,
      media: { sha256: item.sha256, size: item.size, mime: item.mime, ...(item.name ? { name: item.name } : {}) },
      start: item.start,
      end: item.end ?? item.start,
      nonce: item.nonce,
      geo: item.geo ?? { absent: 'not_provided' },
      device: item.device,
      prev: key.prev,
      context: item.context ?? null,
    });
    const bytes = canonicalBytes(manifest);
    const signed: OutboxItem = {
      ...item,
      forge,
      manifest: canonicalText(manifest),
      manifestHash: await sha256Hex(bytes),
      signature: await sign(key, bytes, forge),
    };
    // A forged signature (debug) never reaches the server's chain: prev stays.
    await commit(signed, blob, key, forge ? key.prev : signed.manifestHash);
    return signed;
  }))!;
}

/** Sign a recording's stream header (v2). Returns the header text, signature and stream id. */
export async function signStreamHeader(item: OutboxItem): Promise<{ header: string; signature: string; id: string } | null> {
  const st = item.stream;
  if (!st || !item.nonce || !item.device) return null;
  return withLock('fieldproof-sign', async () => {
    const key = await keyFor(item.keyId);
    const header = buildStreamHeader({
      kind: st.pending.kind,
      mime: st.pending.mime,
      nonce: item.nonce!,
      startedAt: st.pending.startedAt,
      geo: st.pending.geo ?? { absent: 'not_provided' },
      device: item.device!,
      prev: key.prev,
      continues: st.continues ?? undefined,
      context: item.context ?? null,
    });
    const bytes = canonicalBytes(header);
    return { header: canonicalText(header), signature: await signBytes(key.pair.privateKey, bytes), id: await sha256Hex(bytes) };
  });
}

export async function signChunkHeader(keyId: string, headerBytes: Uint8Array): Promise<string> {
  return signBytes((await keyFor(keyId)).pair.privateKey, headerBytes);
}

/**
 * Sign bytes that are outside the manifest chain (a transcript version) with
 * a device key: the same key lookup, under the same lock, and the key's chain
 * head ("prev") is left as it is.
 */
export async function signWithKey(keyId: string, bytes: Uint8Array): Promise<string> {
  return (await withLock('fieldproof-sign', async () => signBytes((await keyFor(keyId)).pair.privateKey, bytes)))!;
}

/** The final v1 manifest of a recording over the whole file; advances the key's chain. */
export async function signFinalManifest(
  item: OutboxItem,
  media: { sha256: string; size: number },
): Promise<{ manifest: string; signature: string; hash: string }> {
  const st = item.stream!;
  const header = JSON.parse(st.header!) as {
    kind: OutboxItem['kind'];
    mime: string;
    nonce: string;
    started_at: string;
    geo: Manifest['geo'];
    device: Manifest['device'];
    prev: string | null;
    context?: Manifest['context'];
  };
  return (await withLock('fieldproof-sign', async () => {
    const key = await keyFor(item.keyId);
    const manifest = buildManifest({
      kind: header.kind,
      media: { sha256: media.sha256, size: media.size, mime: header.mime },
      start: header.started_at,
      end: st.ended ?? st.lastAt ?? header.started_at,
      nonce: header.nonce,
      geo: header.geo,
      device: header.device,
      prev: header.prev, // as in the header
      stream: { id: st.id!, chunks: st.recorded, chain_head: st.chain! },
      // The server requires the final manifest to restate the header's context
      // exactly: taken from the signed header text, not from the item.
      context: header.context ?? null,
    });
    const bytes = canonicalBytes(manifest);
    const out = { manifest: canonicalText(manifest), signature: await signBytes(key.pair.privateKey, bytes), hash: await sha256Hex(bytes) };
    const db = await openDb();
    const tx = db.transaction('keys', 'readwrite');
    const k = await tx.store.get(key.keyId);
    if (k) await tx.store.put({ ...k, prev: out.hash });
    await tx.done;
    return out;
  }))!;
}

/**
 * The server kept an interrupted stream as a partial capture whose identity
 * is the stream id: if nothing was signed since its header, the device's
 * chain goes on from there.
 */
export async function followInterrupted(keyId: string, headerPrev: string | null, streamId: string): Promise<void> {
  await withLock('fieldproof-sign', async () => {
    const db = await openDb();
    const tx = db.transaction('keys', 'readwrite');
    const k = await tx.store.get(keyId);
    if (k && k.prev === headerPrev) await tx.store.put({ ...k, prev: streamId });
    await tx.done;
  });
}
