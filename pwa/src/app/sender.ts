// The page side of the outbox: signs what still needs a nonce, uploads
// single files (XHR, with progress), pumps recordings, retries with backoff,
// and asks for Background Sync where the browser has it.
import { ApiError, captureUpload, problemFrom, type ServerCapture } from '../shared/api';
import { allItems, deleteMedia, type OutboxItem } from '../shared/db';
import { isDue, isUnsent, type Problem } from '../shared/outbox';
import { applyEvent, drainSingles, filename, withLock, type Uploader } from '../shared/send';
import { session } from './session';
import { sealAndSave } from './signer';
import { streamClient } from './socket';
import { StreamPump } from './streams';

export const SYNC_TAG = 'fieldproof-outbox';
export const NO_NONCE: Problem = { code: 'nonce_unavailable', detail: 'no nonce on the device and the server cannot be reached' };

/** XHR rather than fetch: it reports upload progress. */
export function xhrUploader(token: string): Uploader {
  return (item, media, onProgress) =>
    new Promise<ServerCapture>((resolve, reject) => {
      const upload = captureUpload(item.manifest!, item.signature!, media, filename(item));
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/captures');
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.setRequestHeader('Accept', 'application/json');
      for (const [name, value] of Object.entries(upload.headers)) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total || media.size);
      xhr.onload = async () => {
        if (xhr.status === 200 || xhr.status === 201) {
          try {
            resolve(JSON.parse(xhr.responseText) as ServerCapture);
          } catch {
            reject(new ApiError(0, 'bad_answer', 'the server answered with something else than JSON'));
          }
          return;
        }
        const res = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText });
        reject(await problemFrom(res));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'network error'));
      xhr.ontimeout = () => reject(new ApiError(0, 'timeout', 'upload timed out'));
      xhr.onabort = () => reject(new ApiError(0, 'network', 'upload aborted'));
      xhr.send(upload.body);
    });
}

export class Sender {
  readonly progress = new Map<string, { sent: number; total: number }>();
  readonly progressHandlers = new Set<(id: string) => void>();
  readonly pump: StreamPump;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private draining: Promise<void> | null = null;
  private again = false;

  constructor() {
    this.pump = new StreamPump(
      streamClient,
      () => session.nonce(),
      () => session.token,
      () => this.schedule(),
      () => void session.expired(),
    );
  }

  /** Try to send everything that is due; coalesces concurrent calls. */
  drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          await this.drainOnce();
        } while (this.again);
      } finally {
        this.draining = null;
        void this.schedule();
      }
    })();
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    const token = session.token;
    if (!token) return;
    if (!session.key?.enrolledAt) {
      try {
        await session.enroll();
      } catch {
        /* offline: enrolled on a later attempt */
      }
    }
    void session.refillNonces();
    await this.signWaiting();
    const result = await withLock('fieldproof-drain', () =>
      drainSingles(xhrUploader(token), (id, sent, total) => {
        this.progress.set(id, { sent, total });
        this.progressHandlers.forEach((fn) => fn(id));
      }),
    );
    this.progress.clear();
    if (result?.auth) await session.expired();
    if (result?.failed) void this.registerSync();
    for (const item of await allItems()) {
      if (item.stream && isUnsent(item.state)) this.pump.kick(item.id);
    }
  }

  /** Captures made offline with an empty nonce pool are signed as soon as a nonce comes. */
  private async signWaiting(): Promise<void> {
    for (const item of await allItems()) {
      if (item.stream || item.manifest || !isDue(item.state, Date.now())) continue;
      const nonce = await session.nonce();
      if (!nonce) {
        // No nonce to be had (offline): back off like any failed attempt.
        await applyEvent(item.id, { type: 'failed', at: Date.now(), error: NO_NONCE, random: Math.random() });
        continue;
      }
      await sealAndSave({ ...item, nonce }, null);
    }
  }

  /** Wake up when the next queued capture is due. */
  async schedule(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Offline: the 'online' event (or Background Sync) wakes us up.
    if (!session.token || !navigator.onLine) return;
    const due = (await allItems())
      .filter((i) => i.state.status === 'queued')
      .map((i) => i.state.nextAttemptAt);
    if (!due.length) return;
    const wait = Math.max(0, Math.min(...due) - Date.now());
    this.timer = setTimeout(() => void this.drain(), Math.max(250, wait));
  }

  /** Back online (or reconnected): everything queued is due now. */
  async online(): Promise<void> {
    for (const item of await allItems()) {
      if (item.state.status === 'queued') await applyEvent(item.id, { type: 'online' });
    }
    await this.drain();
  }

  /** The socket dropped: recordings being sent wait, queued, for the next connection. */
  async disconnected(): Promise<void> {
    for (const item of await allItems()) {
      if (item.stream && item.state.status === 'uploading') {
        await applyEvent(item.id, {
          type: 'failed',
          at: Date.now(),
          error: { code: 'disconnected', detail: 'the connection to the server was lost' },
          random: Math.random(),
        });
      }
    }
  }

  async registerSync(): Promise<void> {
    try {
      const reg = (await navigator.serviceWorker?.getRegistration()) as
        | (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } })
        | undefined;
      await reg?.sync?.register(SYNC_TAG);
    } catch {
      /* no Background Sync here: the online event and the timer do the job */
    }
  }
}

/** At start-up: what was in flight in a page that is gone is queued again; orphans are swept. */
export async function recoverOutbox(): Promise<void> {
  const held = new Set(((await navigator.locks?.query())?.held ?? []).map((l) => l.name));
  const items: OutboxItem[] = await allItems();
  for (const item of items) {
    const busy = held.has(`fieldproof-pump:${item.id}`) || held.has(`fieldproof-rec:${item.id}`) || (!item.stream && held.has('fieldproof-drain'));
    if (!busy && item.state.status === 'uploading') await applyEvent(item.id, { type: 'boot' });
    if (!item.state.mediaHeld) await deleteMedia(item.id); // durable on the server, bytes left behind by a crash
  }
}
