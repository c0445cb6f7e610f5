// Sending recordings over protocol v2: start, chunks from the last
// acknowledged one, stop. The same code resumes a recording after a reload or
// a killed tab: the chunks are in IndexedDB until the server acknowledged them.
import { ApiError, apiFetch, type ServerCapture } from '../shared/api';
import { hex } from '../shared/bytes';
import { ackChunks, deleteItem, getChunk, getItem, patchStream, splitContinuation, type ChunkRecord, type OutboxItem } from '../shared/db';
import { canonicalBytes, canonicalText } from '../shared/jcs';
import { isDue, isUnsent } from '../shared/outbox';
import { buildChunkHeader } from '../shared/protocol';
import { applyEvent, errorEvent, withLock } from '../shared/send';
import { sha256Digest, sha256Init, sha256Update } from '../shared/sha256';
import { followInterrupted, signChunkHeader, signFinalManifest, signStreamHeader } from './signer';
import type { StreamClient } from './socket';

/** Recordings being made in this page right now (their recorder seals chunks). */
export const liveRecordings = new Set<string>();

export const REC_LOCK = 'fieldproof-rec:';

interface StreamStateAck {
  stream_id: string;
  status: 'open' | 'complete' | 'interrupted' | 'finalizing';
  next_seq: number;
  chain: string;
  bytes: number;
  capture_id: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sign one stored chunk: header with sha256 and chain, ECDSA over its JCS bytes. */
export async function sealChunk(
  keyId: string,
  streamId: string,
  prevChain: string,
  rec: ChunkRecord,
): Promise<{ rec: ChunkRecord; chain: string }> {
  const header = await buildChunkHeader({
    streamId,
    seq: rec.seq,
    data: new Uint8Array(rec.data),
    prevChain,
    at: rec.at,
    geo: rec.geo,
  });
  const bytes = canonicalBytes(header);
  const signature = await signChunkHeader(keyId, bytes);
  return { rec: { ...rec, header: canonicalText(header), signature }, chain: header.chain };
}

async function lockHeld(name: string): Promise<boolean> {
  const locks = navigator.locks;
  if (!locks) return false;
  const q = await locks.query();
  return (q.held ?? []).some((l) => l.name === name);
}

export class StreamPump {
  private running = new Set<string>();
  private again = new Set<string>();

  constructor(
    private client: StreamClient,
    private nonce: () => Promise<string | null>,
    private token: () => string | null,
    private onRetry: () => void,
    private onAuth: () => void,
  ) {}

  kick(id: string): void {
    if (this.running.has(id)) {
      this.again.add(id);
      return;
    }
    this.running.add(id);
    void (async () => {
      try {
        do {
          this.again.delete(id);
          await withLock(`fieldproof-pump:${id}`, () => this.once(id), true);
        } while (this.again.has(id));
      } catch (err) {
        console.warn('stream pump', err);
      } finally {
        this.running.delete(id);
      }
    })();
  }

  /** Sign the header (needs a nonce) and seal stored chunks of a recording no page is making. */
  private async sealStored(item: OutboxItem): Promise<OutboxItem | null> {
    const id = item.id;
    if (!item.stream!.header) {
      const nonce = item.nonce ?? (await this.nonce());
      if (!nonce) {
        await applyEvent(id, {
          type: 'failed',
          at: Date.now(),
          error: { code: 'nonce_unavailable', detail: 'no nonce on the device and the server cannot be reached' },
          random: Math.random(),
        });
        this.onRetry();
        return null;
      }
      const pending = { ...item.stream!.pending, geo: item.stream!.pending.geo ?? { absent: 'timeout' as const } };
      item = await patchStream(id, { pending }, undefined, { nonce, geo: pending.geo });
      const signed = await signStreamHeader(item);
      if (!signed) return null;
      item = await patchStream(id, { header: signed.header, signature: signed.signature, id: signed.id, chain: signed.id });
    }
    for (let seq = item.stream!.sealed; seq < item.stream!.recorded; seq++) {
      const rec = await getChunk(id, seq);
      if (!rec) throw new ApiError(0, 'chunk_lost', `chunk ${seq} is missing on this device`);
      const sealed = await sealChunk(item.keyId, item.stream!.id!, item.stream!.chain!, rec);
      item = await patchStream(id, { sealed: seq + 1, chain: sealed.chain }, sealed.rec);
    }
    return item;
  }

  private async once(id: string): Promise<void> {
    let item = await getItem(id);
    if (!item?.stream || !isUnsent(item.state)) return;
    const live = liveRecordings.has(id);
    if (!live && !item.stream.ended && !item.stream.killed) {
      if (await lockHeld(REC_LOCK + id)) return; // another tab is recording it
      item = await patchStream(id, { killed: true }); // the page that recorded it died
    }
    if (!live && (!item.stream!.header || item.stream!.sealed < item.stream!.recorded)) {
      if (!item.stream!.header && !item.nonce && !isDue(item.state, Date.now())) return;
      const sealed = await this.sealStored(item);
      if (!sealed) return; // no nonce yet: offline with an empty pool
      item = sealed;
    }
    const st = item.stream!;
    if (!st.header) return; // the live recorder signs it
    if (st.recorded === 0 && (st.ended || st.killed)) {
      await deleteItem(id); // nothing was recorded: nothing to prove
      return;
    }
    if (item.state.status === 'queued' && !isDue(item.state, Date.now())) return;
    if (!this.client.connected || !this.token()) return;
    if (item.state.status === 'queued') await applyEvent(id, { type: 'attempt', at: Date.now() });
    try {
      await this.sync(id);
    } catch (err) {
      const ev = errorEvent(err, Date.now());
      if (ev === 'auth') {
        await applyEvent(id, { type: 'hold', error: (err as ApiError).asProblem });
        this.onAuth();
      } else {
        await applyEvent(id, ev);
        if (ev.type === 'failed') this.onRetry();
      }
    }
  }

  private async startOrResume(item: OutboxItem): Promise<StreamStateAck> {
    const st = item.stream!;
    const start = async () => {
      const ack = await this.client.call<StreamStateAck>('start', { header: st.header, signature: st.signature });
      await patchStream(item.id, { started: true });
      return ack;
    };
    if (!st.started) return start();
    try {
      return await this.client.call<StreamStateAck>('resume', { stream_id: st.id });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'unknown_stream') return start(); // the start never arrived
      throw err;
    }
  }

  private async sync(id: string, depth = 0): Promise<void> {
    let item = (await getItem(id))!;
    const state = await this.startOrResume(item);
    if (state.status === 'complete' && state.capture_id) {
      // The stop went through but its answer was lost.
      const capture = await apiFetch<ServerCapture>(`/captures/${state.capture_id}`, { token: this.token() });
      await applyEvent(id, { type: 'durable', captureId: capture.id, serverStatus: capture.status });
      return;
    }
    if (state.status === 'interrupted') {
      // Silent for too long: the server kept what it had as a partial capture.
      // What it never got goes on as a new stream that `continues` this one.
      if (liveRecordings.has(id) && !item.stream!.ended) return; // once the recorder stopped
      if (state.capture_id) {
        const headerPrev = (JSON.parse(item.stream!.header!) as { prev: string | null }).prev;
        await followInterrupted(item.keyId, headerPrev, item.stream!.id!);
      }
      const next = await splitContinuation(id, state.next_seq, crypto.randomUUID(), sha256Update, sha256Init);
      await applyEvent(id, { type: 'interrupted', captureId: state.capture_id });
      if (next) this.kick(next.id);
      return;
    }
    if (state.status !== 'open') throw new ApiError(503, 'finalizing', `the stream is ${state.status}`);
    if (state.next_seq > item.stream!.sealed) {
      throw new ApiError(409, 'stream_ahead', 'the server has chunks this device never sealed');
    }
    await ackChunks(id, state.next_seq);
    for (;;) {
      item = (await getItem(id))!;
      const st = item.stream!;
      if (!isUnsent(item.state)) return;
      if (st.acked < st.sealed) {
        const rec = await getChunk(id, st.acked);
        if (!rec?.header || !rec.signature) throw new ApiError(0, 'chunk_lost', `chunk ${st.acked} is missing on this device`);
        try {
          const ack = await this.client.call<{ seq: number }>('chunk', {
            header: rec.header,
            signature: rec.signature,
            data: rec.data,
          });
          await ackChunks(id, ack.seq + 1); // durable on the server: now the bytes may go
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          const p = err.problem as { retry_after?: number; next_seq?: number };
          if (err.code === 'rate_limited') {
            await sleep(Math.max(50, (p.retry_after ?? 1) * 1000));
            continue;
          }
          if (err.code === 'gap' && typeof p.next_seq === 'number' && p.next_seq > st.acked && p.next_seq <= st.sealed) {
            await ackChunks(id, p.next_seq);
            continue;
          }
          if (err.code === 'stream_closed' && depth < 2) return this.sync(id, depth + 1);
          throw err;
        }
        continue;
      }
      if (liveRecordings.has(id) && !st.ended) return; // the recorder kicks again with the next chunk
      if (!st.ended && !st.killed) return;
      if (st.sealed < st.recorded) return;
      if (!item.manifest) {
        const sha256 = hex(sha256Digest(st.hash));
        const fin = await signFinalManifest(item, { sha256, size: st.size });
        item = await patchStream(id, {}, undefined, {
          manifest: fin.manifest,
          signature: fin.signature,
          manifestHash: fin.hash,
          sha256,
          size: st.size,
          end: st.ended ?? st.lastAt,
        });
      }
      const res = await this.client.call<{ capture: ServerCapture }>(
        'stop',
        { stream_id: st.id, manifest: item.manifest, signature: item.signature },
        300_000,
      );
      await applyEvent(id, { type: 'durable', captureId: res.capture.id, serverStatus: res.capture.status });
      return;
    }
  }
}
