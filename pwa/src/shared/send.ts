// Sending single-file captures (photo, import, recordings saved whole). Shared
// by the page (XHR, with progress) and the service worker (fetch, for
// Background Sync when no page is open).
import { ApiError, type ServerCapture } from './api';
import { allItems, deleteMedia, getMedia, updateItem, type OutboxItem } from './db';
import { classify, isDue, transition, type Effects, type OutboxEvent } from './outbox';

const NO_EFFECTS: Effects = { deleteMedia: false, retryAt: null, poll: false, bgSync: false };

/** Apply one event to one item, persist it, and carry out its effects on storage. */
export async function applyEvent(id: string, event: OutboxEvent): Promise<{ item?: OutboxItem; effects: Effects }> {
  let effects = NO_EFFECTS;
  const item = await updateItem(id, (it) => {
    const r = transition(it.state, event);
    effects = r.effects;
    it.state = r.state;
  });
  // The state says "durable" before the bytes go: a crash in between leaves an
  // orphan to sweep, never a capture without its bytes.
  if (effects.deleteMedia) await deleteMedia(id);
  return { item, effects };
}

export type Uploader = (item: OutboxItem, media: Blob, onProgress: (sent: number, total: number) => void) => Promise<ServerCapture>;

export type SendResult = 'stored' | 'failed' | 'refused' | 'auth' | 'skipped';

export function filename(item: OutboxItem): string {
  if (item.name) return item.name;
  const sub = item.mime.split(';')[0].split('/')[1] || 'bin';
  const ext = sub === 'jpeg' ? 'jpg' : sub.replace(/[^a-z0-9]/g, '') || 'bin';
  return `${item.kind}-${item.createdAt.replace(/[:.]/g, '-')}.${ext}`;
}

export function errorEvent(err: unknown, now: number): OutboxEvent | 'auth' {
  const e = err instanceof ApiError ? err : new ApiError(0, 'network', String(err));
  const kind = classify(e.status, e.code);
  if (kind === 'auth') return 'auth';
  if (kind === 'transient') {
    const retry = Number((e.problem as { retry_after?: unknown }).retry_after);
    return {
      type: 'failed',
      at: now,
      error: e.asProblem,
      retryAfterMs: Number.isFinite(retry) ? retry * 1000 : undefined,
      random: Math.random(),
    };
  }
  return { type: 'refused', error: e.asProblem };
}

/** One attempt at one signed single-file capture. */
export async function sendSingle(
  item: OutboxItem,
  upload: Uploader,
  onProgress: (id: string, sent: number, total: number) => void = () => {},
): Promise<SendResult> {
  if (item.stream || !item.manifest || !item.signature || !isDue(item.state, Date.now())) return 'skipped';
  const media = await getMedia(item.id);
  if (!media) {
    await applyEvent(item.id, { type: 'refused', error: { code: 'media_lost', detail: 'the bytes are gone from this device' } });
    return 'refused';
  }
  await applyEvent(item.id, { type: 'attempt', at: Date.now() });
  try {
    const capture = await upload(item, media, (s, t) => onProgress(item.id, s, t));
    if (capture.media?.sha256 !== item.sha256) {
      throw new ApiError(0, 'answer_mismatch', 'the server answered with another file');
    }
    await applyEvent(item.id, { type: 'durable', captureId: capture.id, serverStatus: capture.status });
    return 'stored';
  } catch (err) {
    const ev = errorEvent(err, Date.now());
    if (ev === 'auth') {
      // Not the capture's fault: wait, unchanged, for the next sign-in.
      await applyEvent(item.id, { type: 'hold', error: (err as ApiError).asProblem });
      return 'auth';
    }
    await applyEvent(item.id, ev);
    return ev.type === 'refused' ? 'refused' : 'failed';
  }
}

/** Send every due single-file capture once, oldest first. */
export async function drainSingles(
  upload: Uploader,
  onProgress?: (id: string, sent: number, total: number) => void,
): Promise<{ sent: number; failed: number; auth: boolean }> {
  let sent = 0;
  let failed = 0;
  for (const item of await allItems()) {
    const r = await sendSingle(item, upload, onProgress);
    if (r === 'stored') sent++;
    if (r === 'failed') failed++;
    if (r === 'auth') return { sent, failed, auth: true };
  }
  return { sent, failed, auth: false };
}

/** Run fn holding a named Web Lock (shared by tabs and the service worker). */
export async function withLock<T>(name: string, fn: () => Promise<T>, ifAvailable = false): Promise<T | null> {
  const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks;
  if (!locks) return fn();
  return locks.request(name, { ifAvailable }, async (lock: Lock | null) => (lock ? fn() : null));
}
