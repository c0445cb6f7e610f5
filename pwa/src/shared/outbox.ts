// The outbox as a pure state machine: no browser, no I/O, no clock.
//
// Every capture lands in the outbox first and leaves the device only when
// the server's answer says it is durable. `transition` is the only way a
// capture's state changes; its effects tell the persistence layer what it
// may do (delete the bytes, schedule a retry, start polling).
//
//   queued --attempt--> uploading --durable--> stored --anchored--> anchored
//     ^                    |  \--refused--> rejected
//     +------failed--------+   \--interrupted--> interrupted   (a stream the server closed)
//
// A failed attempt (network, 5xx, 429, timeout) goes back to queued with an
// exponential backoff; `online` makes it due at once. Nothing but `durable`
// and an `interrupted` that names the server's capture allows deleting media.

export type Status = 'queued' | 'uploading' | 'stored' | 'anchored' | 'interrupted' | 'rejected';

export interface Problem {
  code: string;
  detail: string;
  status?: number;
}

export interface OutboxState {
  status: Status;
  attempts: number; // consecutive failed attempts
  nextAttemptAt: number; // epoch ms; 0 = due now
  captureId: string | null;
  lastError: Problem | null; // the last transient failure (shown, retried)
  rejection: Problem | null; // why the server refused (terminal)
  mediaHeld: boolean; // the device still holds the bytes
  anchor: { checkpointAt: string | null; genTime: string | null } | null;
}

export type OutboxEvent =
  | { type: 'attempt'; at: number }
  | { type: 'durable'; captureId: string; serverStatus: 'stored' | 'anchored' }
  | { type: 'failed'; at: number; error: Problem; retryAfterMs?: number; random?: number }
  | { type: 'refused'; error: Problem }
  | { type: 'interrupted'; captureId: string | null }
  | { type: 'anchored'; checkpointAt: string | null; genTime: string | null }
  | { type: 'hold'; error: Problem } // not the capture's fault (signed out): wait for a sign-in
  | { type: 'online' }
  | { type: 'boot' }; // a new page: an upload that was in flight is not any more

export interface Effects {
  deleteMedia: boolean; // the server holds the bytes durably
  retryAt: number | null; // when to try again
  poll: boolean; // ask the server for the capture's status until anchored
  bgSync: boolean; // ask the browser for a Background Sync when back online
}

export const BACKOFF = { baseMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.2 };

/** Delay before attempt number `attempts` (1 = after the first failure). */
export function backoffMs(attempts: number, random = 0.5): number {
  if (attempts <= 0) return 0;
  const raw = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * BACKOFF.factor ** (attempts - 1));
  const jitter = 1 + BACKOFF.jitter * (2 * random - 1); // ±20 %
  return Math.round(Math.min(BACKOFF.maxMs, raw * jitter));
}

export function initialState(): OutboxState {
  return {
    status: 'queued',
    attempts: 0,
    nextAttemptAt: 0,
    captureId: null,
    lastError: null,
    rejection: null,
    mediaHeld: true,
    anchor: null,
  };
}

const NONE: Effects = { deleteMedia: false, retryAt: null, poll: false, bgSync: false };

export function transition(s: OutboxState, e: OutboxEvent): { state: OutboxState; effects: Effects } {
  const same = { state: s, effects: NONE };
  switch (e.type) {
    case 'attempt':
      if (s.status !== 'queued' || e.at < s.nextAttemptAt) return same;
      return { state: { ...s, status: 'uploading' }, effects: NONE };
    case 'durable':
      if (s.status !== 'queued' && s.status !== 'uploading') return same;
      return {
        state: {
          ...s,
          status: e.serverStatus,
          captureId: e.captureId,
          attempts: 0,
          nextAttemptAt: 0,
          lastError: null,
          mediaHeld: false,
        },
        effects: { ...NONE, deleteMedia: true, poll: e.serverStatus === 'stored' },
      };
    case 'failed': {
      if (s.status !== 'queued' && s.status !== 'uploading') return same;
      const attempts = s.attempts + 1;
      const wait = Math.max(backoffMs(attempts, e.random), e.retryAfterMs ?? 0);
      const nextAttemptAt = e.at + wait;
      return {
        state: { ...s, status: 'queued', attempts, nextAttemptAt, lastError: e.error },
        effects: { ...NONE, retryAt: nextAttemptAt, bgSync: true },
      };
    }
    case 'refused':
      if (s.status !== 'queued' && s.status !== 'uploading') return same;
      // Refused: the server stored nothing, so the device keeps the bytes.
      return { state: { ...s, status: 'rejected', rejection: e.error }, effects: NONE };
    case 'interrupted':
      if (s.status !== 'queued' && s.status !== 'uploading') return same;
      return {
        state: { ...s, status: 'interrupted', captureId: e.captureId, mediaHeld: e.captureId ? false : s.mediaHeld },
        effects: { ...NONE, deleteMedia: e.captureId !== null, poll: e.captureId !== null },
      };
    case 'anchored':
      if (s.status !== 'stored' && s.status !== 'anchored' && s.status !== 'interrupted') return same;
      return {
        state: {
          ...s,
          status: s.status === 'interrupted' ? 'interrupted' : 'anchored',
          anchor: { checkpointAt: e.checkpointAt, genTime: e.genTime },
        },
        effects: NONE,
      };
    case 'hold':
      if (s.status !== 'queued' && s.status !== 'uploading') return same;
      return { state: { ...s, status: 'queued', nextAttemptAt: 0, lastError: e.error }, effects: NONE };
    case 'online':
      if (s.status !== 'queued') return same;
      return { state: { ...s, nextAttemptAt: 0 }, effects: { ...NONE, retryAt: 0 } };
    case 'boot':
      if (s.status !== 'uploading') return same;
      return { state: { ...s, status: 'queued', nextAttemptAt: 0 }, effects: { ...NONE, retryAt: 0 } };
  }
}

export function isDue(s: OutboxState, now: number): boolean {
  return s.status === 'queued' && s.nextAttemptAt <= now;
}

/** Still waiting for the server to anchor it in a timestamped checkpoint. */
export function awaitsAnchor(s: OutboxState): boolean {
  return (s.status === 'stored' || s.status === 'interrupted') && !!s.captureId && !s.anchor;
}

export function isUnsent(s: OutboxState): boolean {
  return s.status === 'queued' || s.status === 'uploading';
}

/**
 * How a failed request counts: `transient` is retried with backoff, `auth`
 * waits for the next sign-in, `permanent` is a rejection shown to the user.
 */
export function classify(httpStatus: number, code: string): 'transient' | 'auth' | 'permanent' {
  if (httpStatus === 0 || httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return 'transient';
  if (code === 'rate_limited' || code === 'timeout' || code === 'network' || code === 'storage_integrity') {
    return 'transient';
  }
  if (httpStatus === 401 || code === 'token_invalid' || code === 'token_missing' || code === 'unauthorized') {
    return 'auth';
  }
  // Signed by a key this account has not enrolled yet (enrollment still to
  // come, or another account's key): keep retrying slowly, never drop it.
  if (code === 'device_unknown') return 'transient';
  return 'permanent';
}

/** The stored chunks whose bytes the device may drop: only those the server acknowledged. */
export function droppableChunks(storedSeqs: number[], serverNextSeq: number): number[] {
  return storedSeqs.filter((seq) => seq < serverNextSeq);
}
