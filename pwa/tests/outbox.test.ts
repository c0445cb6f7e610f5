// The outbox state machine: transitions, backoff, and the rule that nothing
// leaves the device before the server's answer says it is durable.
import { describe, expect, it } from 'vitest';
import {
  BACKOFF,
  awaitsAnchor,
  backoffMs,
  classify,
  droppableChunks,
  initialState,
  isDue,
  transition,
  type OutboxEvent,
  type OutboxState,
  type Status,
} from '../src/shared/outbox';

const err = { code: 'network', detail: 'offline' };
const run = (s: OutboxState, ...events: OutboxEvent[]) => events.reduce((acc, e) => transition(acc, e).state, s);

describe('transitions', () => {
  it('queued -> uploading -> stored -> anchored', () => {
    let s = initialState();
    expect(s.status).toBe('queued');
    s = run(s, { type: 'attempt', at: 1000 });
    expect(s.status).toBe('uploading');
    const r = transition(s, { type: 'durable', captureId: 'c1', serverStatus: 'stored' });
    expect(r.state).toMatchObject({ status: 'stored', captureId: 'c1', mediaHeld: false });
    expect(r.effects).toMatchObject({ deleteMedia: true, poll: true });
    const a = transition(r.state, { type: 'anchored', checkpointAt: '2026-11-25T05:00:01Z', genTime: '2026-11-25T05:00:01Z' });
    expect(a.state.status).toBe('anchored');
    expect(a.state.anchor?.genTime).toBe('2026-11-25T05:00:01Z');
    expect(awaitsAnchor(a.state)).toBe(false);
  });

  it('an answer of 200 with an already anchored capture goes straight to anchored', () => {
    const s = run(initialState(), { type: 'attempt', at: 0 }, { type: 'durable', captureId: 'c', serverStatus: 'anchored' });
    expect(s.status).toBe('anchored');
  });

  it('a transient failure goes back to queued with a growing delay', () => {
    let s = run(initialState(), { type: 'attempt', at: 0 });
    const r1 = transition(s, { type: 'failed', at: 10_000, error: err, random: 0.5 });
    expect(r1.state).toMatchObject({ status: 'queued', attempts: 1, nextAttemptAt: 11_000, lastError: err });
    expect(r1.effects).toMatchObject({ retryAt: 11_000, bgSync: true, deleteMedia: false });
    expect(isDue(r1.state, 10_500)).toBe(false);
    expect(isDue(r1.state, 11_000)).toBe(true);
    // Not due yet: an attempt is ignored.
    expect(transition(r1.state, { type: 'attempt', at: 10_500 }).state.status).toBe('queued');
    s = run(r1.state, { type: 'attempt', at: 11_000 }, { type: 'failed', at: 20_000, error: err, random: 0.5 });
    expect(s.attempts).toBe(2);
    expect(s.nextAttemptAt).toBe(22_000);
  });

  it('a retry-after from the server is honoured when longer than the backoff', () => {
    const s = run(initialState(), { type: 'attempt', at: 0 }, { type: 'failed', at: 0, error: err, retryAfterMs: 30_000, random: 0.5 });
    expect(s.nextAttemptAt).toBe(30_000);
  });

  it('going online makes a queued capture due at once', () => {
    const s = run(initialState(), { type: 'attempt', at: 0 }, { type: 'failed', at: 0, error: err, random: 0.5 }, { type: 'online' });
    expect(isDue(s, 0)).toBe(true);
  });

  it('a refusal is terminal and keeps the bytes', () => {
    const r = transition(run(initialState(), { type: 'attempt', at: 0 }), {
      type: 'refused',
      error: { code: 'signature_invalid', detail: 'bad', status: 422 },
    });
    expect(r.state).toMatchObject({ status: 'rejected', mediaHeld: true, rejection: { code: 'signature_invalid' } });
    expect(r.effects.deleteMedia).toBe(false);
    for (const e of [{ type: 'attempt', at: 1e12 }, { type: 'online' }, { type: 'boot' }] as OutboxEvent[]) {
      expect(transition(r.state, e).state.status).toBe('rejected');
    }
  });

  it('a page that died mid-upload leaves it queued again on boot', () => {
    const s = run(initialState(), { type: 'attempt', at: 0 }, { type: 'boot' });
    expect(s.status).toBe('queued');
    expect(isDue(s, 0)).toBe(true);
  });

  it('hold (signed out) waits without counting as a failure', () => {
    const s = run(initialState(), { type: 'attempt', at: 0 }, { type: 'hold', error: { code: 'token_invalid', detail: '' } });
    expect(s).toMatchObject({ status: 'queued', attempts: 0, mediaHeld: true });
  });

  it('an interrupted stream with a partial capture is followed until anchored', () => {
    const r = transition(run(initialState(), { type: 'attempt', at: 0 }), { type: 'interrupted', captureId: 'p1' });
    expect(r.state).toMatchObject({ status: 'interrupted', captureId: 'p1' });
    expect(r.effects.deleteMedia).toBe(true);
    expect(awaitsAnchor(r.state)).toBe(true);
    const a = transition(r.state, { type: 'anchored', checkpointAt: null, genTime: 'g' }).state;
    expect(a.status).toBe('interrupted');
    expect(awaitsAnchor(a)).toBe(false);
  });

  it('an interrupted stream without any capture keeps its bytes', () => {
    const r = transition(initialState(), { type: 'interrupted', captureId: null });
    expect(r.effects.deleteMedia).toBe(false);
    expect(r.state.mediaHeld).toBe(true);
  });
});

describe('nothing is deleted before the server says durable', () => {
  const statuses: Status[] = ['queued', 'uploading', 'stored', 'anchored', 'interrupted', 'rejected'];
  const events: OutboxEvent[] = [
    { type: 'attempt', at: 0 },
    { type: 'failed', at: 0, error: err },
    { type: 'refused', error: err },
    { type: 'online' },
    { type: 'boot' },
    { type: 'hold', error: err },
    { type: 'anchored', checkpointAt: null, genTime: null },
    { type: 'durable', captureId: 'c', serverStatus: 'stored' },
    { type: 'durable', captureId: 'c', serverStatus: 'anchored' },
    { type: 'interrupted', captureId: 'c' },
    { type: 'interrupted', captureId: null },
  ];
  const durable = (e: OutboxEvent) => e.type === 'durable' || (e.type === 'interrupted' && e.captureId !== null);

  for (const status of statuses) {
    for (const e of events) {
      it(`${status} + ${e.type}${'captureId' in e ? `(${e.captureId})` : ''}`, () => {
        const s: OutboxState = { ...initialState(), status };
        const r = transition(s, e);
        if (r.effects.deleteMedia) {
          expect(durable(e)).toBe(true);
          expect(r.state.captureId).toBeTruthy();
          expect(r.state.mediaHeld).toBe(false);
        }
        if (r.state.mediaHeld === false && s.mediaHeld) expect(durable(e)).toBe(true);
      });
    }
  }

  it('random event sequences never drop bytes without a server capture id', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 500; run++) {
      let s = initialState();
      for (let i = 0; i < 12; i++) {
        const e = events[Math.floor(rand() * events.length)];
        const r = transition(s, e);
        if (r.effects.deleteMedia) expect(r.state.captureId).toBeTruthy();
        s = r.state;
        if (!s.mediaHeld) expect(s.captureId).toBeTruthy();
      }
    }
  });

  it('only acknowledged chunks may be dropped', () => {
    expect(droppableChunks([3, 4, 5, 6], 5)).toEqual([3, 4]);
    expect(droppableChunks([0, 1], 0)).toEqual([]);
  });
});

describe('backoff', () => {
  it('doubles from 1 s up to a cap of 60 s (without jitter)', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffMs(n, 0.5))).toEqual([
      0, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('jitter stays within ±20 % and under the cap', () => {
    for (const r of [0, 0.25, 0.999]) {
      const d = backoffMs(3, r);
      expect(d).toBeGreaterThanOrEqual(4000 * 0.8);
      expect(d).toBeLessThanOrEqual(4000 * 1.2);
      expect(backoffMs(30, r)).toBeLessThanOrEqual(BACKOFF.maxMs);
    }
  });
});

describe('classify', () => {
  it('network, timeouts, 5xx and rate limits are retried', () => {
    expect(classify(0, 'network')).toBe('transient');
    expect(classify(503, 'storage_integrity')).toBe('transient');
    expect(classify(500, 'error')).toBe('transient');
    expect(classify(429, 'rate_limited')).toBe('transient');
    expect(classify(403, 'device_unknown')).toBe('transient');
  });
  it('a bad token waits for sign-in', () => {
    expect(classify(401, 'token_invalid')).toBe('auth');
  });
  it('what the server refused is a rejection', () => {
    for (const [s, c] of [[422, 'signature_invalid'], [409, 'nonce_reused'], [422, 'nonce_expired'], [400, 'manifest_invalid'], [413, 'too_large'], [422, 'hash_mismatch']] as const) {
      expect(classify(s, c)).toBe('permanent');
    }
  });
});
