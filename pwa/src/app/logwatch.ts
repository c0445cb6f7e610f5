// The app's side of the witness (witness.ts): the server's API as the log, this
// phone's IndexedDB as the memory, and a handler for the alarm. Checkpoints come
// from every receipt the app reads and from GET /log/checkpoint after sign-in.
import { API, ApiError, apiFetch } from '../shared/api';
import { fromB64 } from '../shared/bytes';
import { kvGet, kvSet } from '../shared/db';
import { ProofRefused, witness, type Fork, type LogSource, type Seen, type Verdict, type WitnessStore } from './witness';

const SEEN = 'log-witness-seen';
const FORKS = 'log-witness-forks';
const MAX_FORKS = 20;

const source: LogSource = {
  vkey: async () => (await apiFetch<{ vkey: string }>('/log')).vkey,
  consistency: async (first, second) => {
    try {
      const r = await apiFetch<{ consistency_proof: string[] }>(`/log/proof/consistency?first=${first}&second=${second}`);
      return r.consistency_proof.map(fromB64);
    } catch (err) {
      // The log answered (4xx): it has no proof for sizes it signed. A 5xx or no
      // answer at all says nothing: asked again next time.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) throw new ProofRefused(err.code);
      throw err;
    }
  },
};

const store: WitnessStore = {
  seen: async () => (await kvGet<Seen>(SEEN)) ?? null,
  keep: (s) => kvSet(SEEN, s),
  fork: async (f) => kvSet(FORKS, [...((await kvGet<Fork[]>(FORKS)) ?? []), f].slice(-MAX_FORKS)),
};

type Handler = (fork: Fork) => void;
const handlers = new Set<Handler>();
let queue: Promise<unknown> = Promise.resolve();

export const logWatch = {
  onFork(h: Handler): void {
    handlers.add(h);
  },

  async forks(): Promise<Fork[]> {
    return (await kvGet<Fork[]>(FORKS)) ?? [];
  },

  /** Witness one checkpoint note (one at a time); null when nothing could be learnt. */
  observe(note: string | null | undefined): Promise<Verdict | null> {
    if (!note) return Promise.resolve(null);
    const run = queue.then(async () => {
      try {
        const v = await witness(note, source, store);
        if (v === 'fork') {
          const all = await logWatch.forks();
          for (const h of handlers) h(all[all.length - 1]);
        }
        return v;
      } catch {
        return null; // offline, or not a checkpoint of this log's key: nothing learnt
      }
    });
    queue = run;
    return run;
  },

  /** The log's newest checkpoint (public, no account). */
  async check(): Promise<Verdict | null> {
    try {
      const r = await fetch(`${API}/log/checkpoint`, { cache: 'no-store' });
      if (!r.ok) return null;
      return await logWatch.observe(await r.text());
    } catch {
      return null;
    }
  },
};
